"""The headline test metrics every report leads with (bench tables, model cards, the served
page), with their names in words; one list so that the reports agree."""

from __future__ import annotations

HEADLINE_METRICS: dict[str, str] = {
    "accuracy": "accuracy",
    "macro_f1": "macro-F1",
    "ece": "expected calibration error",
    "bleu": "rationale BLEU",
    "bertscore_f1": "rationale BERTScore F1",
    "consistency": "consistency",
    "sufficiency": "sufficiency",
}
