"""The output folder of a training run: its layout, and the rules for starting, resuming or
overwriting a run in it, and for starting Stage 2 from another run's folder.

Layout::

    OUTPUT/
      model/              final model (+ tokenizer, backbone.json, labels.json and
                          reason2decide.json, so that a copy reloads on its own; README.md,
                          its model card, which r2d evaluate completes with test metrics)
      labels.json         the label set
      run.json            resolved config, data fingerprints, versions, seed, wall times, results
      log_history.jsonl   one object per log event: stage, step, loss, alpha, p_pred, eval_*
      stage1/             Stage-1 model and (while training) its checkpoints
      stage2/             checkpoints of the last stage while it trains
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reason2decide.data.fingerprint import fingerprint
from reason2decide.distributed import barrier, is_main_process
from reason2decide.errors import R2DError
from reason2decide.io import read_json
from reason2decide.training.config import (
    TrainConfig,
    config_fields,
    load_yaml,
    upgrade_options,
    validate_config,
)

#: names inside the output folder (see the layout above)
RUN_FILE = "run.json"
LABELS_FILE = "labels.json"
LOG_FILE = "log_history.jsonl"
MODEL_DIR = "model"
STAGE_FILE = "stage.json"
ATTEMPTS_FILE = "attempts.json"


def lock_file(output: str | os.PathLike[str]) -> Path:
    """The file whose lock says a run is writing into ``output`` (beside it: ``--overwrite``
    deletes the folder itself)."""
    path = Path(output).resolve()
    return path.parent / f".{path.name}.r2d-lock"


@contextlib.contextmanager
def hold_output(output: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``output`` for this run: a second run into it while this one lives is refused. The
    lock is the operating system's, so a run that crashes or is killed leaves none behind.
    Only the main process locks (the others of a multi-process run share its folder)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    if not is_main_process():
        yield
        return
    path = lock_file(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise R2DError(
                f"another r2d train is writing into this folder ({holder})",
                path=output,
                hint="wait for it to end, stop it, or choose another --output",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM (a scheduler's preemption, ``kill``) stops the run like Ctrl-C,
    so that ``run.json`` records it as interrupted; outside it, as before."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def prepare_output(output: Path, *, resume: bool, overwrite: bool) -> None:
    """Refuse to mix two runs in one folder unless told to resume or overwrite."""
    if resume and overwrite:
        raise R2DError("--resume and --overwrite exclude each other")
    has_run = (output / RUN_FILE).is_file()
    if output.exists() and not output.is_dir():
        raise R2DError("output exists and is not a folder", path=output)
    if resume:
        if not has_run:
            raise R2DError(
                "nothing to resume: the output folder holds no run.json",
                path=output,
                hint="start the run without --resume",
            )
        return
    if has_run and overwrite:
        barrier()  # every process has looked at the folder before it goes
        if is_main_process():
            shutil.rmtree(output)
        return
    if output.is_dir() and any(output.iterdir()):
        raise R2DError(
            "output folder is not empty",
            path=output,
            hint="pass --resume to continue the run in it, --overwrite to replace it, "
            "or choose another --output",
        )


def resume_config(
    output: Path, flags: dict[str, Any], config_file: str | Path | None = None
) -> TrainConfig:
    """The saved config of the run in ``output``; flags given now, and the values of a YAML
    ``config_file`` given now, must not contradict it (``output`` itself is not compared)."""
    if not (output / RUN_FILE).is_file():
        raise R2DError(
            "nothing to resume: the output folder holds no run.json",
            path=output,
            hint="start the run without --resume",
        )
    manifest = read_json(output / RUN_FILE)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("config"), dict):
        raise R2DError(
            "run.json holds no 'config' object: not a run of r2d train, or damaged",
            path=output / RUN_FILE,
            field="config",
            hint="start the run without --resume in another --output",
        )
    saved = upgrade_options(manifest["config"], output / RUN_FILE)
    clashes = []
    if config_file is not None:
        values = upgrade_options(load_yaml(config_file), config_file)
        unknown = sorted(set(values) - set(config_fields()))
        if unknown:
            raise R2DError(f"unknown option(s) {', '.join(unknown)}", path=config_file)
        clashes += _clashes(saved, values, f"in {Path(config_file).name}")
    clashes += _clashes(saved, flags, "given")
    if clashes:
        raise R2DError(
            "a resumed run keeps its configuration; these values differ from it: "
            + "; ".join(clashes),
            path=output / RUN_FILE,
            hint="drop those flags or YAML values, or start a new run in another --output",
        )
    return validate_config(saved, source=output / RUN_FILE)


def _clashes(saved: dict[str, Any], values: dict[str, Any], given: str) -> list[str]:
    """``key=saved (given value)`` for each value (None = not given) that differs from the
    saved config once validated (so that ``5e-5`` and ``0.00005`` agree)."""
    clashes = []
    for key, value in values.items():
        if value is None or key not in saved or key == "output":
            continue
        try:
            now = validate_config({**saved, key: value}).dump()[key]
        except R2DError:
            now = value
        if now != saved[key]:
            clashes.append(f"{key}={saved[key]!r} ({given} {value!r})")
    return clashes


#: The data files a run records a fingerprint of, by ``run.json`` key, in words.
_DATA_FILES = {
    "train": "training file (--train)",
    "val": "validation file (--val)",
    "stage1_train": "Stage-1 training file (--stage1-train)",
}


def check_unchanged_data(manifest: dict[str, Any], config: TrainConfig) -> None:
    """A resumed run trains on the data it started with: refuse a data file whose content
    differs from the fingerprint in ``run.json``."""
    recorded = manifest.get("data") or {}
    for key, words in _DATA_FILES.items():
        path = getattr(config, key)
        before = (recorded.get(key) or {}).get("sha256")
        if path is None or before is None:
            continue
        now = fingerprint(path)["sha256"]
        if now != before:
            raise R2DError(
                f"the {words} changed since the run started (sha256 {before[:12]}... then, "
                f"{now[:12]}... now): a resumed run must train on the same data",
                path=path,
                hint="restore the file, or start a new run (another --output, or --overwrite)",
            )


def resolve_init(init: str) -> str:
    """The model Stage 2 alone starts from: ``--init`` names a run folder (its Stage-1 model) or
    anything ``load_backbone`` takes (a model folder, used as it is).

    A run folder's ``model/`` is its Stage-1 model only when the run trained Stage 1 alone; a
    run whose last stage was another objective (Stage 2, SFT, DSS) is refused, since starting
    Stage 2 from its final model would silently train Stage 2 twice.
    """
    path = Path(init)
    if not (path / RUN_FILE).is_file():
        return init
    if (path / "stage1" / MODEL_DIR).is_dir():
        return str(path / "stage1" / MODEL_DIR)
    stages = list(read_json(path / RUN_FILE).get("stages") or {})
    if stages == ["stage1"] and (path / MODEL_DIR).is_dir():
        return str(path / MODEL_DIR)
    if (path / MODEL_DIR).is_dir():
        trained = ", ".join(stages) or "another objective"
        raise R2DError(
            f"the run has no Stage-1 model: its model/ is the result of {trained}",
            path=path,
            field="init (--init)",
            hint=f"to start Stage 2 from that model anyway, pass it: --init {path / MODEL_DIR}",
        )
    raise R2DError(
        "the run has no finished Stage-1 model (yet)",
        path=path,
        field="init (--init)",
        hint="finish its Stage 1 (r2d train --output RUN --resume), or pass a model folder",
    )
