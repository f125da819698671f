"""Repetition rate of generated rationales: repeated word 3-grams within each rationale."""

from __future__ import annotations

import pytest

from reason2decide.evaluation.repetition import repeated_ngram_share, repetition_stats
from reason2decide.evaluation.report import evaluate_records

LOOP = "no red flags such as drowsiness or drowsiness or drowsiness"


def test_share_of_repeated_ngrams_by_hand():
    # 10 words, 8 trigrams, (drowsiness, or, drowsiness) occurs twice: 1 of 8 repeats
    assert repeated_ngram_share(LOOP) == pytest.approx(1 / 8)
    assert repeated_ngram_share("a b a b a b") == pytest.approx(2 / 4)
    assert repeated_ngram_share("A b, a B a b", n=2) == pytest.approx(3 / 5)  # case, punctuation
    assert repeated_ngram_share("chest pain with sweating needs an ambulance") == 0.0
    assert repeated_ngram_share("too short") is None
    with pytest.raises(ValueError):
        repeated_ngram_share("x", n=0)


def test_stats_leave_out_missing_and_short_rationales():
    stats = repetition_stats([LOOP, "fine rationale without loops", None, "ok"], [LOOP, None])
    assert stats["ngram"] == 3 and stats["n_scored"] == 2
    assert stats["generated"] == pytest.approx((1 / 8 + 0.0) / 2)
    assert stats["share_with_repeats"] == 0.5
    assert stats["gold"] == pytest.approx(1 / 8)
    assert repetition_stats([None, None])["generated"] is None


def test_evaluate_records_reports_the_repetition_rate():
    records = [
        {"gold_label": "a", "label": "a", "gold_rationale": "x y z", "rationale": LOOP},
        {"gold_label": "b", "label": "a", "gold_rationale": "x y z", "rationale": "u v w x"},
    ]
    metrics = evaluate_records(records, ["a", "b"], with_bertscore=False)
    assert metrics["repetition_rate"] == pytest.approx((1 / 8) / 2)
    assert metrics["repetition"]["gold"] == 0.0
    label_only = [{**r, "rationale": None} for r in records]
    assert evaluate_records(label_only, ["a", "b"], with_bertscore=False)["repetition_rate"] is None
