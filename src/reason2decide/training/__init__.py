"""Training: the resolved config, the Trainer subclass, callbacks and the run orchestration."""

from reason2decide.training.config import TrainConfig, build_config
from reason2decide.training.runner import run_training

__all__ = ["TrainConfig", "build_config", "run_training"]
