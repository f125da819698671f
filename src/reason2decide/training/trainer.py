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
from reason2decide.distributed import gather_objects
from reason2decide.hardware import autocast
from reason2decide.methods.base import Objective
from reason2decide.training.dropout_masks import dropout_masks
from reason2decide.training.host_memory import blocks_returned


class ExampleDataset(Dataset):
    """A list of examples as a map-style dataset; batches stay lists of ``Example``."""

    def __init__(self, examples: Sequence[Example]) -> None:
        self.examples = list(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> Example:
        return self.examples[index]


class LengthGroupedSampler(torch.utils.data.Sampler[int]):
    """A shuffle in which each run of ``batch_size`` indices holds examples of similar length.

    Each epoch: shuffle, cut into groups of ``group_batches`` batches, sort each group by
    length and cut it into batches, then shuffle the full batches (the longest one goes first,
    so that running out of memory happens at once, not hours in; a short last batch stays
    last). Batches carry less padding; the
    order is reproducible for ``(seed, epoch)`` and the same in every process of a distributed
    run (accelerate then deals the batches out to the processes).
    """

    def __init__(
        self, lengths: Sequence[int], batch_size: int, seed: int, group_batches: int = 50
    ) -> None:
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.group_batches = group_batches
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by the Trainer at the start of every epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Any:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.lengths), generator=generator).tolist()
        size, step = self.batch_size * self.group_batches, self.batch_size
        batches = []
        for start in range(0, len(order), size):
            group = sorted(order[start : start + size], key=lambda i: -self.lengths[i])
            batches += [group[i : i + step] for i in range(0, len(group), step)]
        # Only the last group can end in a short batch: it stays last, so that the data loader,
        # which cuts this stream every batch_size indices, cuts it where the groups were cut.
        full = [b for b in batches if len(b) == step]
        short = [b for b in batches if len(b) < step]
        full = [full[i] for i in torch.randperm(len(full), generator=generator).tolist()]
        if full:
            longest = max(range(len(full)), key=lambda b: max(self.lengths[i] for i in full[b]))
            full[0], full[longest] = full[longest], full[0]
        return iter([i for batch in full + short for i in batch])


def example_length(example: Example) -> int:
    """Characters of the question and rationale: a tokenizer-free proxy of an example's tokens."""
    return len(example.question) + len(example.rationale or "")


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
        group_by_length: bool = False,
        dropout_masks: str = "torch",
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
        self.group_by_length = group_by_length
        self.dropout_masks = dropout_masks
        # compute_loss returns a per-batch mean: let Trainer scale it for gradient accumulation.
        self.model_accepts_loss_kwargs = False
        self._log_sums: dict[str, float] = defaultdict(float)
        self._log_counts: dict[str, int] = defaultdict(int)
        # (optimizer step, micro-batches of it seen so far): which micro-batch of an
        # accumulated step compute_loss is given, so that each draws its own coins.
        self._micro_batches = (-1, 0)

    def _get_train_sampler(self, train_dataset: Any = None) -> Any:
        """:class:`LengthGroupedSampler` with ``group_by_length``, else Trainer's shuffle."""
        dataset = self.train_dataset if train_dataset is None else train_dataset
        if not self.group_by_length or not isinstance(dataset, ExampleDataset):
            return super()._get_train_sampler(train_dataset)
        return LengthGroupedSampler(
            [example_length(e) for e in dataset.examples],
            self.args.per_device_train_batch_size,
            seed=self.args.data_seed if self.args.data_seed is not None else self.args.seed,
        )

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
        step = self.state.global_step
        seen_step, seen = self._micro_batches
        micro_batch = seen if seen_step == step else 0
        self._micro_batches = (step, micro_batch + 1)
        with autocast(self.precision, self.args.device), dropout_masks(self.dropout_masks):
            out = self.objective.compute_loss(model, inputs["examples"], step, micro_batch)
        for key, value in out.logs.items():
            self._log_sums[key] += value
            self._log_counts[key] += 1
        return (out.loss, None) if return_outputs else out.loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs:
            # Every process logs a training line at the same step (Trainer averages "loss" over
            # them): average the objective's diagnostics over all processes' batches the same way.
            sums: dict[str, float] = defaultdict(float)
            counts: dict[str, int] = defaultdict(int)
            for part_sums, part_counts in gather_objects(
                (dict(self._log_sums), dict(self._log_counts))
            ):
                for key, total in part_sums.items():
                    sums[key] += total
                    counts[key] += part_counts[key]
            for key, total in sums.items():
                logs[key] = total / counts[key]
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
        with autocast(self.precision, self.args.device), blocks_returned():
            values = self.objective.validate(self.model, self.val_examples)
        metrics = {f"{metric_key_prefix}_{k}": float(v) for k, v in values.items()}
        metrics[f"{metric_key_prefix}_runtime"] = round(time.perf_counter() - started, 3)
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(
            self.args, self.state, self.control, metrics=metrics
        )
        return metrics

    def _load_best_model(self) -> None:
        """Trainer's reload of the best checkpoint, skipped when the best is the last step: the
        model in memory is then the one that checkpoint was saved from (no step since), and
        reading it back would only hold a second copy of every weight in memory and take time."""
        if self.state.best_global_step == self.state.global_step:
            return
        super()._load_best_model()
