"""Distilling step-by-step (Hsieh et al., 2023): ``predict: x -> y`` and ``explain: x -> r`` in
one model, ``L = α·L_y + (1−α)·L_r`` with α = 0.5. The rationale never sees a label."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from reason2decide.data.example import Example
from reason2decide.methods.base import Objective, StepOutput
from reason2decide.prompts import explain_prompt, predict_prompt


@dataclass
class DSSConfig:
    """DSS constants: the label-loss weight and the early-stopping patience."""

    alpha: float = 0.5
    patience: int = 5


class DSSObjective(Objective):
    """Multi-task label + unconditioned rationale; checkpoints ranked by validation macro-F1."""

    stage = "dss"
    selection_metric = "macro_f1"
    greater_is_better = True

    def __init__(self, *args, config: DSSConfig | None = None, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.config = config or DSSConfig()

    def compute_loss(
        self, model: nn.Module, examples: Sequence[Example], step: int, micro_batch: int = 0
    ) -> StepOutput:
        questions = [e.question for e in examples]
        loss_pred = self.backbone.loss(
            model, [predict_prompt(q) for q in questions], [e.label for e in examples]
        )
        loss_expl = self.backbone.loss(
            model, [explain_prompt(q) for q in questions], [e.rationale for e in examples]
        )
        alpha = self.config.alpha
        loss = alpha * loss_pred + (1.0 - alpha) * loss_expl
        return StepOutput(
            loss,
            {
                "alpha": alpha,
                "loss_pred": float(loss_pred.detach()),
                "loss_expl": float(loss_expl.detach()),
            },
        )

    def validate(self, model: nn.Module, examples: Sequence[Example]) -> dict[str, float]:
        return self.label_scores(model, examples)

    def early_stopping(self, max_steps: int) -> tuple[int, int]:
        return self.config.patience, 0
