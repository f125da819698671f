"""What checkpointing costs a training run: trains a config (by default the README's demo job)
with every checkpoint write timed, and prints the time per checkpoint and its share of the run.

    python benchmarks/checkpoint_cost.py --config configs/demo-triage.yaml --output /tmp/ckpt-run \
        [--eval-steps N] [--json results.json]

A checkpoint is written at every validation (``--eval-steps``; the best one is kept for the
model), so the time measured here is what one more validation point costs on top of the
validation itself. The run is an ordinary training run: its folder can be evaluated as usual.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from common import environment, print_table, write_report
from transformers import Trainer

from reason2decide.training import build_config, run_training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("configs/demo-triage.yaml"))
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--eval-steps", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    flags: dict[str, Any] = {"output": args.output, "eval_steps": args.eval_steps}
    config = build_config(flags, args.config)
    saves: list[tuple[str, int, float]] = []
    original = Trainer._save_checkpoint

    def timed(self: Trainer, *a: Any, **k: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, *a, **k)
        finally:
            stage = Path(self.args.output_dir).name
            saves.append((stage, self.state.global_step, time.perf_counter() - started))

    Trainer._save_checkpoint = timed  # type: ignore[method-assign]
    started = time.perf_counter()
    manifest = run_training(config, overwrite=True, say=print)
    wall = time.perf_counter() - started

    total = sum(seconds for _, _, seconds in saves)
    rows = [(stage, step, f"{seconds:.2f}") for stage, step, seconds in saves]
    print_table("checkpoint writes", ["stage", "step", "seconds"], rows)
    median = statistics.median(s for _, _, s in saves) if saves else 0.0
    print(
        f"{len(saves)} checkpoints, {total:.1f} s of {wall:.1f} s training wall time "
        f"({100 * total / wall:.1f}%), median {median:.2f} s each"
    )
    write_report(
        args.json,
        {
            "environment": environment(torch.device("cpu")),
            "config": str(args.config),
            "eval_steps": config.eval_steps,
            "stage1_eval_steps": config.stage1_eval_steps,
            "checkpoints": [{"stage": a, "step": b, "seconds": round(c, 3)} for a, b, c in saves],
            "checkpoint_seconds": round(total, 2),
            "wall_time_s": round(wall, 2),
            "share": round(total / wall, 4),
            "status": manifest["status"],
        },
    )


if __name__ == "__main__":
    main()
