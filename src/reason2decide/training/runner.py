"""Run a training method end to end: data, stages, checkpoints, the output folder.

Output folder layout::

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

import os
import platform
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from reason2decide import __version__
from reason2decide.backbones import Backbone, load_backbone, quiet_transformers
from reason2decide.data.example import Example
from reason2decide.data.fingerprint import fingerprint
from reason2decide.data.labels import LabelSet, check_labels
from reason2decide.data.readers import read_examples
from reason2decide.data.splits import stratified_holdout
from reason2decide.data.stats import overlapping_rows, training_data_warnings
from reason2decide.distributed import (
    barrier,
    init_distributed,
    is_main_process,
    parameters_sharded,
    world_size,
)
from reason2decide.errors import R2DError
from reason2decide.hardware import cpu_model, resolve_precision
from reason2decide.io import read_json, write_json
from reason2decide.methods import build_objective, method_spec, method_stages
from reason2decide.training.config import (
    TrainConfig,
    check_label_decoding,
    config_fields,
    load_yaml,
    upgrade_options,
    validate_config,
)
from reason2decide.training.model_card import card_facts, read_card_facts, write_model_card
from reason2decide.training.model_info import MODEL_LABELS_FILE, model_info, write_model_info
from reason2decide.training.truncation import report_truncation

RUN_FILE = "run.json"
LABELS_FILE = "labels.json"
LOG_FILE = "log_history.jsonl"
MODEL_DIR = "model"
STAGE_FILE = "stage.json"
ATTEMPTS_FILE = "attempts.json"

Say = Callable[[str], None]


# ---------------------------------------------------------------------- output folder
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
    saved = upgrade_options(read_json(output / RUN_FILE)["config"], output / RUN_FILE)
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


# ---------------------------------------------------------------------- data
@dataclass
class TrainingData:
    """Training and validation examples, the label set, and where each came from.

    ``stage1_train``/``stage1_val`` are Stage 1's examples: the same as ``train``/``val`` unless
    Stage 1 takes its rationales from another column or file (e.g. LLM-written rationales for
    Stage 1, clinicians' for Stage 2, the paper's key setting).
    """

    train: list[Example]
    val: list[Example]
    labels: LabelSet
    sources: dict[str, Any]
    stage1_train: list[Example] | None = None
    stage1_val: list[Example] | None = None

    def for_stage(self, name: str) -> tuple[list[Example], list[Example]]:
        """Training and validation examples of objective ``name``."""
        if name == "stage1" and self.stage1_train is not None:
            return self.stage1_train, self.stage1_val or self.val
        return self.train, self.val


def load_training_data(
    config: TrainConfig,
    *,
    needs_rationale: bool,
    stages: tuple[str, ...] = ("stage1", "stage2"),
    say: Say = print,
    held_out: Mapping[str, Sequence[Example]] | None = None,
) -> TrainingData:
    """Read and check the training data of ``config`` for the objectives ``stages``; hold out
    validation data if none given. ``sources["rationales"]`` records, per stage that learns
    rationales, where they come from.

    Stage-1 rows of another source (``--stage1-train``, ``--stage1-rationale-col``) are checked
    against the validation rows and the sets in ``held_out`` (name → examples, e.g. the bench's
    test set): overlaps are warned about and recorded, or dropped with
    ``--stage1-exclude-overlap``.
    """
    columns = config.columns()
    train = read_examples(config.train, columns, require_rationale=needs_rationale)
    sources: dict[str, Any] = {"train": fingerprint(config.train)}
    if config.val is not None:
        val = read_examples(config.val, columns, require_rationale=needs_rationale)
        sources["val"] = fingerprint(config.val)
    else:
        train, val = stratified_holdout(train, config.val_fraction, config.seed)
        sources["val"] = {
            "held_out_from": "train",
            "fraction": config.val_fraction,
            "seed": config.seed,
            "ids": [e.id for e in val],
        }
        say(f"No --val given: held out {len(val)} of the training examples for validation.")
    if not train or not val:
        raise R2DError("too few examples to train and validate", path=config.train)
    if config.labels:
        labels = LabelSet.parse(config.labels)
        # a multiple-choice case's label is one of its own options, not of --labels
        outside = sorted({e.label for e in train if e.choices is None and e.label not in labels})
        if outside:
            raise R2DError(
                f"{len(outside)} training label(s) are not in --labels: {', '.join(outside[:5])}",
                path=config.train,
                field=config.label_col,
            )
    else:
        labels = LabelSet.from_examples(train)
    if len(labels) < 2:
        raise R2DError(
            f"the training data has a single label ({', '.join(labels)}): nothing to decide",
            path=config.train,
            field=config.label_col,
        )
    check_labels(val, labels, config.val or config.train)
    for message in training_data_warnings(train, val):
        warnings.warn(message, stacklevel=2)
    data = TrainingData(train, val, labels, sources)
    own = {"file": str(config.train), "column": config.rationale_col}
    sources["rationales"] = {
        name: dict(own) for name in stages if needs_rationale and name != "stage1"
    }
    if needs_rationale and "stage1" in stages:
        sources["rationales"]["stage1"] = dict(own)
        if config.stage1_train or config.stage1_rationale_col:
            _add_stage1_source(config, data, {"validation": val, **(held_out or {})}, say)
    return data


def _add_stage1_source(
    config: TrainConfig,
    data: TrainingData,
    evaluation: Mapping[str, Sequence[Example]],
    say: Say = print,
) -> None:
    """Stage 1's own rationales: another column of the same rows, or another file; its rows are
    checked against the ``evaluation`` sets (see :func:`stage1_overlap`)."""
    column = config.stage1_rationale_col or config.rationale_col
    columns = config.columns(column)
    if config.stage1_train is not None:
        rows = read_examples(config.stage1_train, columns, require_rationale=True)
        rows, overlap = stage1_overlap(rows, evaluation, config.stage1_exclude_overlap, say)
        if not rows:
            raise R2DError(
                "every Stage-1 row also occurs in the evaluation data: nothing left to train on",
                path=config.stage1_train,
                hint="drop --stage1-exclude-overlap, or give Stage 1 other rows",
            )
        data.stage1_train, data.stage1_val = stratified_holdout(
            rows, config.val_fraction, config.seed
        )
        data.sources["stage1_train"] = fingerprint(config.stage1_train)
        data.sources["rationales"]["stage1"] = {
            "file": str(config.stage1_train),
            "column": column,
            "validation": f"{len(data.stage1_val)} rows held out from it",
            **({"overlap": overlap} if overlap else {}),
        }
        return

    def with_column(path: Path, examples: list[Example]) -> list[Example]:
        by_id = {e.id: e.rationale for e in read_examples(path, columns, require_rationale=True)}
        missing = [e.id for e in examples if e.id not in by_id]
        if missing:
            raise R2DError(
                f"{len(missing)} row id(s) have no Stage-1 rationale (e.g. {missing[0]!r})",
                path=path,
                field=column,
            )
        return [replace(e, rationale=by_id[e.id]) for e in examples]

    data.stage1_train, overlap = stage1_overlap(
        with_column(Path(config.train), data.train),
        evaluation,
        config.stage1_exclude_overlap,
        say,
    )
    if not data.stage1_train:
        raise R2DError(
            "every Stage-1 row also occurs in the evaluation data: nothing left to train on",
            path=config.train,
            hint="drop --stage1-exclude-overlap",
        )
    data.stage1_val = with_column(Path(config.val or config.train), data.val)
    data.sources["rationales"]["stage1"] = {
        "file": str(config.train),
        "column": column,
        **({"overlap": overlap} if overlap else {}),
    }


def stage1_overlap(
    rows: list[Example],
    evaluation: Mapping[str, Sequence[Example]],
    exclude: bool,
    say: Say = print,
) -> tuple[list[Example], dict[str, Any]]:
    """Stage-1 ``rows`` that share an id or a question with an ``evaluation`` set (name →
    examples): Stage 1 would learn their rationales, inflating held-out scores. Warns with the
    counts (or, with ``exclude``, drops those rows); returns the rows kept and the counts, as
    ``run.json`` records them (empty when nothing overlaps)."""
    hit = [False] * len(rows)
    counts: dict[str, Any] = {}
    for name, reference in evaluation.items():
        mask, ids, questions = overlapping_rows(rows, reference)
        if any(mask):
            counts[name] = {"rows": sum(mask), "ids": ids, "questions": questions}
            hit = [a or b for a, b in zip(hit, mask, strict=True)]
    if not counts:
        return rows, {}
    n = sum(hit)
    detail = "; ".join(
        f"{c['rows']} with the {name} set ({c['ids']} by id, {c['questions']} by question)"
        for name, c in counts.items()
    )
    counts["dropped"] = n if exclude else 0
    if exclude:
        say(
            f"Stage 1: dropped {n} of {len(rows)} rows that also occur in evaluation data: "
            f"{detail}."
        )
        return [row for row, h in zip(rows, hit, strict=True) if not h], counts
    warnings.warn(
        f"{n} of {len(rows)} Stage-1 training rows also occur in evaluation data ({detail}): "
        "Stage 1 learns their rationales, which inflates held-out scores; "
        "--stage1-exclude-overlap drops them",
        stacklevel=2,
    )
    return rows, counts


# ---------------------------------------------------------------------- manifest
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


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------- stages
def precision_flags(precision: str) -> dict[str, bool]:
    """``bf16``/``fp16`` Trainer flags for the resolved precision (see ``hardware``)."""
    resolved = resolve_precision(precision)
    return {"bf16": resolved == "bf16", "fp16": resolved == "fp16"}


def train_stage(
    name: str,
    backbone: Backbone,
    data: TrainingData,
    config: TrainConfig,
    stage_dir: Path,
    log_path: Path,
    callbacks: Sequence[Any] = (),
) -> tuple[Any, dict[str, Any]]:
    """Train one objective; return the (best) model and the stage summary."""
    import torch
    from transformers import PrinterCallback, ProgressCallback, TrainingArguments
    from transformers.trainer_utils import get_last_checkpoint

    from reason2decide.training.callbacks import (
        DelayedEarlyStopping,
        EvaluateAtEnd,
        JsonlLog,
        SaveObjectiveState,
        StageProgress,
        load_objective_state,
        truncate_log,
    )
    from reason2decide.training.trainer import ExampleDataset, ObjectiveTrainer

    first = name == "stage1"
    max_steps = config.stage1_max_steps if first else config.max_steps
    lr = (config.stage1_lr or config.lr) if first else config.lr
    eval_steps = (config.stage1_eval_steps or config.eval_steps) if first else config.eval_steps
    eval_steps = min(eval_steps, max_steps)
    objective = build_objective(name, backbone, list(data.labels), config, max_steps)
    train_examples, val_examples = data.for_stage(name)
    fresh_lr_scale = config.fresh_lr_scale or backbone.fresh_lr_scale
    patience, start = objective.early_stopping(max_steps)

    args = TrainingArguments(
        output_dir=str(stage_dir),
        max_steps=max_steps,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.resolved_eval_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=lr,
        weight_decay=config.weight_decay,
        lr_scheduler_type="linear",
        warmup_steps=int(config.warmup_ratio * max_steps),
        eval_strategy="steps",
        eval_steps=eval_steps,
        save_strategy="steps",
        save_steps=eval_steps,
        save_total_limit=config.save_total_limit,
        load_best_model_at_end=True,
        metric_for_best_model=objective.selection_metric,
        greater_is_better=objective.greater_is_better,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        report_to=config.report_to,
        remove_unused_columns=False,
        seed=config.seed,
        data_seed=config.seed,
        dataloader_num_workers=config.num_workers,
        dataloader_pin_memory=torch.cuda.is_available(),
        use_cpu=not torch.cuda.is_available(),
        restore_callback_states_from_checkpoint=True,
        **precision_flags(config.precision),
    )
    early = DelayedEarlyStopping(
        objective.selection_metric, objective.greater_is_better, patience, start
    )
    trainer = ObjectiveTrainer(
        model=backbone.model,
        args=args,
        train_dataset=ExampleDataset(train_examples),
        eval_dataset=ExampleDataset(val_examples),
        objective=objective,
        val_examples=val_examples,
        precision=resolve_precision(config.precision),
        fresh_parameters=backbone.fresh_parameters,
        fresh_lr_scale=fresh_lr_scale,
        group_by_length=config.group_by_length,
        callbacks=[
            early,
            EvaluateAtEnd(),
            JsonlLog(log_path, name, objective.schedule_logs),
            StageProgress(name, objective.selection_metric),
            SaveObjectiveState(objective),
            *callbacks,
        ],
    )
    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)

    checkpoint = get_last_checkpoint(str(stage_dir)) if stage_dir.is_dir() else None
    resumed_from = int(checkpoint.rsplit("-", 1)[-1]) if checkpoint else None
    if checkpoint:
        load_objective_state(objective, Path(checkpoint))
    if is_main_process():
        truncate_log(log_path, name, resumed_from if resumed_from is not None else -1)
    attempts_file = stage_dir / ATTEMPTS_FILE
    earlier = read_json(attempts_file) if checkpoint and attempts_file.is_file() else []
    started = time.perf_counter()
    try:
        with quiet_transformers():
            trainer.train(resume_from_checkpoint=checkpoint)
    except BaseException:
        # Keep the time of an interrupted attempt, so a resumed run reports its whole cost.
        if is_main_process():
            elapsed = round(time.perf_counter() - started, 2)
            write_json(attempts_file, [*earlier, {"wall_time_s": elapsed, "completed": False}])
        raise
    wall = time.perf_counter() - started
    attempts = [*earlier, {"wall_time_s": round(wall, 2), "completed": True}]
    state = trainer.state
    # A resumed trainer replaces stateful callbacks with restored copies: ask it for the live one.
    early = next(
        c for c in trainer.callback_handler.callbacks if isinstance(c, DelayedEarlyStopping)
    )
    summary = {
        "objective": name,
        "max_steps": max_steps,
        "steps_done": state.global_step,
        "learning_rate": lr,
        "fresh_lr_scale": fresh_lr_scale if backbone.fresh_parameters else None,
        "precision": resolve_precision(config.precision),
        "eval_steps": eval_steps,
        "selection_metric": objective.selection_metric,
        "best_metric": state.best_metric,
        "best_step": _checkpoint_step(state.best_model_checkpoint),
        "early_stopped_at": early.stopped_at,
        "early_stopping": {"patience": patience, "start_step": start},
        "resumed_from_step": resumed_from,
        "wall_time_s": round(sum(a["wall_time_s"] for a in attempts), 2),
        "attempts": attempts,
        "seconds_per_step": round(wall / max(1, state.global_step - (resumed_from or 0)), 4),
    }
    model = trainer.model
    if parameters_sharded():
        # Each process holds a shard: gather the whole weights (a collective, so every process
        # asks) for rank 0 to save.
        state = trainer.accelerator.get_state_dict(trainer.model_wrapped)
        model = _WithStateDict(trainer.accelerator.unwrap_model(trainer.model), state)
    return model, summary


class _WithStateDict:
    """A model whose ``save_pretrained`` writes a given (gathered) state dict."""

    def __init__(self, model: Any, state_dict: dict[str, Any]) -> None:
        self.model = model
        self.state_dict = state_dict

    def save_pretrained(self, directory: Any, **kwargs: Any) -> None:
        self.model.save_pretrained(directory, state_dict=self.state_dict, **kwargs)


def _checkpoint_step(path: str | None) -> int | None:
    return int(path.rsplit("-", 1)[-1]) if path else None


def save_model_atomically(
    backbone: Backbone,
    model: Any,
    target: Path,
    *,
    labels: LabelSet | None = None,
    info: dict[str, Any] | None = None,
) -> None:
    """Save a trained model into a sibling temp folder, then swap it in: a crash never leaves
    half a model. ``labels`` and ``info`` (:func:`model_info`) go into the folder too, so that it
    reloads with its method's behaviour wherever it is copied."""
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with quiet_transformers():
        backbone.save(tmp, model=model, trained=True)
    if labels is not None:
        labels.save(tmp / MODEL_LABELS_FILE)
    if info is not None:
        write_model_info(tmp, info)
    old = target.with_name(target.name + ".old")
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


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


# ---------------------------------------------------------------------- the whole run
def _local_path(name: str) -> str:
    """``name`` as an absolute path when it is a local file or folder, else as given."""
    path = Path(name)
    return str(path.resolve()) if path.exists() else name


def _silent(message: str) -> None:
    """``say`` of the processes other than rank 0."""


def run_training(
    config: TrainConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    say: Say = print,
    callbacks: Sequence[Any] = (),
    held_out: Mapping[str, Sequence[Example]] | None = None,
) -> dict[str, Any]:
    """Train ``config.method`` into ``config.output``; return the run manifest.

    ``callbacks`` are extra ``transformers.TrainerCallback`` objects added to every stage.
    ``held_out``: other evaluation sets (e.g. ``{"test": examples}``) that Stage-1 rows are
    checked against, like ``--val`` (see :func:`load_training_data`).
    """
    from transformers import set_seed

    # Under torchrun / accelerate launch every process runs this function; only rank 0 writes
    # files and talks, and barriers keep the others from reading what it has not written yet.
    init_distributed()
    if config.lora_r and parameters_sharded():
        raise R2DError(
            "LoRA with sharded parameters (FSDP, DeepSpeed ZeRO-3) is not supported",
            field="lora_r (--lora-r)",
            hint="LoRA keeps the trained weights small: use DDP (configs/accelerate/ddp.yaml)",
        )
    main = is_main_process()
    if not main:
        say = _silent
    output = Path(config.output)
    prepare_output(output, resume=resume, overwrite=overwrite)
    barrier()
    stages = method_stages(config.method, config.stage)
    spec = method_spec(config.method)
    init = config.model if config.stage != "2" else resolve_init(config.init or config.model)
    run_path = output / RUN_FILE
    if resume:
        check_unchanged_data(read_json(run_path), config)
    with warnings.catch_warnings():
        if not main:
            warnings.simplefilter("ignore")
        data = load_training_data(
            config,
            needs_rationale=spec.requires_rationale,
            stages=tuple(stages),
            say=say,
            held_out=held_out,
        )
    # Cases with their own options are scored over those; only the others use the label set.
    plain = any(e.choices is None for e in (*data.train, *data.val))
    check_label_decoding(config, len(data.labels) if plain else 0)

    manifest: dict[str, Any]
    if resume:
        manifest = read_json(run_path)
        if list(data.labels) != manifest.get("labels", list(data.labels)):
            raise R2DError(
                f"the label set changed since the run started: {', '.join(manifest['labels'])} "
                f"then, {', '.join(data.labels)} now",
                path=output / LABELS_FILE,
                field="labels (--labels)",
                hint="restore the label list, or start a new run in another --output",
            )
        manifest["status"] = "running"
        manifest.setdefault("resumed_at", []).append(_now())
    else:
        manifest = {
            "reason2decide_version": __version__,
            "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
            "status": "running",
            "started_at": _now(),
            "method": config.method,
            "rationale_prompt": spec.rationale,
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
    if config.stage == "2":
        manifest["init"] = {"given": config.init or config.model, "resolved": _local_path(init)}
    if main:
        output.mkdir(parents=True, exist_ok=True)
        data.labels.save(output / LABELS_FILE)
        write_json(run_path, manifest)

    started = time.perf_counter()
    trained = False  # whether this call trained a stage (a resumed complete run trains none)
    for index, name in enumerate(stages):
        stage_dir = output / name
        model_dir = output / MODEL_DIR if index == len(stages) - 1 else stage_dir / MODEL_DIR
        done = stage_dir / STAGE_FILE
        if done.is_file() and model_dir.is_dir():
            say(f"{name}: already complete, skipping.")
            init = str(model_dir)
            continue
        set_seed(config.seed)
        backbone = load_backbone(
            init,
            max_input_length=config.max_input_length,
            max_target_length=config.max_target_length,
            input_truncation=config.input_truncation,
            prompt_format=config.prompt_format,
            repeat_task=config.repeat_task,
        )
        lora = None
        if config.lora_r:
            from reason2decide.training.lora import apply_lora

            lora = apply_lora(
                backbone,
                r=config.lora_r,
                alpha=config.lora_alpha,
                dropout=config.lora_dropout,
                target_modules=config.lora_target_modules,
            )
            say(
                f"{name}: LoRA r={config.lora_r} on {lora['adapted_layers']} layers, "
                f"{lora['trainable_parameters'] / 1e6:.2f}M trainable parameters"
            )
        say(
            f"{name}: {backbone.name} ({backbone.num_parameters() / 1e6:.1f}M parameters), "
            f"{len(data.for_stage(name)[0])} training / {len(data.for_stage(name)[1])} "
            "validation examples, "
            f"{len(data.labels)} labels "
            f"({'scored' if config.label_decoding == 'score' else 'generated as free text'})"
        )
        train_part, val_part = data.for_stage(name)
        truncation = report_truncation(
            backbone,
            name,
            spec.rationale,
            {"train": train_part, "val": val_part},
            requested_input=config.max_input_length,
            requested_target=config.max_target_length,
            say=say,
        )
        model, summary = train_stage(
            name, backbone, data, config, stage_dir, output / LOG_FILE, callbacks
        )
        trained = True
        summary["init"] = init
        summary["truncation"] = truncation
        summary["model_dir"] = str(model_dir.relative_to(output))
        if lora is not None:
            from reason2decide.training.lora import merge_lora

            summary["lora"] = {**lora, "saved": "merged into the weights"}
            model = merge_lora(model)
        if main:
            save_model_atomically(
                backbone,
                model,
                model_dir,
                labels=data.labels,
                info=model_info(config, name, spec.rationale),
            )
            write_json(done, summary)
            manifest["stages"][name] = summary
            manifest["token_limits"] = truncation["limits"]
            write_json(run_path, manifest)
            if not config.keep_checkpoints:
                for checkpoint in stage_dir.glob("checkpoint-*"):
                    shutil.rmtree(checkpoint, ignore_errors=True)
        barrier()  # the next stage loads the model rank 0 has just saved
        init = str(model_dir)
        metric = summary["best_metric"]
        say(
            f"{name}: done in {summary['wall_time_s']:.0f} s, best {summary['selection_metric']}"
            f" = {metric if metric is None else round(metric, 4)} at step {summary['best_step']}"
        )

    manifest["status"] = "complete"
    manifest["finished_at"] = _now()
    manifest["wall_time_s"] = round(
        sum(s.get("wall_time_s", 0.0) for s in manifest["stages"].values()), 2
    )
    manifest["last_attempt_wall_time_s"] = round(time.perf_counter() - started, 2)
    if main:
        write_json(run_path, manifest)
        facts = card_facts(manifest)
        earlier = read_card_facts(output / MODEL_DIR)
        if not trained and earlier:  # nothing retrained: the card's test metrics still hold
            facts["evaluation"] = earlier.get("evaluation")
        write_model_card(output / MODEL_DIR, facts)
    return manifest
