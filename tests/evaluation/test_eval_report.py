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
