"""Train a tiny run in this process and, at a chosen point, kill it with SIGKILL (no cleanup, as
a preempted machine would): the subject of the kill-and-resume tests.

    python kill_worker.py ROOT OUTPUT METHOD KILL [--resume] [--save-steps=N]

``ROOT`` holds ``data/`` and ``init/`` (a tiny model). ``KILL`` is ``none`` or
``<stage>:<where>:<step>``: ``step`` (after that optimizer step), ``eval`` (in the middle of the
validation at that step), ``save`` (while the checkpoint of that step is being written: the
weights are on disk, the optimizer state is not yet).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from transformers import Trainer, TrainerCallback

from reason2decide.training import build_config, run_training


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class KillAfterStep(TrainerCallback):
    def __init__(self, stage: str, step: int) -> None:
        self.stage, self.step = stage, step

    def on_step_end(self, args, state, control, **kwargs):
        if args.output_dir.endswith(self.stage) and state.global_step == self.step:
            die()


def kill_in_eval(stage: str, step: int) -> None:
    from reason2decide.training.trainer import ObjectiveTrainer

    original = ObjectiveTrainer.evaluate

    def evaluate(self, *args, **kwargs):
        if self.args.output_dir.endswith(stage) and self.state.global_step == step:
            self.objective.validate = lambda *a, **k: die()  # dies inside the validation pass
        return original(self, *args, **kwargs)

    ObjectiveTrainer.evaluate = evaluate


def kill_in_save(stage: str, step: int) -> None:
    original = Trainer._save_optimizer_and_scheduler

    def save(self, output_dir):
        if self.args.output_dir.endswith(stage) and self.state.global_step == step:
            die()  # the checkpoint folder holds the weights, not the rest
        return original(self, output_dir)

    Trainer._save_optimizer_and_scheduler = save


def main() -> None:
    root, output, method, kill = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    resume = "--resume" in sys.argv[5:]
    save_steps = [int(a.split("=")[1]) for a in sys.argv[5:] if a.startswith("--save-steps=")]
    callbacks = []
    if kill != "none":
        stage, where, step = kill.split(":")
        if where == "step":
            callbacks.append(KillAfterStep(stage, int(step)))
        elif where == "eval":
            kill_in_eval(stage, int(step))
        elif where == "save":
            kill_in_save(stage, int(step))
        else:
            raise SystemExit(f"unknown kill point {where}")
    config = build_config(
        dict(
            method=method,
            train=root / "data/train.jsonl",
            val=root / "data/val.jsonl",
            output=output,
            model=str(root / "init"),
            max_steps=12,
            stage1_max_steps=6,
            batch_size=8,
            eval_steps=3,
            save_steps=save_steps[0] if save_steps else None,
            logging_steps=1,
            lr=3e-3,
            max_input_length=48,
            max_target_length=12,
            seed=3,
            save_total_limit=10,
            stage2_patience=100,
            # p stays 0 for Stage 2's first 3 steps: a kill at step 2 is before sampling starts
            alpha_warmup_fraction=0.25,
        )
    )
    run_training(config, resume=resume, say=print, callbacks=callbacks)


if __name__ == "__main__":
    main()
