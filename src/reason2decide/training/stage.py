"""One stage of a run: the backbone it trains (seeded, with LoRA adapters if asked) and the
``Trainer`` that trains one objective on it, with early stopping, checkpoints to resume from,
the log, and the model of its best checkpoint at the end."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reason2decide.backbones import Backbone, load_backbone, quiet_transformers
from reason2decide.data.training_data import TrainingData
from reason2decide.distributed import barrier, is_main_process
from reason2decide.hardware import resolve_precision
from reason2decide.io import read_json, write_json
from reason2decide.training.config import TrainConfig
from reason2decide.training.manifest import total_or_none
from reason2decide.training.objectives import build_objective
from reason2decide.training.output import ATTEMPTS_FILE
from reason2decide.training.saving import model_to_save


def load_stage_backbone(
    name: str, start: str, config: TrainConfig, say: Callable[[str], None]
) -> tuple[Backbone, dict[str, Any] | None]:
    """The backbone objective ``name`` trains, loaded from ``start`` after seeding, and the
    LoRA facts (``None`` without ``--lora-r``)."""
    from transformers import set_seed

    set_seed(config.seed)
    backbone = load_backbone(
        start,
        max_input_length=config.max_input_length,
        max_target_length=config.max_target_length,
        input_truncation=config.input_truncation,
        prompt_format=config.prompt_format,
        repeat_task=config.repeat_task,
        option_scoring=config.option_scoring,
    )
    backbone.vocab_projection = config.vocab_projection
    backbone.length_passes = config.length_passes
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
    return backbone, lora


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
    say: Callable[[str], None] = print,
) -> tuple[Any, dict[str, Any]]:
    """Train one objective, resuming from its newest complete checkpoint if it has one; return
    the (best) model and the stage summary."""
    import torch
    from transformers import PrinterCallback, ProgressCallback, TrainingArguments

    from reason2decide.training.callbacks import (
        DelayedEarlyStopping,
        EvaluateAtEnd,
        JsonlLog,
        SaveNewBest,
        SaveObjectiveState,
        StageProgress,
        load_objective_state,
        truncate_log,
    )
    from reason2decide.training.checkpoints import (
        MarkCheckpointComplete,
        last_complete_checkpoint,
    )
    from reason2decide.training.trainer import ExampleDataset, ObjectiveTrainer

    first = name == "stage1"
    max_steps = config.stage1_max_steps if first else config.max_steps
    lr = (config.stage1_lr or config.lr) if first else config.lr
    eval_steps = (config.stage1_eval_steps or config.eval_steps) if first else config.eval_steps
    eval_steps = min(eval_steps, max_steps)
    save_steps = min(config.save_steps or eval_steps, max_steps)
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
    # Set after construction: TrainingArguments refuses a save interval that is not a multiple of
    # the evaluation interval when the best checkpoint is loaded at the end, since an improving
    # evaluation could then go unsaved; SaveNewBest saves each one.
    args.save_steps = save_steps
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
        dropout_masks=config.dropout_masks,
        callbacks=[
            early,
            EvaluateAtEnd(),
            SaveNewBest(objective.selection_metric, objective.greater_is_better),
            JsonlLog(log_path, name, objective.schedule_logs),
            StageProgress(name, objective.selection_metric),
            SaveObjectiveState(objective),
            *callbacks,
            MarkCheckpointComplete(),  # last: after every callback that writes into the checkpoint
        ],
    )
    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)

    last = last_complete_checkpoint(stage_dir, say, remove=is_main_process())
    barrier()  # every process has chosen before rank 0's removal can change what they see
    checkpoint = str(last) if last is not None else None
    resumed_from = int(checkpoint.rsplit("-", 1)[-1]) if checkpoint else None
    if checkpoint:
        load_objective_state(objective, Path(checkpoint))
    if is_main_process():
        truncate_log(log_path, name, resumed_from if resumed_from is not None else -1)
    attempts_file = stage_dir / ATTEMPTS_FILE
    earlier = read_json(attempts_file) if checkpoint and attempts_file.is_file() else []
    started, cpu_started = time.perf_counter(), time.process_time()

    def attempt(completed: bool) -> dict[str, Any]:
        return {
            "wall_time_s": round(time.perf_counter() - started, 2),
            "cpu_time_s": round(time.process_time() - cpu_started, 2),
            "completed": completed,
        }

    try:
        with quiet_transformers():
            trainer.train(resume_from_checkpoint=checkpoint)
    except BaseException:
        # Keep the time of an interrupted attempt, so a resumed run reports its whole cost.
        if is_main_process():
            write_json(attempts_file, [*earlier, attempt(completed=False)])
        raise
    wall = time.perf_counter() - started
    attempts = [*earlier, attempt(completed=True)]
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
        "save_steps": save_steps,
        "selection_metric": objective.selection_metric,
        "best_metric": state.best_metric,
        "best_step": _checkpoint_step(state.best_model_checkpoint),
        "early_stopped_at": early.stopped_at,
        "early_stopping": {"patience": patience, "start_step": start},
        "resumed_from_step": resumed_from,
        "wall_time_s": round(sum(a["wall_time_s"] for a in attempts), 2),
        "cpu_time_s": total_or_none(a.get("cpu_time_s") for a in attempts),
        "attempts": attempts,
        "seconds_per_step": round(wall / max(1, state.global_step - (resumed_from or 0)), 4),
    }
    return model_to_save(trainer), summary


def _checkpoint_step(path: str | None) -> int | None:
    return int(path.rsplit("-", 1)[-1]) if path else None
