"""What every training method provides: a loss on a batch of examples and a validation score.

A method is one or more *objectives* run one after the other (Reason2Decide: Stage 1, then
Stage 2), each trained by the same trainer. Objectives ask the backbone for losses, scores and
generations; they never touch tokenizers or model internals.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from reason2decide.backbones import Backbone
from reason2decide.data.choices import option_index
from reason2decide.data.example import Example
from reason2decide.distributed import gather_shards, shard
from reason2decide.methods.label_decoding import case_choices, predict_labels_eval
from reason2decide.prompts import explain_prompt


@dataclass
class StepOutput:
    """The loss to back-propagate and scalar diagnostics to log (averaged between logs)."""

    loss: torch.Tensor
    logs: dict[str, float] = field(default_factory=dict)


class Objective(ABC):
    """One training phase: its loss, how its checkpoints are ranked, and when it stops early."""

    #: Name written into every log line of this phase.
    stage: str = ""
    #: Validation metric that ranks checkpoints (``eval_`` prefixed in trainer logs).
    selection_metric: str = ""
    greater_is_better: bool = True

    def __init__(
        self,
        backbone: Backbone,
        labels: Sequence[str],
        *,
        label_decoding: str = "score",
        eval_batch_size: int = 32,
        seed: int = 0,
    ) -> None:
        self.backbone = backbone
        self.labels = list(labels)
        self.label_decoding = label_decoding
        self.eval_batch_size = eval_batch_size
        self.seed = seed

    @abstractmethod
    def compute_loss(
        self, model: nn.Module, examples: Sequence[Example], step: int, micro_batch: int = 0
    ) -> StepOutput:
        """The loss of one batch at optimisation step ``step`` (0-based); ``micro_batch`` is the
        batch's index among the micro-batches that step accumulates (0 without accumulation)."""

    @abstractmethod
    def validate(self, model: nn.Module, examples: Sequence[Example]) -> dict[str, float]:
        """Validation metrics (without prefix); must contain :attr:`selection_metric`."""

    def early_stopping(self, max_steps: int) -> tuple[int, int]:
        """``(patience, first_step)``: evaluations without improvement tolerated, counted from
        ``first_step`` on. Patience 0 disables early stopping."""
        return 0, 0

    def schedule_logs(self, step: int) -> dict[str, float]:
        """Schedule values at ``step`` for plots (none by default)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Training state beyond the model (saved with checkpoints, restored on resume)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Restore what :meth:`state_dict` returned."""

    # ------------------------------------------------------------------ shared validators
    @torch.no_grad()
    def rationale_loss(self, model: nn.Module, examples: Sequence[Example]) -> dict[str, float]:
        """Token-averaged cross-entropy of gold rationales after ``explain: x``.

        In a multi-process run each process takes every n-th batch and the sums are gathered:
        the result equals a one-process run's.
        """
        was_training = model.training
        model.eval()
        local = []
        try:
            batches = batched([e for e in examples if e.rationale], self.eval_batch_size)
            for index, chunk in shard(batches):
                sums = self.backbone.loss_sum_and_count(
                    model, [explain_prompt(e.question) for e in chunk], [e.rationale for e in chunk]
                )
                local.append((index, sums))
        finally:
            model.train(was_training)
        total, count = 0.0, 0
        for s, n in gather_shards(local):
            total, count = total + s, count + n
        loss = total / count if count else math.nan
        return {"rationale_loss": loss}

    @torch.no_grad()
    def label_scores(self, model: nn.Module, examples: Sequence[Example]) -> dict[str, float]:
        """Accuracy and macro-F1 of the predicted labels: over the label set, or over answer
        positions for cases with their own options (see :func:`decision_scores`).

        In a multi-process run each process predicts every n-th batch and the labels are
        gathered: the result equals a one-process run's.
        """
        local = []
        for index, chunk in shard(batched(list(examples), self.eval_batch_size)):
            out = predict_labels_eval(
                self.backbone,
                model,
                [e.question for e in chunk],
                self.labels,
                decoding=self.label_decoding,
                choices=case_choices(chunk),
            )
            local.append((index, out.labels))
        predicted = [label for part in gather_shards(local) for label in part]
        return decision_scores(examples, predicted, self.labels)


def decision_scores(
    examples: Sequence[Example], predicted: Sequence[str], labels: Sequence[str]
) -> dict[str, float]:
    """Accuracy and macro-F1 of ``predicted`` against the examples' gold labels.

    Cases with their own options are scored by answer position (macro-F1 over A, B, ...),
    the others over ``labels``; in a set that mixes both, macro-F1 is the two macro-F1s
    weighted by their case counts.
    """
    from reason2decide.label_metrics import choice_metrics, label_metrics

    with_options = [i for i, e in enumerate(examples) if e.choices is not None]
    plain = [i for i, e in enumerate(examples) if e.choices is None]
    correct = sum(e.label == p for e, p in zip(examples, predicted, strict=True))
    parts: list[tuple[int, float]] = []
    if with_options:
        chosen = [examples[i] for i in with_options]
        metrics = choice_metrics(
            [option_position(e.label, e.choices) for e in chosen],  # type: ignore[arg-type]
            [option_index(predicted[i], examples[i].choices or ()) for i in with_options],
            [len(e.choices or ()) for e in chosen],
        )
        parts.append((len(with_options), metrics["macro_f1"]))
    if plain:
        metrics = label_metrics(
            [examples[i].label for i in plain], [predicted[i] for i in plain], labels
        )
        parts.append((len(plain), metrics["macro_f1"]))
    macro_f1 = sum(n * f for n, f in parts) / len(examples)
    return {"accuracy": correct / len(examples), "macro_f1": macro_f1}


def option_position(label: str, choices: Sequence[str]) -> int:
    """The position of a case's gold option (the reader made the label one of its options)."""
    position = option_index(label, choices)
    if position is None:
        raise ValueError(f"gold label {label!r} is none of the case's options")
    return position


def batched(items: Sequence, size: int) -> list[Sequence]:
    """Consecutive chunks of ``items`` of at most ``size`` elements."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def draw_generator(seed: int, step: int, micro_batch: int = 0) -> torch.Generator:
    """A generator for the per-example draws of one micro-batch, seeded from (seed, step, rank,
    micro_batch): reproducible for a seed, unaffected by resuming, and different across the
    ranks of a distributed run and across the micro-batches of one accumulated step."""
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
    entropy = [seed, step, rank, micro_batch]
    state = np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & 0x7FFF_FFFF_FFFF_FFFF)
