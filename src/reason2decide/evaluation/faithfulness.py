"""Reason2Decide-C's rationale faithfulness metrics and rationale length statistics.

With P1 the label predicted from the case, P2 the label the same model predicts from its
generated rationale alone (``predict: {rationale}``), and Pg the label it predicts from the gold
rationale alone:

- consistency     = share of P2 == P1 (the rationale supports the decision that was made)
- sufficiency     = share of P2 == gold (the rationale alone leads to the right decision)
- gold robustness = share of Pg == gold (the model reads a clinician's rationale correctly)

Labels are compared after stripping and lower-casing, as the reference code does.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def _norm(label: str | None) -> str:
    return (label or "").strip().lower()


def _agreement(a: Sequence[str | None], b: Sequence[str | None]) -> float | None:
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    if not pairs:
        return None
    return sum(_norm(x) == _norm(y) for x, y in pairs) / len(pairs)


def faithfulness_metrics(
    gold: Sequence[str],
    predicted: Sequence[str],
    from_rationale: Sequence[str | None],
    from_gold_rationale: Sequence[str | None],
) -> dict[str, float | None]:
    """Consistency, sufficiency and gold robustness (None where nothing could be compared)."""
    return {
        "consistency": _agreement(from_rationale, predicted),
        "sufficiency": _agreement(from_rationale, gold),
        "gold_robustness": _agreement(from_gold_rationale, gold),
    }


def _words(text: str) -> int:
    return len(text.split())


def _summary(lengths: list[int]) -> dict[str, float] | None:
    if not lengths:
        return None
    ordered = sorted(lengths)
    return {
        "mean": statistics.fmean(ordered),
        "median": statistics.median(ordered),
        "p90": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
        "min": ordered[0],
        "max": ordered[-1],
    }


def rationale_length_stats(
    generated: Sequence[str | None], gold: Sequence[str | None]
) -> dict[str, Any]:
    """Word counts of generated and gold rationales, and the share of empty generations."""
    made = [g for g in generated if g is not None]
    return {
        "generated_words": _summary([_words(g) for g in made]),
        "gold_words": _summary([_words(g) for g in gold if g]),
        "empty_generated": (sum(not g.strip() for g in made) / len(made)) if made else None,
    }
