"""Training methods. A method is a sequence of objectives trained one after the other."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reason2decide.errors import R2DError
from reason2decide.methods.base import Objective, StepOutput
from reason2decide.methods.dss import DSSConfig, DSSObjective
from reason2decide.methods.r2d import Stage1Config, Stage1Objective, Stage2Config, Stage2Objective
from reason2decide.methods.r2dc import R2DCConfig, R2DCObjective
from reason2decide.methods.sft import SFTConfig, SFTObjective

if TYPE_CHECKING:
    from reason2decide.backbones import Backbone
    from reason2decide.training.config import TrainConfig


@dataclass(frozen=True)
class MethodSpec:
    """A method's objectives in training order, and how its rationales are produced."""

    stages: tuple[str, ...]
    description: str
    #: "conditioned" (given label: ŷ, explain: x), "unconditioned" (explain: x) or None.
    rationale: str | None = "conditioned"
    requires_rationale: bool = True


METHODS: dict[str, MethodSpec] = {
    "r2d": MethodSpec(("stage1", "stage2"), "Reason2Decide: Stage 1 then Stage 2"),
    "r2d-no-stage1": MethodSpec(("stage2",), "ablation: Stage 2 from the base model"),
    "r2d-no-sampling": MethodSpec(
        ("stage1", "stage2"), "ablation: Stage 2 always conditions on the gold label (p = 0)"
    ),
    "r2dc": MethodSpec(
        ("stage1", "stage2"),
        "Reason2Decide-C: confidence-adaptive sampling and a rationale→label cycle loss",
    ),
    "sft": MethodSpec(("sft",), "label-only fine-tuning", rationale=None, requires_rationale=False),
    "dss": MethodSpec(
        ("dss",), "distilling step-by-step: predict + unconditioned explain", "unconditioned"
    ),
}

__all__ = [
    "METHODS",
    "DSSConfig",
    "DSSObjective",
    "MethodSpec",
    "Objective",
    "ObjectiveConfig",
    "R2DCConfig",
    "R2DCObjective",
    "SFTConfig",
    "SFTObjective",
    "Stage1Config",
    "Stage1Objective",
    "Stage2Config",
    "Stage2Objective",
    "StepOutput",
    "build_objective",
    "method_spec",
    "method_stages",
    "objective_config",
]


def method_spec(method: str) -> MethodSpec:
    """The :class:`MethodSpec` of ``method``, or a user error naming the choices."""
    if method not in METHODS:
        raise R2DError(
            f"unknown method '{method}'",
            field="method",
            hint=f"choose from {', '.join(METHODS)}",
        )
    return METHODS[method]


def method_stages(method: str, stage: str = "all") -> tuple[str, ...]:
    """The objectives to train for ``method``; ``stage`` "1"/"2" picks one of a two-stage method."""
    stages = method_spec(method).stages
    if stage == "all":
        return stages
    index = int(stage) - 1
    if len(stages) < 2 or index >= len(stages):
        raise R2DError(f"method '{method}' has a single stage: drop --stage", field="stage")
    return (stages[index],)


#: A method objective's constants.
ObjectiveConfig = Stage1Config | SFTConfig | DSSConfig | Stage2Config


def objective_config(name: str, config: TrainConfig) -> ObjectiveConfig:
    """The constants of the objective ``name`` of ``config.method``, read from ``config``."""
    if name == "stage1":
        return Stage1Config(patience=config.stage1_patience)
    if name == "sft":
        return SFTConfig(patience=config.stage2_patience)
    if name == "dss":
        return DSSConfig(alpha=config.dss_alpha, patience=config.stage2_patience)
    if name != "stage2":
        raise ValueError(f"unknown objective {name}")
    stage2 = {
        "alpha": config.alpha,
        "warmup_fraction": config.alpha_warmup_fraction,
        "ramp_fraction": config.ramp_fraction,
        "p_max": config.p_max,
        "sampling": config.method != "r2d-no-sampling",
        "patience": config.stage2_patience,
        "sampling_dropout": config.sampling_dropout,
        "sampling_max_new_tokens": config.sampling_max_new_tokens,
    }
    if config.method == "r2dc":
        return R2DCConfig(
            **stage2,
            cycle_weight=config.cycle_weight,
            gumbel_start=config.gumbel_start,
            gumbel_min=config.gumbel_min,
            confidence_sharpness=config.confidence_sharpness,
            tau_window_steps=config.tau_window_steps,
            confidence=config.r2dc_confidence,
        )
    return Stage2Config(**stage2)


def build_objective(
    name: str,
    backbone: Backbone,
    labels: Sequence[str],
    config: TrainConfig,
    max_steps: int,
) -> Objective:
    """The objective ``name`` of ``config.method`` with the constants of ``config``."""
    constants = objective_config(name, config)
    common = {
        "label_decoding": config.label_decoding,
        "eval_batch_size": config.resolved_eval_batch_size,
        "seed": config.seed,
    }
    if isinstance(constants, Stage1Config):
        return Stage1Objective(backbone, labels, config=constants, **common)
    if isinstance(constants, SFTConfig):
        return SFTObjective(backbone, labels, config=constants, **common)
    if isinstance(constants, DSSConfig):
        return DSSObjective(backbone, labels, config=constants, **common)
    if isinstance(constants, R2DCConfig):
        return R2DCObjective(backbone, labels, max_steps=max_steps, config=constants, **common)
    return Stage2Objective(backbone, labels, max_steps=max_steps, config=constants, **common)
