"""Metrics for decisions and their rationales, and the report that gathers them."""

from reason2decide.evaluation.bertscore import (
    bertscore,
    clear_bertscore_cache,
    default_encoder_path,
    resolve_encoder,
)
from reason2decide.evaluation.bleu import bleu_tokenize, example_bleu, rationale_bleu
from reason2decide.evaluation.label_metrics import expected_calibration_error, label_metrics
from reason2decide.evaluation.report import evaluate_records, metrics_table, write_metrics

__all__ = [
    "bertscore",
    "bleu_tokenize",
    "clear_bertscore_cache",
    "default_encoder_path",
    "evaluate_records",
    "example_bleu",
    "expected_calibration_error",
    "label_metrics",
    "metrics_table",
    "rationale_bleu",
    "resolve_encoder",
    "write_metrics",
]
