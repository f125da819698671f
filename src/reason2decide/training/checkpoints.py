"""Checkpoints a run can resume from: each is marked complete once everything in it is written
(weights, optimizer, scheduler, RNG states, trainer state, the objective's own state), and a
resume takes the newest complete one. A checkpoint cut short by a kill is reported and removed.

Checkpoints written before the mark existed count as complete when they hold
``trainer_state.json``, which the ``Trainer`` writes last, unless some checkpoint of the same
stage is marked (then the mark is what counts).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from reason2decide.io import write_json

#: The file whose presence says a checkpoint folder was written to the end.
COMPLETE_MARK = "r2d-checkpoint-complete.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


class MarkCheckpointComplete(TrainerCallback):
    """Write :data:`COMPLETE_MARK` into each checkpoint once it is saved; it must come after
    every callback that adds files to the checkpoint."""

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero:
            return
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            write_json(folder / COMPLETE_MARK, {"step": state.global_step})


def checkpoints(stage_dir: Path) -> list[tuple[int, Path]]:
    """The ``checkpoint-N`` folders of a stage, newest first."""
    if not stage_dir.is_dir():
        return []
    found = []
    for path in stage_dir.iterdir():
        match = _CHECKPOINT.match(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path))
    return sorted(found, reverse=True)


def last_complete_checkpoint(
    stage_dir: Path, say: Callable[[str], None], *, remove: bool = True
) -> Path | None:
    """The newest complete checkpoint of ``stage_dir`` (None when there is none). Newer ones
    that were cut short are named through ``say`` and, with ``remove``, deleted, so that the
    resumed run writes them again from a clean folder."""
    found = checkpoints(stage_dir)
    marked = any((path / COMPLETE_MARK).is_file() for _, path in found)
    for step, path in found:
        complete = (path / COMPLETE_MARK).is_file() or (
            not marked and (path / "trainer_state.json").is_file()
        )
        if complete:
            return path
        say(
            f"{stage_dir.name}: checkpoint-{step} was not written to the end (the run was "
            "stopped while saving it): skipped" + (" and removed" if remove else "")
        )
        if remove:
            shutil.rmtree(path, ignore_errors=True)
    return None
