"""Reason2Decide (Hasan et al., 2025): Stage 1 rationale pretraining, Stage 2 joint training
with task-level scheduled sampling of the label the rationale is conditioned on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from reason2decide.data.example import Example
from reason2decide.methods.base import Objective, StepOutput, draw_generator
from reason2decide.methods.label_decoding import (
    case_choices,
    predict_labels,
    predict_labels_eval,
)
from reason2decide.methods.schedules import Stage2Schedule
from reason2decide.prompts import conditioned_explain_prompt, explain_prompt, predict_prompt


@dataclass
class Stage1Config:
    """Stage 1: ``explain: x -> r``; checkpoints ranked by validation rationale loss."""

    patience: int = 3


@dataclass
class Stage2Config:
    """Stage 2 constants, paper values by default."""

    alpha: float = 0.7
    warmup_fraction: float = 0.05
    ramp_fraction: float = 0.6
    p_max: float = 0.9
    sampling: bool = True
    patience: int = 5
    #: Reference quirk: predict the sampled labels with dropout on (train mode).
    sampling_dropout: bool = False
    #: Token limit when sampled labels are generated (the reference uses 50).
    sampling_max_new_tokens: int | None = None


class Stage1Objective(Objective):
    """Rationale pretraining: cross-entropy of ``explain: x -> r``."""

    stage = "stage1"
    selection_metric = "rationale_loss"
    greater_is_better = False

    def __init__(self, *args, config: Stage1Config | None = None, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.config = config or Stage1Config()

    def compute_loss(
        self, model: nn.Module, examples: Sequence[Example], step: int, micro_batch: int = 0
    ) -> StepOutput:
        loss = self.backbone.loss(
            model, [explain_prompt(e.question) for e in examples], [e.rationale for e in examples]
        )
        return StepOutput(loss, {"loss_expl": float(loss.detach())})

    def validate(self, model: nn.Module, examples: Sequence[Example]) -> dict[str, float]:
        return self.rationale_loss(model, examples)

    def early_stopping(self, max_steps: int) -> tuple[int, int]:
        return self.config.patience, 0


class Stage2Objective(Objective):
    """``L = α·L_pred + (1−α)·L_expl``; the explain prompt carries the model's own label with
    probability p(step), drawn per example, and the gold label otherwise."""

    stage = "stage2"
    selection_metric = "macro_f1"
    greater_is_better = True

    def __init__(  # type: ignore[no-untyped-def]
        self, *args, max_steps: int, config: Stage2Config | None = None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.config = config or Stage2Config()
        c = self.config
        self.schedule = Stage2Schedule(
            max_steps=max_steps,
            alpha_max=c.alpha,
            warmup_fraction=c.warmup_fraction,
            ramp_fraction=c.ramp_fraction,
            p_max=c.p_max,
            sampling=c.sampling,
        )

    def sampled_labels(
        self,
        model: nn.Module,
        examples: Sequence[Example],
        p: float,
        step: int,
        micro_batch: int = 0,
    ) -> tuple[list[str], dict[str, float]]:
        """The label each explain prompt is conditioned on, and sampling diagnostics."""
        gold = [e.label for e in examples]
        if p <= 0.0:
            return gold, {"frac_predicted": 0.0}
        questions = [e.question for e in examples]
        options = {
            "decoding": self.label_decoding,
            "max_new_tokens": self.config.sampling_max_new_tokens,
            "choices": case_choices(examples),
        }
        if self.config.sampling_dropout:
            predicted = predict_labels(self.backbone, model, questions, self.labels, **options)
        else:
            predicted = predict_labels_eval(self.backbone, model, questions, self.labels, **options)
        draws = draw_generator(self.seed, step, micro_batch)
        use = torch.rand(len(examples), generator=draws) < p
        chosen = [
            pr if u else g for pr, g, u in zip(predicted.labels, gold, use.tolist(), strict=True)
        ]
        agree = sum(pr == g for pr, g in zip(predicted.labels, gold, strict=True)) / len(gold)
        return chosen, {"frac_predicted": float(use.float().mean()), "train_pred_accuracy": agree}

    def compute_loss(
        self, model: nn.Module, examples: Sequence[Example], step: int, micro_batch: int = 0
    ) -> StepOutput:
        alpha, p = self.schedule.alpha(step), self.schedule.p_pred(step)
        cond_labels, logs = self.sampled_labels(model, examples, p, step, micro_batch)
        questions = [e.question for e in examples]
        loss_pred = self.backbone.loss(
            model, [predict_prompt(q) for q in questions], [e.label for e in examples]
        )
        loss_expl = self.backbone.loss(
            model,
            [conditioned_explain_prompt(y, q) for y, q in zip(cond_labels, questions, strict=True)],
            [e.rationale for e in examples],
        )
        loss = alpha * loss_pred + (1.0 - alpha) * loss_expl
        logs.update(
            alpha=alpha,
            p_pred=p,
            loss_pred=float(loss_pred.detach()),
            loss_expl=float(loss_expl.detach()),
        )
        return StepOutput(loss, logs)

    def validate(self, model: nn.Module, examples: Sequence[Example]) -> dict[str, float]:
        return self.label_scores(model, examples)

    def early_stopping(self, max_steps: int) -> tuple[int, int]:
        return self.config.patience, self.schedule.early_stopping_start

    def schedule_logs(self, step: int) -> dict[str, float]:
        return {"alpha": self.schedule.alpha(step), "p_pred": self.schedule.p_pred(step)}
