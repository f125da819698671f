"""The best checkpoint is read back at the end only when it is not the model already in memory."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from transformers import Trainer

from reason2decide.training.trainer import ObjectiveTrainer


@pytest.mark.parametrize(("best", "last", "reloaded"), [(30, 30, False), (20, 30, True)])
def test_best_checkpoint_reloaded_only_when_training_went_past_it(
    monkeypatch, best, last, reloaded
):
    calls = []
    monkeypatch.setattr(Trainer, "_load_best_model", lambda self: calls.append(self))
    trainer = ObjectiveTrainer.__new__(ObjectiveTrainer)  # only the state is looked at
    trainer.state = SimpleNamespace(best_global_step=best, global_step=last)
    trainer._load_best_model()
    assert bool(calls) is reloaded
