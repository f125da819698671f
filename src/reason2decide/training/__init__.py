"""Training: the resolved config, a recipe per method, one run in its output folder, one
stage's ``Trainer``, callbacks, the manifest and the model card."""

from reason2decide.training.config import TrainConfig, build_config
from reason2decide.training.recipes import run_training

__all__ = ["TrainConfig", "build_config", "run_training"]
