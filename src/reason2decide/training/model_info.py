"""What inference needs to use a trained model, saved inside the model's folder.

A run's ``run.json`` lies beside ``model/``, not in it: a copied model folder would lose the
method (how it writes rationales, how it decodes labels). Each saved model therefore carries
``reason2decide.json`` (method, objective, rationale prompt, label decoding, length limits) and
its ``labels.json``, and reloads with its own behaviour on its own; ``columns`` records how the
training rows were read (:meth:`~reason2decide.data.readers.ColumnMap.to_dict`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from reason2decide.io import read_json, write_json

if TYPE_CHECKING:
    from reason2decide.training.config import TrainConfig

MODEL_INFO_FILE = "reason2decide.json"
MODEL_LABELS_FILE = "labels.json"


def model_info(config: TrainConfig, objective: str, rationale_prompt: str | None) -> dict[str, Any]:
    """The inference settings of the model that objective ``objective`` of ``config`` trains;
    ``rationale_prompt`` is the method's ("conditioned", "unconditioned" or None)."""
    return {
        "method": config.method,
        "objective": objective,
        "rationale_prompt": rationale_prompt,
        "label_decoding": config.label_decoding,
        "max_input_length": config.max_input_length,
        "max_target_length": config.max_target_length,
        # How the training rows were read (template, options), so that predicting new rows of
        # the same shape needs no flags.
        "columns": config.columns().to_dict(),
    }


def write_model_info(directory: str | Path, info: dict[str, Any]) -> None:
    """Write ``reason2decide.json`` into the model folder ``directory``."""
    write_json(Path(directory) / MODEL_INFO_FILE, info)


def read_model_info(directory: str | Path) -> dict[str, Any] | None:
    """The ``reason2decide.json`` of a model folder, or None when it has none (older models)."""
    path = Path(directory) / MODEL_INFO_FILE
    return read_json(path) if path.is_file() else None
