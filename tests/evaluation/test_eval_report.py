import io
import json

import pytest
from rich.console import Console

from reason2decide.evaluation import evaluate_records, metrics_table, rationale_bleu, write_metrics

LABELS = ["yes", "no"]


def _records(with_rationales: bool) -> list[dict]:
    rows = [
        {"gold_label": "yes", "label": "yes", "gold_rationale": "the trial met its endpoint"},
        {"gold_label": "no", "label": "yes", "gold_rationale": "the effect was not significant"},
        {"gold_label": "no", "label": "no", "gold_rationale": None},
    ]
    for row in rows:
        row["rationale"] = "the trial met its endpoint" if with_rationales else None
    return rows


def test_label_only_records_have_absent_rationale_metrics():
    m = evaluate_records(_records(False), LABELS)
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["n_rationales"] == 0
    for key in ("bleu", "bertscore_precision", "bertscore_recall", "bertscore_f1", "ece"):
        assert m[key] is None


def test_rationale_metrics_over_pairs_with_both_sides():
    m = evaluate_records(_records(True), LABELS, with_bertscore=False)
    assert m["n_rationales"] == 2
    expected = rationale_bleu(
        ["the trial met its endpoint", "the effect was not significant"],
        ["the trial met its endpoint", "the trial met its endpoint"],
    )
    assert m["bleu"] == pytest.approx(expected)
    assert 0.5 <= m["bleu"] < 1.0
    assert m["bertscore_f1"] is None


def test_with_bertscore_and_probabilities():
    rows = _records(True)
    rows[0]["probabilities"] = {"yes": 0.9, "no": 0.1}
    rows[1]["probabilities"] = {"yes": 0.6, "no": 0.4}
    m = evaluate_records(rows, LABELS)
    assert m["n_probabilities"] == 2
    # Bin (0.8, 0.9]: right at 0.9; bin (0.5, 0.6]: wrong at 0.6.
    assert m["ece"] == pytest.approx(0.5 * 0.1 + 0.5 * 0.6)
    assert 0.0 < m["bertscore_f1"] < 1.0
    assert m["bertscore_encoder"]["num_layers"] == 6


def test_table_renders_and_json_round_trips(tmp_path):
    m = evaluate_records(_records(False), LABELS)
    out = io.StringIO()
    Console(file=out, width=120).print(metrics_table(m))
    text = out.getvalue()
    assert "macro-F1" in text and "class yes" in text and "—" in text
    path = tmp_path / "sub" / "metrics.json"
    write_metrics(path, m)
    assert json.loads(path.read_text()) == m


def _choice_record(gold, predicted, choices, probabilities=None):
    return {
        "gold_label": gold,
        "label": predicted,
        "choices": choices,
        "probabilities": probabilities,
    }


def test_choice_records_are_scored_by_position_and_by_text_when_closed():
    options = ["yes", "no", "maybe"]
    records = [
        _choice_record("yes", "yes", options, {"yes": 0.9, "no": 0.05, "maybe": 0.05}),
        _choice_record("no", "yes", options, {"yes": 0.6, "no": 0.3, "maybe": 0.1}),
        _choice_record("maybe", "maybe", options, {"yes": 0.2, "no": 0.2, "maybe": 0.6}),
    ]
    metrics = evaluate_records(records, [], with_bertscore=False)
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert metrics["choices"]["per_position"]["A"]["predicted_share"] == pytest.approx(2 / 3)
    assert metrics["macro_f1"] == metrics["choices"]["macro_f1"]
    assert metrics["macro_f1_text"] is not None and set(metrics["per_class"]) == set(options)
    assert metrics["ece"] is not None


def test_open_choice_sets_have_no_text_macro_f1_nor_per_text_classes():
    records = [
        _choice_record("aspirin", "aspirin", ["aspirin", "heparin"]),
        _choice_record("rest", "fluids", ["fluids", "rest", "surgery"]),
    ]
    metrics = evaluate_records(records, ["aspirin", "rest"], with_bertscore=False)
    assert metrics["accuracy"] == 0.5
    assert metrics["macro_f1_text"] is None and metrics["per_class"] == {}
    assert metrics["choices"]["position_confusion"]["matrix"][1][0] == 1
    table = metrics_table(metrics)
    assert table.row_count > 0
