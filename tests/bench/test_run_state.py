"""A run's state in the bench: a complete evaluation needs no model folder (runs copied back
from another machine without weights still report), but cannot be redone without one."""

from __future__ import annotations

import json

import pytest

from reason2decide.bench.plan import run_state
from reason2decide.errors import R2DError
from reason2decide.generation import GenerationSettings

SETTINGS = {"test_sha256": "abc", "with_bertscore": False}


def _run(tmp_path, *, status="complete", model=True, settings=SETTINGS):
    tmp_path.mkdir(parents=True)
    (tmp_path / "run.json").write_text(json.dumps({"status": status}))
    if model:
        (tmp_path / "model").mkdir()
    if settings is not None:
        (tmp_path / "eval").mkdir()
        metrics = {
            "accuracy": 0.5,
            "bench_eval": {"settings": settings},
            "generation": GenerationSettings().to_dict(),
        }
        (tmp_path / "eval" / "metrics.json").write_text(json.dumps(metrics))
    return tmp_path


def test_new_resume_evaluate_complete(tmp_path):
    assert run_state(tmp_path / "absent", SETTINGS) == "new"
    assert run_state(_run(tmp_path / "a", status="running"), SETTINGS) == "resume"
    assert run_state(_run(tmp_path / "b", settings=None), SETTINGS) == "evaluate"
    assert run_state(_run(tmp_path / "c", settings={"other": 1}), SETTINGS) == "evaluate"
    assert run_state(_run(tmp_path / "d"), SETTINGS) == "complete"


def test_evaluated_run_without_weights_is_complete(tmp_path):
    assert run_state(_run(tmp_path / "a", model=False), SETTINGS) == "complete"


def test_run_without_weights_cannot_be_evaluated_again(tmp_path):
    run = _run(tmp_path / "a", model=False, settings={"with_bertscore": True})
    with pytest.raises(R2DError, match="no model to evaluate again"):
        run_state(run, SETTINGS)
    assert run_state(_run(tmp_path / "b", model=False, settings=None), SETTINGS) == "resume"
