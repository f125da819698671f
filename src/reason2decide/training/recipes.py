"""A recipe per kind of training method, and :func:`run_training`, which follows one.

A recipe says which objectives a method trains, in which order, and from which model each
starts. Reason2Decide (``r2d``, ``r2dc`` and the ablations) trains Stage 1, then Stage 2 from
the best checkpoint of Stage 1; SFT and distilling step-by-step train one objective from the
base model. What training one objective involves (the backbone, the ``Trainer``, saving, the
manifest) is :meth:`Run.train` in ``training/run.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reason2decide.data.example import Example
from reason2decide.training.config import TrainConfig
from reason2decide.training.output import hold_output, sigterm_interrupts
from reason2decide.training.run import Run, Say

Recipe = Callable[[Run], None]


def reason2decide(run: Run) -> None:
    """Stage 1 learns to explain (rationales alone); Stage 2 starts from the model of its best
    checkpoint and learns to decide and explain. A run of one stage (``--stage 1``,
    ``--stage 2``, the ablation without Stage 1) trains that stage alone."""
    model = run.start_model
    if "stage1" in run.objectives:
        model = run.train("stage1", start=model)  # Stage 1's best checkpoint, saved
    if "stage2" in run.objectives:
        run.train("stage2", start=model)


def single_objective(run: Run) -> None:
    """One objective (SFT, distilling step-by-step) from the base model."""
    (objective,) = run.objectives
    run.train(objective, start=run.start_model)


def recipe_for(objectives: Sequence[str]) -> Recipe:
    """The recipe that trains ``objectives`` (a method's stages, as ``method_stages`` gives
    them)."""
    if objectives and set(objectives) <= {"stage1", "stage2"}:
        return reason2decide
    if len(objectives) == 1:
        return single_objective
    raise ValueError(f"no recipe trains the objectives {', '.join(objectives)}")


def run_training(
    config: TrainConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    say: Say = print,
    callbacks: Sequence[Any] = (),
    held_out: Mapping[str, Sequence[Example]] | None = None,
) -> dict[str, Any]:
    """Train ``config.method`` into ``config.output``; return the run manifest.

    ``callbacks`` are extra ``transformers.TrainerCallback`` objects added to every stage.
    ``held_out``: other evaluation sets (e.g. ``{"test": examples}``) that Stage-1 rows are
    checked against, like ``--val`` (see ``data.training_data.load_training_data``).

    One run per output folder: a second one into a folder in use is refused. A run stopped by
    an error, Ctrl-C or SIGTERM says so in ``run.json`` (``failed``, ``interrupted``).
    """
    with hold_output(config.output), sigterm_interrupts():
        run = Run.start(
            config,
            resume=resume,
            overwrite=overwrite,
            say=say,
            callbacks=callbacks,
            held_out=held_out,
        )
        recipe = recipe_for(run.objectives)
        try:
            recipe(run)
        except BaseException as error:
            run.stopped(error)
            raise
        return run.finish()
