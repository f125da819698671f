"""SFT baseline: label-only fine-tuning, ``predict: x -> y``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from reason2decide.data.example import Example
from reason2decide.methods.base import Objective, StepOutput
from reason2decide.prompts import predict_prompt


@dataclass
class SFTConfig:
    """Reference SFT: early stopping with patience 5 on validation macro-F1."""

    patience: int = 5


class SFTObjective(Objective):
    """Cross-entropy of the label after ``predict: x``; no rationale is learnt."""

    stage = "sft"
    selection_metric = "macro_f1"
    greater_is_better = True

    def __init__(self, *args, config: SFTConfig | None = None, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.config = config or SFTConfig()

    def compute_loss(
        self, model: nn.Module, examples: Sequence[Example], step: int, micro_batch: int = 0
    ) -> StepOutput:
        loss = self.backbone.loss(
            model, [predict_prompt(e.question) for e in examples], [e.label for e in examples]
        )
        return StepOutput(loss, {"loss_pred": float(loss.detach())})

    def validate(self, model: nn.Module, examples: Sequence[Example]) -> dict[str, float]:
        return self.label_scores(model, examples)

    def early_stopping(self, max_steps: int) -> tuple[int, int]:
        return self.config.patience, 0
