"""Saving a trained model: the whole weights (gathered when each process holds a shard), into a
folder that is swapped in at once, so that a crash never leaves half a model."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from reason2decide.backbones import Backbone, quiet_transformers
from reason2decide.data.labels import LabelSet
from reason2decide.distributed import parameters_sharded
from reason2decide.training.model_info import MODEL_LABELS_FILE, write_model_info


def model_to_save(trainer: Any) -> Any:
    """The trained model of ``trainer`` (a ``transformers.Trainer``), ready to be saved."""
    model = trainer.model
    if parameters_sharded():
        # Each process holds a shard: gather the whole weights (a collective, so every process
        # asks) for rank 0 to save.
        state = trainer.accelerator.get_state_dict(trainer.model_wrapped)
        model = _WithStateDict(trainer.accelerator.unwrap_model(trainer.model), state)
    return model


class _WithStateDict:
    """A model whose ``save_pretrained`` writes a given (gathered) state dict."""

    def __init__(self, model: Any, state_dict: dict[str, Any]) -> None:
        self.model = model
        self.state_dict = state_dict

    def save_pretrained(self, directory: Any, **kwargs: Any) -> None:
        self.model.save_pretrained(directory, state_dict=self.state_dict, **kwargs)


def save_model_atomically(
    backbone: Backbone,
    model: Any,
    target: Path,
    *,
    labels: LabelSet | None = None,
    info: dict[str, Any] | None = None,
) -> None:
    """Save a trained model into a sibling temp folder, then swap it in: a crash never leaves
    half a model. ``labels`` and ``info`` (:func:`model_info`) go into the folder too, so that it
    reloads with its method's behaviour wherever it is copied."""
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with quiet_transformers():
        backbone.save(tmp, model=model, trained=True)
    if labels is not None:
        labels.save(tmp / MODEL_LABELS_FILE)
    if info is not None:
        write_model_info(tmp, info)
    old = target.with_name(target.name + ".old")
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
