"""Training methods. A method is a sequence of objectives trained one after the other."""

from __future__ import annotations

from dataclasses import dataclass

from reason2decide.errors import R2DError
from reason2decide.methods.base import Objective, StepOutput
from reason2decide.methods.dss import DSSConfig, DSSObjective
from reason2decide.methods.r2d import Stage1Config, Stage1Objective, Stage2Config, Stage2Objective
from reason2decide.methods.r2dc import R2DCConfig, R2DCObjective
from reason2decide.methods.sft import SFTConfig, SFTObjective


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
    "method_spec",
    "method_stages",
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
