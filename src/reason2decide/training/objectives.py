"""The glue from a run's :class:`~reason2decide.training.config.TrainConfig` to the method
objectives: which constants each objective gets, and the objective itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reason2decide.methods import (
    DSSConfig,
    DSSObjective,
    Objective,
    ObjectiveConfig,
    R2DCConfig,
    R2DCObjective,
    SFTConfig,
    SFTObjective,
    Stage1Config,
    Stage1Objective,
    Stage2Config,
    Stage2Objective,
)
from reason2decide.training.config import TrainConfig

if TYPE_CHECKING:
    from reason2decide.backbones import Backbone


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
