"""Training: the resolved config, a recipe per method, one run in its output folder, one
stage's ``Trainer``, callbacks, the manifest and the model card."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reason2decide.training.config import TrainConfig, build_config

if TYPE_CHECKING:
    from reason2decide.training.recipes import run_training

__all__ = ["TrainConfig", "build_config", "run_training"]


def __getattr__(name: str) -> Any:
    # The recipes import torch and transformers: loaded on first use, so that the command line
    # can build its flags from TrainConfig without them.
    if name == "run_training":
        from reason2decide.training.recipes import run_training

        return run_training
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
