"""Each method's recipe trains the method's objectives in order, each from the model the one
before it saved (no model is trained here: the run is a recording stand-in)."""

from __future__ import annotations

import pytest

from reason2decide.errors import R2DError
from reason2decide.methods import METHODS, method_stages
from reason2decide.training.recipes import reason2decide, recipe_for, single_objective


class RecordingRun:
    """What a recipe sees of a ``Run``: its objectives, its start model and ``train``."""

    def __init__(self, objectives: tuple[str, ...]) -> None:
        self.objectives = objectives
        self.start_model = "base-model"
        self.calls: list[tuple[str, str]] = []

    def train(self, objective: str, start: str) -> str:
        self.calls.append((objective, start))
        return f"{objective}/best"


def runs_of_every_method():
    for method in METHODS:
        for stage in ("all", "1", "2"):
            try:
                yield method, stage, method_stages(method, stage)
            except R2DError:  # --stage of a single-stage method
                continue


@pytest.mark.parametrize(("method", "stage", "objectives"), list(runs_of_every_method()))
def test_the_recipe_trains_each_objective_from_the_model_before_it(method, stage, objectives):
    run = RecordingRun(objectives)
    recipe_for(objectives)(run)
    assert [objective for objective, _ in run.calls] == list(objectives)
    starts = ["base-model", *(f"{objective}/best" for objective in objectives[:-1])]
    assert [start for _, start in run.calls] == starts


def test_reason2decide_starts_stage2_from_stage1s_model_and_single_methods_from_the_base():
    assert recipe_for(method_stages("r2d")) is reason2decide
    assert recipe_for(method_stages("r2dc", "2")) is reason2decide
    assert recipe_for(method_stages("sft")) is single_objective
    run = RecordingRun(("stage1", "stage2"))
    reason2decide(run)
    assert run.calls == [("stage1", "base-model"), ("stage2", "stage1/best")]


def test_objectives_no_recipe_trains_are_refused():
    with pytest.raises(ValueError, match="no recipe"):
        recipe_for(("sft", "dss"))
    with pytest.raises(ValueError, match="no recipe"):
        recipe_for(())
