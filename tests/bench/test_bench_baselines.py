"""Reference baselines: the majority class, TF-IDF + logistic regression chosen on validation,
and the copy rationales, scored with the evaluation's own metrics; saved results are reused."""

from __future__ import annotations

import pytest

from reason2decide.bench.baselines import (
    BASELINES,
    C_GRID,
    CLASS_WEIGHTS,
    fit_tfidf_lr,
    last_sentences,
    majority_label,
    predict_baseline,
    run_baselines,
    score_baseline,
    split_sentences,
)
from reason2decide.data.example import Example
from reason2decide.evaluation.bleu import rationale_bleu
from reason2decide.label_metrics import label_metrics

LABELS = ["no", "yes"]


def cases(n: int, start: int = 0) -> list[Example]:
    """Separable cases: 'fever' means yes, 'itch' means no; two thirds are yes."""
    out = []
    for i in range(start, start + n):
        label = "no" if i % 3 == 0 else "yes"
        word = "itch" if label == "no" else "fever"
        out.append(
            Example(
                id=f"c{i}",
                question=f"Case {i}. The child has {word}. Seen today! Does it need a doctor?",
                label=label,
                rationale=f"The child has {word}, so {label}.",
            )
        )
    return out


def test_majority_label_and_ties():
    assert majority_label(["yes", "no", "yes"], LABELS) == "yes"
    assert majority_label(["yes", "no"], LABELS) == "no"  # tie: first in label-set order
    assert majority_label(["b", "a"], ["b", "a"]) == "b"


def test_sentences():
    text = "Question?\n\nContext:\nMETHODS: We did it. It worked!  RESULTS: 3.5 mg helped"
    assert split_sentences(text) == [
        "Question?",
        "Context:",
        "METHODS: We did it.",
        "It worked!",
        "RESULTS: 3.5 mg helped",
    ]
    assert last_sentences(text) == "It worked! RESULTS: 3.5 mg helped"
    assert last_sentences("One sentence only", 2) == "One sentence only"
    assert last_sentences("") == ""


def test_majority_predictions_and_metrics():
    train, test = cases(30), cases(12, 100)
    records, info = predict_baseline("majority", train, None, test, LABELS)
    assert info["label"] == "yes"
    assert {r["label"] for r in records} == {"yes"}
    assert records[0]["probabilities"] == pytest.approx({"no": 10 / 30, "yes": 20 / 30})
    metrics = score_baseline("majority", records, LABELS)
    expected = label_metrics([e.label for e in test], ["yes"] * 12, LABELS)
    assert metrics["accuracy"] == pytest.approx(expected["accuracy"])
    assert metrics["macro_f1"] == pytest.approx(expected["macro_f1"])
    assert metrics["ece"] is not None
    for absent in ("bleu", "bertscore_f1", "consistency", "sufficiency", "gold_robustness"):
        assert metrics[absent] is None, absent


def mc_cases(n: int, start: int = 0) -> list[Example]:
    """Four-option cases with different option texts each; the answer is at B in half of them,
    at C in a quarter, at A or D otherwise."""
    out = []
    for i in range(start, start + n):
        options = tuple(f"option {k} of case {i}" for k in "abcd")
        position = (1, 2, 1, 0, 1, 3, 1, 2)[i % 8]
        out.append(Example(f"m{i}", f"Case {i}?", options[position], None, choices=options))
    return out


def test_majority_answers_the_most_frequent_position_on_multiple_choice_cases():
    train, test = mc_cases(16), mc_cases(8, 100)
    records, info = predict_baseline("majority", train, None, test, ["unused"])
    assert info["position_counts"] == {"A": 2, "B": 8, "C": 4, "D": 2}
    assert [r["label"] for r in records] == [e.choices[1] for e in test]
    assert records[0]["probabilities"] == pytest.approx(
        dict(zip(test[0].choices, (2 / 16, 8 / 16, 4 / 16, 2 / 16), strict=True))
    )
    metrics = score_baseline("majority", records, ["unused"])
    assert metrics["accuracy"] == pytest.approx(0.5)  # B is right in half of the test cases
    # a case with two options takes the most frequent position it has; mixed files keep the
    # label-set majority for the cases without options
    short = Example("s", "Two options?", "x", None, choices=("x", "y"))
    plain = cases(3, 200)
    records, _ = predict_baseline("majority", train + cases(30), None, [short, *plain], LABELS)
    assert records[0]["label"] == "y" and records[0]["probabilities"] == pytest.approx(
        {"x": 0.2, "y": 0.8}
    )
    assert {r["label"] for r in records[1:]} == {"yes"}


def test_tfidf_lr_learns_a_separable_task_and_records_its_choice():
    train, val, test = cases(30), cases(12, 50), cases(12, 100)
    model, chosen = fit_tfidf_lr(train, val, LABELS)
    assert chosen["C"] in C_GRID and chosen["class_weight"] in CLASS_WEIGHTS
    assert len(chosen["selection"]) == len(C_GRID) * len(CLASS_WEIGHTS)
    best = max(chosen["selection"], key=lambda c: (c["val_macro_f1"], c["val_accuracy"]))
    assert best["val_macro_f1"] == 1.0
    records, info = predict_baseline("tfidf-lr", train, val, test, LABELS)
    assert info["C"] == chosen["C"]
    metrics = score_baseline("tfidf-lr", records, LABELS)
    assert metrics["accuracy"] == 1.0 and metrics["macro_f1"] == 1.0
    assert set(records[0]["probabilities"]) == set(LABELS)
    assert metrics["bleu"] is None and "rationale_length" not in metrics


def test_tfidf_lr_without_validation_uses_the_default():
    _, chosen = fit_tfidf_lr(cases(30), None, LABELS)
    assert chosen == {"C": 1.0, "class_weight": None, "selection": None}
    with pytest.raises(ValueError, match="single label"):
        fit_tfidf_lr([e for e in cases(30) if e.label == "yes"], None, LABELS)


def test_copy_baselines_are_scored_like_generated_rationales():
    test = cases(6, 100)
    records, _ = predict_baseline("copy-last-sentences", [], None, test, LABELS)
    assert records[1]["rationale"] == "Seen today! Does it need a doctor?"
    metrics = score_baseline("copy-last-sentences", records, LABELS, with_bertscore=False)
    expected = rationale_bleu([e.rationale for e in test], [r["rationale"] for r in records])
    assert metrics["bleu"] == pytest.approx(expected)
    assert metrics["n_rationales"] == 6
    for absent in ("accuracy", "macro_f1", "ece", "consistency", "bertscore_f1"):
        assert metrics[absent] is None, absent
    assert metrics["rationale_length"]["generated_words"]["mean"] == pytest.approx(7.0)

    records, _ = predict_baseline("copy-input", [], None, test, LABELS)
    assert [r["rationale"] for r in records] == [e.question for e in test]


def test_run_baselines_writes_then_reuses(tmp_path):
    train, val, test = cases(30), cases(12, 50), cases(12, 100)
    said: list[str] = []
    settings = {"test": "sha"}
    first = run_baselines(
        tmp_path, train, val, test, LABELS, settings, with_bertscore=False, say=said.append
    )
    assert [b.name for b in first] == list(BASELINES)
    assert all(b.computed for b in first)
    assert [b.kind for b in first] == ["label", "label", "rationale", "rationale"]
    for name in BASELINES:
        assert (tmp_path / name / "metrics.json").is_file()
        assert (tmp_path / name / "predictions.jsonl").is_file()
    again = run_baselines(tmp_path, train, val, test, LABELS, settings, with_bertscore=False)
    assert not any(b.computed for b in again)
    assert [b.metrics["accuracy"] for b in again] == [b.metrics["accuracy"] for b in first]
    assert again[1].info["C"] == first[1].info["C"]
    changed = run_baselines(
        tmp_path, train, val, test, LABELS, {"test": "other"}, with_bertscore=False
    )
    assert all(b.computed for b in changed)


def test_run_baselines_leaves_out_what_cannot_apply(tmp_path):
    said: list[str] = []
    yes_only = [e for e in cases(30) if e.label == "yes"]
    no_rationale = [Example(e.id, e.question, e.label) for e in cases(6, 100)]
    found = run_baselines(
        tmp_path, yes_only, None, no_rationale, LABELS, {}, with_bertscore=False, say=said.append
    )
    assert [b.name for b in found] == ["majority"]
    assert any("tfidf-lr" in line for line in said)
    assert any("copy baselines are left out" in line for line in said)


def test_tfidf_lr_is_left_out_when_every_test_case_has_its_own_options(tmp_path):
    said: list[str] = []
    train, test = mc_cases(16), mc_cases(8, 100)
    found = run_baselines(
        tmp_path, train, None, test, ["unused"], {}, with_bertscore=False, say=said.append
    )
    assert "tfidf-lr" not in [b.name for b in found] and "majority" in [b.name for b in found]
    assert any("scored over its own options; the tfidf-lr baseline" in line for line in said)
