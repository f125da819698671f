"""Trainer callbacks: delayed early stopping, a last evaluation, the JSONL log, progress."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.trainer_callback import ExportableState


def eval_key(metric: str) -> str:
    """The key of ``metric`` in the Trainer's evaluation metrics (``eval_`` prefixed)."""
    return metric if metric.startswith("eval_") else f"eval_{metric}"


def improves(value: float, best: float | None, greater_is_better: bool) -> bool:
    """Whether ``value`` beats ``best`` (anything beats no best yet)."""
    return best is None or (value > best if greater_is_better else value < best)


class DelayedEarlyStopping(TrainerCallback, ExportableState):
    """Stop after ``patience`` evaluations without improvement, counting only from ``start_step``.

    Stage 1 uses start 0 and patience 3; Stage 2 starts counting at W + M with patience 5.
    Its counters are saved in checkpoints so that a resumed run stops where the original would.
    """

    def __init__(
        self,
        metric: str,
        greater_is_better: bool,
        patience: int,
        start_step: int = 0,
        best: float | None = None,
        bad_evals: int = 0,
    ) -> None:
        self.metric = eval_key(metric)
        self.greater_is_better = greater_is_better
        self.patience = patience
        self.start_step = start_step
        self.best = best
        self.bad_evals = bad_evals
        self.stopped_at: int | None = None

    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        if self.patience <= 0 or state.global_step < self.start_step or not metrics:
            return
        value = metrics.get(self.metric)
        if value is None or math.isnan(value):
            return
        if improves(value, self.best, self.greater_is_better):
            self.best, self.bad_evals = value, 0
        else:
            self.bad_evals += 1
        if self.bad_evals >= self.patience:
            control.should_training_stop = True
            self.stopped_at = state.global_step

    def state(self) -> dict[str, Any]:
        return {
            "args": {
                "metric": self.metric,
                "greater_is_better": self.greater_is_better,
                "patience": self.patience,
                "start_step": self.start_step,
                "best": self.best,
                "bad_evals": self.bad_evals,
            },
            "attributes": {},
        }


class EvaluateAtEnd(TrainerCallback):
    """Evaluate and save at the last step, so the best-checkpoint choice sees the final model."""

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if state.global_step >= state.max_steps:
            control.should_evaluate = True
            control.should_save = True


class SaveNewBest(TrainerCallback):
    """Save a checkpoint at every evaluation that improves the selection metric.

    With checkpoints every ``--save-steps`` independent of evaluation, an improving evaluation
    may fall between two saves; its checkpoint is what ``load_best_model_at_end`` takes back at
    the end, and the checkpoint rotation keeps it. (The Trainer itself refuses save intervals
    that are not a multiple of the evaluation interval for this reason.)
    """

    def __init__(self, metric: str, greater_is_better: bool) -> None:
        self.metric = eval_key(metric)
        self.greater_is_better = greater_is_better

    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        value = (metrics or {}).get(self.metric)
        if value is None:
            return
        # the Trainer records the new best just after this hook: compare with the old one
        if improves(value, state.best_metric, self.greater_is_better):
            control.should_save = True


class JsonlLog(TrainerCallback):
    """Append every log event (training and evaluation) to ``log_history.jsonl`` with its stage.

    ``extra`` adds schedule values (α, p) to training lines.
    """

    def __init__(self, path: Path, stage: str, schedule: Any = None) -> None:
        self.path = Path(path)
        self.stage = stage
        self.schedule = schedule

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not state.is_world_process_zero or not logs:
            return
        row: dict[str, Any] = {"stage": self.stage, "step": state.global_step}
        if self.schedule is not None and "loss" in logs:
            for key, value in self.schedule(state.global_step).items():
                logs.setdefault(key, value)
        row.update(logs)
        if "train_loss" in logs:
            # The Trainer averages only the steps of its own attempt (divided by all steps): a
            # resumed run would report a smaller loss than the same run uninterrupted.
            row["train_loss"] = logged_mean_loss(self.path, self.stage)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")


def logged_mean_loss(path: Path, stage: str) -> float | None:
    """The mean training loss of ``stage`` over the steps its logged losses cover: each logged
    loss is the mean since the line before, so it weighs as many steps as it covers. The same
    for a run resumed any number of times as for one never stopped."""
    if not path.is_file():
        return None
    total = covered = 0.0
    last = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("stage") != stage or "loss" not in row:
                continue
            steps = int(row["step"]) - last
            total += float(row["loss"]) * steps
            covered += steps
            last = int(row["step"])
    return total / covered if covered else None


def truncate_log(path: Path, stage: str, after_step: int) -> None:
    """Drop the lines of ``stage`` logged after ``after_step`` (they are replayed on resume)."""
    if not path.is_file():
        return
    from reason2decide.io import atomic_open

    kept = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by the interruption
            if row.get("stage") == stage and int(row.get("step", 0)) > after_step:
                continue
            kept.append(line if line.endswith("\n") else line + "\n")
    with atomic_open(path) as handle:
        handle.writelines(kept)


class StageProgress(TrainerCallback):
    """One progress bar per stage with the latest loss, α, p and validation score."""

    def __init__(self, stage: str, metric: str) -> None:
        self.stage = stage
        self.metric = eval_key(metric)
        self.bar: tqdm | None = None
        self.postfix: dict[str, str] = {}

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if state.is_world_process_zero:
            self.bar = tqdm(total=state.max_steps, desc=self.stage, dynamic_ncols=True)
            self.bar.update(state.global_step)

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if self.bar is None or not logs:
            return
        for key, short in (("loss", "loss"), ("alpha", "α"), ("p_pred", "p"), (self.metric, "val")):
            if key in logs and isinstance(logs[key], (int, float)):
                self.postfix[short] = f"{logs[key]:.4g}"
        self.bar.set_postfix(self.postfix, refresh=False)

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


OBJECTIVE_STATE_FILE = "objective_state.json"


class SaveObjectiveState(TrainerCallback):
    """Write the objective's own state (e.g. Reason2Decide-C's running threshold) into each
    checkpoint, so that a resumed run continues with it."""

    def __init__(self, objective: Any) -> None:
        self.objective = objective

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        payload = self.objective.state_dict()
        if not payload or not state.is_world_process_zero:
            return
        from reason2decide.io import write_json

        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            write_json(folder / OBJECTIVE_STATE_FILE, payload)


def load_objective_state(objective: Any, checkpoint: Path) -> None:
    """Restore what :class:`SaveObjectiveState` wrote into ``checkpoint``, if anything."""
    path = Path(checkpoint) / OBJECTIVE_STATE_FILE
    if path.is_file():
        objective.load_state_dict(json.loads(path.read_text(encoding="utf-8")))
