"""Exact resume: a run killed with SIGKILL at any point (in Stage 1, in Stage 2 before and after
label sampling starts, during a validation, while a checkpoint is being written) and continued
with --resume ends with the same weights, bit for bit, the same log rows for every step and the
same checkpoint choice as the run never stopped. A checkpoint cut short is reported and skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tiny_models import save_tiny_t5, write_toy_dataset

WORKER = Path(__file__).resolve().parents[1] / "kill_worker.py"
#: log fields that measure time, not training
TIMING = {
    "eval_runtime",
    "eval_samples_per_second",
    "eval_steps_per_second",
    "train_runtime",
    "train_samples_per_second",
    "train_steps_per_second",
}


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kill")
    save_tiny_t5(root / "init", write_toy_dataset(root / "data"))
    return root


def train(
    root: Path,
    output: Path,
    method: str,
    kill: str = "none",
    resume: bool = False,
    save_steps: int | None = None,
):
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(WORKER.parent), *sys.path]),
    }
    command = [sys.executable, str(WORKER), str(root), str(output), method, kill]
    command += ["--resume"] if resume else []
    command += [f"--save-steps={save_steps}"] if save_steps else []
    done = subprocess.run(
        command,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done


@pytest.fixture(scope="module")
def uninterrupted(root):
    """The output folder of a run never stopped, per (method, --save-steps), made once."""
    runs: dict[tuple[str, int | None], Path] = {}

    def run(method: str, save_steps: int | None = None) -> Path:
        if (method, save_steps) not in runs:
            output = root / f"whole-{method}-{save_steps}"
            done = train(root, output, method, save_steps=save_steps)
            assert done.returncode == 0, done.stderr[-3000:]
            runs[method, save_steps] = output
        return runs[method, save_steps]

    return run


def weights(output: Path) -> str:
    return hashlib.sha256((output / "model/model.safetensors").read_bytes()).hexdigest()


def log_rows(output: Path) -> list[dict]:
    lines = (output / "log_history.jsonl").read_text().splitlines()
    return [
        {k: v for k, v in json.loads(line).items() if k not in TIMING}
        for line in lines
        if line.strip()
    ]


def choices(output: Path) -> dict:
    run = json.loads((output / "run.json").read_text())
    return {
        name: (stage["best_step"], stage["best_metric"], stage["steps_done"])
        for name, stage in run["stages"].items()
    }


KILLS = [
    ("r2d", "stage2:save:9"),
    ("r2d", "stage2:eval:6"),
    ("r2dc", "stage2:step:8"),
    pytest.param("r2d", "stage1:step:4", marks=pytest.mark.slow),
    pytest.param("r2d", "stage1:save:3", marks=pytest.mark.slow),
    pytest.param("r2d", "stage2:step:2", marks=pytest.mark.slow),
    pytest.param("r2d", "stage2:step:7", marks=pytest.mark.slow),
    pytest.param("r2dc", "stage2:save:6", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("method", "kill"), KILLS)
def test_a_killed_run_resumes_to_the_same_model_log_and_choice(
    root, uninterrupted, tmp_path, method, kill
):
    output = tmp_path / "run"
    killed = train(root, output, method, kill)
    assert killed.returncode == -9, killed.stderr[-3000:]
    run = json.loads((output / "run.json").read_text())
    assert run["status"] == "running"  # killed outright: nothing could say otherwise
    resumed = train(root, output, method, resume=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    whole = uninterrupted(method)
    assert weights(output) == weights(whole)
    assert log_rows(output) == log_rows(whole)
    assert choices(output) == choices(whole)
    assert json.loads((output / "run.json").read_text())["status"] == "complete"
    if ":save:" in kill:
        stage, _, step = kill.split(":")
        assert f"{stage}: checkpoint-{step} was not written to the end" in resumed.stdout


def test_checkpoints_between_validations_change_nothing_and_resume_exactly(
    root, uninterrupted, tmp_path
):
    # validation every 3 steps, checkpoints every 2: a kill after step 5 resumes from step 4,
    # a step with no validation
    output = tmp_path / "run"
    killed = train(root, output, "r2d", "stage2:step:5", save_steps=2)
    assert killed.returncode == -9, killed.stderr[-3000:]
    kept = sorted(int(p.name.split("-")[1]) for p in (output / "stage2").glob("checkpoint-*"))
    assert kept == [2, 3, 4]  # every 2 steps, and step 3's validation, the best so far
    resumed = train(root, output, "r2d", resume=True, save_steps=2)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    run = json.loads((output / "run.json").read_text())
    assert run["stages"]["stage2"]["resumed_from_step"] == 4
    assert run["stages"]["stage2"]["save_steps"] == 2

    whole = uninterrupted("r2d", save_steps=2)
    assert weights(output) == weights(whole)
    assert log_rows(output) == log_rows(whole)
    assert choices(output) == choices(whole)
    # saving more often changes neither the training nor which validation's model is kept
    default = uninterrupted("r2d")
    assert weights(whole) == weights(default)
    assert log_rows(whole) == log_rows(default)
    assert choices(whole) == choices(default)
