"""A run's status in run.json (running, complete, failed, interrupted), the refusal to use the
model of a run that never finished, and one run per output folder (a lock a crash cannot leave
stuck)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import TrainerCallback

from reason2decide.errors import R2DError
from reason2decide.inference import Predictor
from reason2decide.training import build_config, run_training
from reason2decide.training.output import hold_output, lock_file
from tiny_models import save_tiny_t5, write_toy_dataset


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("status")
    save_tiny_t5(root / "init", write_toy_dataset(root / "data"))
    return root


def config(toy: Path, output: Path, method: str = "r2d"):
    return build_config(
        dict(
            method=method,
            train=toy / "data/train.jsonl",
            val=toy / "data/val.jsonl",
            output=output,
            model=str(toy / "init"),
            max_steps=4,
            stage1_max_steps=2,
            batch_size=8,
            eval_steps=2,
            max_input_length=48,
            max_target_length=12,
        )
    )


class StopAt(TrainerCallback):
    """In Stage 2, at step 1, raise ``error`` (or send this process ``signal``)."""

    def __init__(self, error: BaseException | None = None, signum: int | None = None) -> None:
        self.error, self.signum = error, signum

    def on_step_end(self, args, state, control, **kwargs):
        if args.output_dir.endswith("stage2") and state.global_step == 1:
            if self.signum is not None:
                os.kill(os.getpid(), self.signum)
            raise self.error  # type: ignore[misc]


def _run_json(output: Path) -> dict:
    return json.loads((output / "run.json").read_text())


@pytest.mark.parametrize(
    ("stop", "raised", "status", "by"),
    [
        (StopAt(RuntimeError("on fire")), RuntimeError, "failed", "RuntimeError: on fire"),
        (StopAt(KeyboardInterrupt()), KeyboardInterrupt, "interrupted", "KeyboardInterrupt"),
        (StopAt(signum=signal.SIGTERM), KeyboardInterrupt, "interrupted", "SIGTERM"),
    ],
    ids=["error", "ctrl-c", "sigterm"],
)
def test_a_stopped_run_says_why_and_its_model_is_refused(toy, tmp_path, stop, raised, status, by):
    output = tmp_path / "run"
    with pytest.raises(raised):
        run_training(config(toy, output), say=lambda _: None, callbacks=[stop])
    run = _run_json(output)
    assert run["status"] == status and by in run["stopped_by"] and run["stopped_at"]
    with pytest.raises(R2DError, match=rf"has not finished \(run.json: status {status}\)"):
        Predictor.from_output(output)
    # a model folder given explicitly is taken as it is
    assert Predictor.from_output(output / "stage1" / "model").labels
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handler given back

    manifest = run_training(config(toy, output), resume=True, say=lambda _: None)
    assert manifest["status"] == "complete"
    assert Predictor.from_output(output).labels


def test_the_saved_model_records_its_labels_and_a_foreign_labels_file_is_refused(toy, tmp_path):
    output = tmp_path / "run"
    run_training(config(toy, output, method="sft"), say=lambda _: None)
    info = json.loads((output / "model/reason2decide.json").read_text())
    labels = json.loads((output / "model/labels.json").read_text())["labels"]
    assert info["labels"] == labels
    (output / "model/labels.json").write_text(json.dumps({"labels": labels[::-1]}))
    with pytest.raises(R2DError, match="disagree with the"):
        Predictor.from_output(output)


def test_a_second_run_into_a_folder_in_use_is_refused(toy, tmp_path):
    output = tmp_path / "run"
    with hold_output(output), pytest.raises(R2DError, match="another r2d train is writing"):
        run_training(config(toy, output), say=lambda _: None)
    assert not output.exists()  # refused before anything was written


def test_a_killed_run_leaves_no_stuck_lock(toy, tmp_path):
    output = tmp_path / "run"
    holder = (
        "import os, signal, sys\n"
        "from reason2decide.training.output import hold_output\n"
        "with hold_output(sys.argv[1]):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", holder, str(output)], check=False)
    assert done.returncode == -9
    assert lock_file(output).is_file()  # the file stays; its lock died with the process
    manifest = run_training(config(toy, output, method="sft"), say=lambda _: None)
    assert manifest["status"] == "complete"


class FillDiskAfterSave(TrainerCallback):
    """Once Stage 2's checkpoint-2 is saved, fill the disk so that the next save fails."""

    def __init__(self, filler: Path) -> None:
        self.filler = filler

    def on_step_begin(self, args, state, control, **kwargs):
        if args.output_dir.endswith("stage2") and state.global_step == 2:
            with open(self.filler, "wb") as handle:
                try:
                    while True:
                        handle.write(b"\0" * (1 << 16))
                        handle.flush()
                except OSError:
                    pass


def test_a_full_disk_stops_the_run_and_the_earlier_checkpoint_resumes(toy, small_disk):
    import errno

    disk = small_disk("16m")
    output, filler = disk / "run", disk / "filler"
    with pytest.raises((OSError, R2DError)) as info:
        run_training(config(toy, output), say=lambda _: None, callbacks=[FillDiskAfterSave(filler)])
    error = info.value
    assert "no space left" in str(error).lower() or getattr(error, "errno", None) == errno.ENOSPC
    # run.json could not be rewritten on the full disk: it still says "running"
    assert _run_json(output)["status"] == "running"
    assert (output / "stage2/checkpoint-2/r2d-checkpoint-complete.json").is_file()

    filler.unlink()
    said: list[str] = []
    manifest = run_training(config(toy, output), resume=True, say=said.append)
    assert manifest["status"] == "complete"
    assert manifest["stages"]["stage2"]["resumed_from_step"] == 2
    assert (
        any("checkpoint-4 was not written to the end" in line for line in said)
        or not (output / "stage2/checkpoint-4").exists()
    )
