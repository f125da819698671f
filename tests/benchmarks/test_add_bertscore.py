"""BERTScore added afterwards to runs evaluated without it: the same numbers the evaluation
would have written, and the run then counts as evaluated with BERTScore."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from reason2decide.evaluation.bertscore import bertscore

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "add_bertscore.py"


def _script():
    spec = importlib.util.spec_from_file_location("add_bertscore", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_adds_bertscore_once(tmp_path):
    run = tmp_path / "bench" / "runs" / "r2d" / "seed0"
    (run / "eval").mkdir(parents=True)
    records = [
        {"id": "a", "gold_rationale": "fever and stiff neck", "rationale": "fever, stiff neck"},
        {"id": "b", "gold_rationale": "a mild cold", "rationale": "no red flags"},
        {"id": "c", "gold_rationale": "", "rationale": "ignored: no gold rationale"},
    ]
    (run / "eval" / "predictions.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    settings = {"test_sha256": "x", "with_bertscore": False, "bertscore_model": None}
    metrics = {"accuracy": 1.0, "bertscore_f1": None, "bench_eval": {"settings": settings}}
    (run / "eval" / "metrics.json").write_text(json.dumps(metrics))

    assert _script().main([str(tmp_path / "bench")]) == 0
    saved = json.loads((run / "eval" / "metrics.json").read_text())
    expected = bertscore(
        ["fever and stiff neck", "a mild cold"], ["fever, stiff neck", "no red flags"]
    )
    assert saved["bertscore_f1"] == pytest.approx(expected["bertscore_f1"])
    assert saved["bench_eval"]["settings"]["with_bertscore"] is True
    assert saved["accuracy"] == 1.0
    before = (run / "eval" / "metrics.json").read_text()
    _script().main([str(tmp_path / "bench")])  # nothing left to add
    assert (run / "eval" / "metrics.json").read_text() == before
