"""Metrics for decisions and their rationales, and the report that gathers them."""

from reason2decide.evaluation.bertscore import (
    bertscore,
    bertscore_per_example,
    clear_bertscore_cache,
    default_encoder_path,
    resolve_encoder,
)
from reason2decide.evaluation.bleu import bleu_tokenize, example_bleu, rationale_bleu
from reason2decide.evaluation.report import (
    evaluate_records,
    metrics_table,
    rationale_metrics,
    scored_rationale,
    write_metrics,
)
from reason2decide.label_metrics import expected_calibration_error, label_metrics

__all__ = [
    "bertscore",
    "bertscore_per_example",
    "bleu_tokenize",
    "clear_bertscore_cache",
    "default_encoder_path",
    "evaluate_records",
    "example_bleu",
    "expected_calibration_error",
    "label_metrics",
    "metrics_table",
    "rationale_bleu",
    "rationale_metrics",
    "resolve_encoder",
    "scored_rationale",
    "write_metrics",
]
