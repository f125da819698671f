"""Comparisons from prediction files: per-example scores average to the evaluation's metrics,
rows pair on (seed, case) (a seed-independent row with every seed), intervals land in the
expected place, and per-example BERTScore is cached beside the predictions."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from reason2decide.bench import comparisons as comparisons_module
from reason2decide.bench.comparisons import (
    COMPARED,
    EXAMPLE_SCORES_FILE,
    RowPredictions,
    compare_rows,
    example_scores,
)
from reason2decide.evaluation.bertscore import bertscore
from reason2decide.evaluation.faithfulness import faithfulness_metrics, rationale_length_stats
from reason2decide.evaluation.report import evaluate_records
from reason2decide.io import write_jsonl

LABELS = ["no", "yes"]


def record(i: int, label: str | None, rationale: str | None, **extra) -> dict:
    gold = "yes" if i % 2 else "no"
    return {
        "id": f"c{i}",
        "question": f"case {i}",
        "gold_label": gold,
        "gold_rationale": f"case {i} has fever so {gold}" if i % 5 else "",
        "label": label,
        "probabilities": None,
        "rationale": rationale,
        **extra,
    }


def model_records(n: int, right: int, words: str = "fever so") -> list[dict]:
    """A model right on the first ``right`` cases, with rationales and faithfulness labels."""
    out = []
    for i in range(n):
        gold = "yes" if i % 2 else "no"
        label = gold if i < right else ("no" if gold == "yes" else "yes")
        out.append(
            record(
                i,
                label,
                f"case {i} has {words} {label}" if i % 7 else "",
                label_from_rationale=label if i % 3 else gold,
                label_from_gold_rationale=gold if i % 4 else "maybe",
            )
        )
    return out


def test_per_example_scores_average_to_the_metrics():
    records = model_records(30, right=20)
    scores = example_scores(records)
    metrics = evaluate_records(records, LABELS, with_bertscore=False)

    def mean(key):
        present = [v for v in scores[key] if v is not None]
        return sum(present) / len(present)

    assert mean("accuracy") == pytest.approx(metrics["accuracy"])
    assert mean("bleu") == pytest.approx(metrics["bleu"])
    assert sum(v is not None for v in scores["bleu"]) == metrics["n_rationales"]
    faithful = faithfulness_metrics(
        [r["gold_label"] for r in records],
        [r["label"] for r in records],
        [r["label_from_rationale"] for r in records],
        [r["label_from_gold_rationale"] for r in records],
    )
    for key, value in faithful.items():
        assert mean(key) == pytest.approx(value), key
    lengths = rationale_length_stats(
        [r["rationale"] for r in records], [r["gold_rationale"] for r in records]
    )
    assert mean("rationale_words") == pytest.approx(lengths["generated_words"]["mean"])
    assert mean("empty_rationales") == pytest.approx(lengths["empty_generated"])
    assert all(v is None for v in scores["bertscore_f1"])


def test_label_only_and_rationale_only_records_have_no_other_scores():
    label_only = example_scores([record(1, "yes", None)])
    assert label_only["accuracy"] == [1.0] and label_only["bleu"] == [None]
    assert label_only["rationale_words"] == [None] and label_only["consistency"] == [None]
    copy = example_scores([record(1, None, "case 1 has fever")])
    assert copy["accuracy"] == [None] and copy["consistency"] == [None]
    assert copy["bleu"][0] is not None


def write(path: Path, records: list[dict]) -> Path:
    write_jsonl(path, records)
    return path


def test_seeded_rows_pair_on_common_seeds_and_seedless_rows_on_every_seed(tmp_path):
    n = 40
    best = RowPredictions(
        "best", {s: write(tmp_path / f"best{s}.jsonl", model_records(n, 38)) for s in (0, 1, 2)}
    )
    worse = RowPredictions(
        "worse", {s: write(tmp_path / f"worse{s}.jsonl", model_records(n, 20)) for s in (1, 2, 3)}
    )
    same = RowPredictions("same", {None: write(tmp_path / "same.jsonl", model_records(n, 38))})
    copy = RowPredictions(
        "copy",
        {None: write(tmp_path / "copy.jsonl", [record(i, None, f"case {i}") for i in range(n)])},
    )
    result = compare_rows(
        [best, worse, same, copy], "best", LABELS, with_bertscore=False, n_resamples=200
    )
    assert list(result.intervals) == ["worse", "same", "copy"]
    assert set(result.intervals["worse"]) == set(COMPARED)

    worse_acc = result.intervals["worse"]["accuracy"]
    assert worse_acc.n_units == 2 * n and worse_acc.n_cases == n  # seeds 1 and 2 only
    assert worse_acc.difference == pytest.approx(20 / 40 - 38 / 40)
    assert worse_acc.excludes_zero and worse_acc.high < 0
    assert result.intervals["worse"]["macro_f1"].excludes_zero

    same_acc = result.intervals["same"]["accuracy"]
    assert same_acc.n_units == 3 * n  # paired with each of best's seeds
    assert same_acc.difference == 0 and not same_acc.excludes_zero

    copy_row = result.intervals["copy"]
    assert copy_row["accuracy"] is None and copy_row["macro_f1"] is None
    assert copy_row["consistency"] is None
    assert copy_row["bleu"] is not None and copy_row["bleu"].n_units == 3 * 32  # gold rationales

    flagged = {(row, metric) for row, metric, _ in result.excluding_zero()}
    assert ("worse", "accuracy") in flagged and ("same", "accuracy") not in flagged
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["reference"] == "best"
    assert payload["rows"]["worse"]["accuracy"]["excludes_zero"] is True
    assert payload["rows"]["copy"]["accuracy"] is None


def test_per_example_bertscore_is_cached_beside_the_predictions(tmp_path, monkeypatch):
    records = model_records(6, 4)
    path = write(tmp_path / "run" / "predictions.jsonl", records)
    row = RowPredictions("a", {0: path})
    other = RowPredictions("b", {0: write(tmp_path / "b" / "predictions.jsonl", records)})
    result = compare_rows([row, other], "a", LABELS, n_resamples=50)
    interval = result.intervals["b"]["bertscore_f1"]
    assert interval is not None and interval.difference == pytest.approx(0.0)

    cache = json.loads((tmp_path / "run" / EXAMPLE_SCORES_FILE).read_text())
    scored = [r for r in records if r["gold_rationale"] and isinstance(r["rationale"], str)]
    expected = bertscore([r["gold_rationale"] for r in scored], [r["rationale"] for r in scored])
    present = [v for v in cache["bertscore_f1"] if v is not None]
    assert len(present) == len(scored)
    assert sum(present) / len(present) == pytest.approx(expected["bertscore_f1"], abs=1e-6)

    def fail(*args, **kwargs):
        raise AssertionError("BERTScore computed again")

    # the module itself: the package's ``bertscore`` attribute is the function of that name
    module = importlib.import_module("reason2decide.evaluation.bertscore")
    monkeypatch.setattr(module, "bertscore_per_example", fail)
    assert comparisons_module.compare_rows([row, other], "a", LABELS, n_resamples=50)
    records[0]["rationale"] = "changed"
    write(path, records)
    with pytest.raises(AssertionError, match="computed again"):
        compare_rows([row, other], "a", LABELS, n_resamples=50)


def choice_records(n: int, right: int) -> list[dict]:
    """Multiple-choice cases, each with its own four option texts; right on the first
    ``right`` (wrong ones pick the next option, one of them none of the options)."""
    out = []
    for i in range(n):
        choices = [f"drug {i}-{k}" for k in range(4)]
        gold = choices[i % 4]
        if i < right:
            label = gold
        elif i == right:
            label = "something else"
        else:
            label = choices[(i + 1) % 4]
        out.append(
            {"id": f"q{i}", "question": f"q {i}", "gold_label": gold, "label": label,
             "choices": choices, "probabilities": None, "rationale": None, "gold_rationale": ""}
        )  # fmt: skip
    return out


def test_multiple_choice_macro_f1_is_compared_over_answer_positions(tmp_path):
    # Regression: the difference was taken over the training split's option texts (thousands
    # of labels, nearly all absent from the test cases: a difference near 0) while the table
    # shows macro-F1 over the answer positions A-D.
    n = 40
    good, poor = choice_records(n, 36), choice_records(n, 18)
    texts = sorted({r["gold_label"] for r in good} | {f"unused {k}" for k in range(500)})
    result = compare_rows(
        [
            RowPredictions("good", {0: write(tmp_path / "good.jsonl", good)}),
            RowPredictions("poor", {0: write(tmp_path / "poor.jsonl", poor)}),
        ],
        "good",
        texts,
        with_bertscore=False,
        n_resamples=200,
    )
    table = {name: evaluate_records(rows, texts, with_bertscore=False)["macro_f1"]
             for name, rows in (("good", good), ("poor", poor))}  # fmt: skip
    interval = result.intervals["poor"]["macro_f1"]
    assert interval.difference == pytest.approx(table["poor"] - table["good"])
    assert table["poor"] - table["good"] < -0.3 and interval.excludes_zero
