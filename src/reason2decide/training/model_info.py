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

from reason2decide.errors import R2DError
from reason2decide.io import read_json, write_json

if TYPE_CHECKING:
    from reason2decide.training.config import TrainConfig

MODEL_INFO_FILE = "reason2decide.json"
MODEL_LABELS_FILE = "labels.json"


def model_info(
    config: TrainConfig,
    objective: str,
    rationale_prompt: str | None,
    labels: list[str] | None = None,
) -> dict[str, Any]:
    """The inference settings of the model that objective ``objective`` of ``config`` trains;
    ``rationale_prompt`` is the method's ("conditioned", "unconditioned" or None); ``labels``,
    the label set it was trained on (checked against ``labels.json`` when it is loaded)."""
    info: dict[str, Any] = {
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
    if labels is not None:
        info["labels"] = list(labels)
    return info


def write_model_info(directory: str | Path, info: dict[str, Any]) -> None:
    """Write ``reason2decide.json`` into the model folder ``directory``."""
    write_json(Path(directory) / MODEL_INFO_FILE, info)


def read_model_info(directory: str | Path) -> dict[str, Any] | None:
    """The ``reason2decide.json`` of a model folder, or None when it has none (older models)."""
    path = Path(directory) / MODEL_INFO_FILE
    return read_json(path) if path.is_file() else None


def read_labels_file(path: str | Path) -> list[str]:
    """The label set of a ``labels.json`` (``{"labels": [...]}``: distinct, non-empty strings);
    anything else is an :class:`R2DError` naming the file."""
    data = read_json(path)
    labels = data.get("labels") if isinstance(data, dict) else None
    if not isinstance(labels, list) or not labels:
        raise R2DError(
            'not a label set: expected {"labels": ["label", ...]}',
            path=path,
            hint="r2d train writes this file; copy it again with the model",
        )
    bad = [label for label in labels if not isinstance(label, str) or not label.strip()]
    if bad:
        raise R2DError(f"not a label: {bad[0]!r} (labels are non-empty strings)", path=path)
    if len(set(labels)) != len(labels):
        twice = next(label for label in labels if labels.count(label) > 1)
        raise R2DError(f"label '{twice}' is listed twice", path=path)
    return labels
