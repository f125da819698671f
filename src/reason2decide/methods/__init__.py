"""Training methods. A method is a sequence of objectives trained one after the other."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reason2decide.errors import R2DError
from reason2decide.methods.base import Objective, StepOutput
from reason2decide.methods.r2d import Stage1Config, Stage1Objective, Stage2Config, Stage2Objective

if TYPE_CHECKING:
    from reason2decide.backbones import Backbone
    from reason2decide.training.config import TrainConfig

#: Each method's objectives, in training order.
METHOD_STAGES: dict[str, tuple[str, ...]] = {
    "r2d": ("stage1", "stage2"),
}

__all__ = [
    "METHOD_STAGES",
    "Objective",
    "Stage1Config",
    "Stage1Objective",
    "Stage2Config",
    "Stage2Objective",
    "StepOutput",
    "build_objective",
    "method_stages",
]


def method_stages(method: str, stage: str = "all") -> tuple[str, ...]:
    """The objectives to train for ``method``; ``stage`` "1"/"2" picks one of a two-stage method."""
    if method not in METHOD_STAGES:
        raise R2DError(
            f"unknown method '{method}'",
            field="method",
            hint=f"choose from {', '.join(METHOD_STAGES)}",
        )
    stages = METHOD_STAGES[method]
    if stage == "all":
        return stages
    index = int(stage) - 1
    if len(stages) < 2 or index >= len(stages):
        raise R2DError(f"method '{method}' has a single stage: drop --stage", field="stage")
    return (stages[index],)


def build_objective(
    name: str,
    backbone: Backbone,
    labels: Sequence[str],
    config: TrainConfig,
    max_steps: int,
) -> Objective:
    """The objective ``name`` with the constants of ``config``."""
    common = {
        "label_decoding": config.label_decoding,
        "eval_batch_size": config.resolved_eval_batch_size,
        "seed": config.seed,
    }
    if name == "stage1":
        return Stage1Objective(
            backbone, labels, config=Stage1Config(patience=config.stage1_patience), **common
        )
    if name == "stage2":
        stage2 = Stage2Config(
            alpha=config.alpha,
            warmup_fraction=config.warmup_fraction,
            ramp_fraction=config.ramp_fraction,
            p_max=config.p_max,
            sampling=True,
            patience=config.stage2_patience,
            sampling_dropout=config.sampling_dropout,
            sampling_max_new_tokens=config.sampling_max_new_tokens,
        )
        return Stage2Objective(backbone, labels, max_steps=max_steps, config=stage2, **common)
    raise ValueError(f"unknown objective {name}")
