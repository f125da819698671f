"""``run.json``, the manifest of a training run: what was trained, on which data, with which
versions and hardware, and each stage's results and wall time."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from reason2decide import __version__
from reason2decide.data.labels import LabelSet
from reason2decide.data.training_data import TrainingData
from reason2decide.distributed import world_size
from reason2decide.errors import R2DError
from reason2decide.hardware import cpu_model
from reason2decide.io import read_json
from reason2decide.training.config import TrainConfig


def new_manifest(config: TrainConfig, data: TrainingData, rationale: str | None) -> dict[str, Any]:
    """The manifest of a run that starts now; ``rationale`` is the method's rationale prompt."""
    return {
        "reason2decide_version": __version__,
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "status": "running",
        "started_at": now(),
        "method": config.method,
        "rationale_prompt": rationale,
        "seed": config.seed,
        "config": config.dump(),
        "labels": list(data.labels),
        "data": {**data.sources, "n_train": len(data.train), "n_val": len(data.val)},
        "rationale_sources": data.sources["rationales"],
        "environment": environment_info(),
        "distributed": {
            "world_size": world_size(),
            "global_batch_size": config.batch_size
            * config.gradient_accumulation_steps
            * world_size(),
        },
        "stages": {},
    }


def resumed_manifest(run_file: Path, labels: LabelSet, labels_file: Path) -> dict[str, Any]:
    """The manifest in ``run_file``, running again; refuses a label set that changed since the
    run started (``labels_file`` is named in the error)."""
    manifest = read_json(run_file)
    if list(labels) != manifest.get("labels", list(labels)):
        raise R2DError(
            f"the label set changed since the run started: {', '.join(manifest['labels'])} "
            f"then, {', '.join(labels)} now",
            path=labels_file,
            field="labels (--labels)",
            hint="restore the label list, or start a new run in another --output",
        )
    manifest["status"] = "running"
    manifest.setdefault("resumed_at", []).append(now())
    return manifest


def init_record(given: str, resolved: str) -> dict[str, str]:
    """``run.json``'s ``init`` of a run that trains Stage 2 alone: the ``--init`` given and the
    model it resolved to (an absolute path when it is local)."""
    path = Path(resolved)
    return {"given": given, "resolved": str(path.resolve()) if path.exists() else resolved}


#: ``run.json``'s ``status``: a run trains ("running"), ends with its model ("complete"), or
#: stopped early: an error ("failed"), Ctrl-C or SIGTERM ("interrupted"). A run killed outright
#: (SIGKILL, power loss) still says "running"; ``r2d train --resume`` continues any of them.
STATUSES = ("running", "complete", "failed", "interrupted")


def finished(manifest: dict[str, Any]) -> bool:
    """Whether the run of ``manifest`` ended with its model."""
    return manifest.get("status") == "complete"


def mark_stopped(manifest: dict[str, Any], error: BaseException) -> None:
    """Record in ``manifest`` that the run stopped before its end, and why."""
    interrupted = isinstance(error, KeyboardInterrupt | SystemExit)
    manifest["status"] = "interrupted" if interrupted else "failed"
    manifest["stopped_at"] = now()
    manifest["stopped_by"] = f"{type(error).__name__}: {error}".strip().rstrip(":")[:500]


def total_or_none(values: Iterable[float | None]) -> float | None:
    """The sum of ``values`` rounded to 0.01, or None if one is missing (a time that a run
    made by an earlier version did not record)."""
    total = 0.0
    for value in values:
        if value is None:
            return None
        total += value
    return round(total, 2)


def finish_manifest(manifest: dict[str, Any], attempt_seconds: float) -> None:
    """Mark ``manifest`` complete, with the wall time of every stage in all and of this
    attempt (``attempt_seconds``), and the CPU time of every stage in all: seconds of this
    process on all cores together (so up to the number of cores times the wall time), which
    unlike the wall time does not grow while the run waits for a shared machine."""
    manifest["status"] = "complete"
    manifest["finished_at"] = now()
    manifest["wall_time_s"] = round(
        sum(s.get("wall_time_s", 0.0) for s in manifest["stages"].values()), 2
    )
    manifest["cpu_time_s"] = total_or_none(s.get("cpu_time_s") for s in manifest["stages"].values())
    manifest["last_attempt_wall_time_s"] = round(attempt_seconds, 2)


def environment_info() -> dict[str, Any]:
    """Package versions and hardware, for the run manifest."""
    import accelerate
    import torch
    import transformers

    info: dict[str, Any] = {
        "reason2decide": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "accelerate": accelerate.__version__,
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_count"] = torch.cuda.device_count()
    return info


def now() -> str:
    """The time now, UTC, to the second, as ``run.json`` records it."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
