"""Where ``run_training`` and the output-folder names lived before each concept got its own
module; kept so that code importing them from here still works.

New code imports from the homes: ``training.recipes`` (:func:`run_training`, a recipe per
method), ``training.run`` (one run in its folder), ``training.stage`` (one objective's
``Trainer``), ``training.output`` (the folder's layout, resume and overwrite rules),
``training.manifest`` (``run.json``), ``training.saving`` and ``data.training_data``.
"""

from reason2decide.data.training_data import TrainingData, load_training_data
from reason2decide.training.output import (
    LABELS_FILE,
    LOG_FILE,
    MODEL_DIR,
    RUN_FILE,
    resolve_init,
    resume_config,
)
from reason2decide.training.recipes import run_training

__all__ = [
    "LABELS_FILE",
    "LOG_FILE",
    "MODEL_DIR",
    "RUN_FILE",
    "TrainingData",
    "load_training_data",
    "resolve_init",
    "resume_config",
    "run_training",
]
