"""The ``transformers.Trainer`` subclass that trains any :class:`Objective`.

Mixed precision, gradient accumulation, checkpoint/resume, logging integrations and
``torchrun``/``accelerate launch`` come from ``Trainer``; the loss and the validation score
come from the objective.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import Dataset
from transformers import Trainer

from reason2decide.data.example import Example
from reason2decide.hardware import autocast
from reason2decide.methods.base import Objective


class ExampleDataset(Dataset):
    """A list of examples as a map-style dataset; batches stay lists of ``Example``."""

    def __init__(self, examples: Sequence[Example]) -> None:
        self.examples = list(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> Example:
        return self.examples[index]


def collate_examples(batch: list[Example]) -> dict[str, Any]:
    """Keep raw examples: the objective builds its prompts (which depend on the model) itself."""
    return {"examples": batch}


class ObjectiveTrainer(Trainer):
    """Trains ``objective`` and ranks checkpoints by its validation metric on ``val_examples``."""

    def __init__(
        self,
        *,
        objective: Objective,
        val_examples: Sequence[Example],
        precision: str = "fp32",
        fresh_parameters: tuple[str, ...] = (),
        fresh_lr_scale: float = 1.0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("data_collator", collate_examples)
        super().__init__(**kwargs)
        self.objective = objective
        self.val_examples = list(val_examples)
        # Our own autocast: accelerate does not apply CPU autocast around compute_loss, and the
        # objectives call the model beyond forward() (encoder-only scoring, generation).
        self.precision = precision
        self.fresh_parameters = fresh_parameters
        self.fresh_lr_scale = fresh_lr_scale
        # compute_loss returns a per-batch mean: let Trainer scale it for gradient accumulation.
        self.model_accepts_loss_kwargs = False
        self._log_sums: dict[str, float] = defaultdict(float)
        self._log_counts: dict[str, int] = defaultdict(int)

    def create_optimizer(self, model: torch.nn.Module | None = None) -> torch.optim.Optimizer:
        """Trainer's AdamW, with parameters that were not pretrained in their own groups at
        ``fresh_lr_scale`` times the learning rate."""
        optimizer = super().create_optimizer(model)
        if self.fresh_lr_scale == 1.0 or not self.fresh_parameters:
            return optimizer
        source = self.model if model is None else model
        fresh = {
            id(p)
            for n, p in source.named_parameters()
            if any(fragment in n for fragment in self.fresh_parameters)
        }
        groups = []
        for group in optimizer.param_groups:
            params = group["params"]
            rest = [p for p in params if id(p) not in fresh]
            new = [p for p in params if id(p) in fresh]
            groups.append({**group, "params": rest})
            if new:
                groups.append({**group, "params": new, "lr": group["lr"] * self.fresh_lr_scale})
        optimizer.param_groups.clear()
        for group in groups:
            if group["params"]:
                optimizer.add_param_group(group)
        return optimizer

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        with autocast(self.precision, self.args.device):
            out = self.objective.compute_loss(model, inputs["examples"], self.state.global_step)
        for key, value in out.logs.items():
            self._log_sums[key] += value
            self._log_counts[key] += 1
        return (out.loss, None) if return_outputs else out.loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs:
            for key, total in self._log_sums.items():
                logs[key] = total / self._log_counts[key]
            self._log_sums.clear()
            self._log_counts.clear()
        super().log(logs, start_time)

    def evaluate(
        self,
        eval_dataset: Any = None,
        ignore_keys: list[str] | None = None,
        metric_key_prefix: str = "eval",
    ) -> dict[str, float]:
        started = time.perf_counter()
        with autocast(self.precision, self.args.device):
            values = self.objective.validate(self.model, self.val_examples)
        metrics = {f"{metric_key_prefix}_{k}": float(v) for k, v in values.items()}
        metrics[f"{metric_key_prefix}_runtime"] = round(time.perf_counter() - started, 3)
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(
            self.args, self.state, self.control, metrics=metrics
        )
        return metrics
