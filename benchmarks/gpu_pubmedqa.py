"""Run a `r2d bench` grid as several processes side by side on one GPU, under a deadline.

A 135M-parameter model leaves most of an H100/H200 idle, so the grid's runs (method x seed)
train at the same time, each as its own ``r2d bench --methods M --seeds S`` process writing
into the same bench folder (every run has its own sub-folder; the results files are written
atomically). When all are done, one more ``r2d bench`` over the whole grid finds every run
complete and writes the joint results. Runs still going at the deadline are stopped; run the
same command again to resume them (``r2d bench`` resumes its runs).

GPU (PubMedQA, the recipe of configs/pubmedqa-smollm2-gpu.yaml; see docs/recipes.md):

    python benchmarks/gpu_pubmedqa.py --data data/pubmedqa --output runs/pubmedqa-gpu \\
        --config configs/pubmedqa-smollm2-gpu.yaml --methods r2d,sft,dss --seeds 0,1,2 \\
        --parallel 6 --deadline 480

Any other ``r2d bench`` option goes after ``--``, e.g. ``-- --no-bertscore``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

#: Longest first, so that the slowest runs start at once.
COST = {"r2dc": 4, "r2d": 3, "r2d-no-sampling": 3, "r2d-no-stage1": 2, "dss": 2, "sft": 1}


def bench_command(
    args: argparse.Namespace, methods: str, seeds: str, extra: Sequence[str]
) -> list[str]:
    command = [sys.executable, "-m", "reason2decide.cli", "bench", "--data", str(args.data)]
    command += ["--output", str(args.output), "--methods", methods, "--seeds", seeds]
    if args.config:
        command += ["--config", str(args.config)]
    return [*command, *extra]


def grid(methods: Sequence[str], seeds: Sequence[str]) -> list[tuple[str, str]]:
    """(method, seed) pairs, the costliest methods first."""
    ordered = sorted(methods, key=lambda m: -COST.get(m, 2))
    return [(m, s) for m, s in itertools.product(ordered, seeds)]


def stop(process: subprocess.Popen) -> None:
    """End a run and everything it started (its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--methods", default="r2d,sft,dss")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--parallel", type=int, default=6, help="runs at once")
    parser.add_argument(
        "--deadline", type=float, default=0, help="seconds; stop runs still going then (0: none)"
    )
    args, extra = parser.parse_known_args(argv)
    extra = [a for a in extra if a != "--"]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    seeds = [s.strip() for s in args.seeds.split(",") if s.strip()]
    logs = args.output / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    waiting = grid(methods, seeds)
    running: dict[tuple[str, str], tuple[subprocess.Popen, float]] = {}
    finished: dict[str, dict[str, object]] = {}

    def elapsed() -> float:
        return time.monotonic() - started

    while waiting or running:
        while waiting and len(running) < args.parallel:
            method, seed = waiting.pop(0)
            with open(logs / f"{method}-seed{seed}.log", "w", encoding="utf-8") as log:
                # the child keeps its own copy of the file descriptor
                process = subprocess.Popen(
                    bench_command(args, method, seed, extra),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            running[(method, seed)] = (process, elapsed())
            print(f"[{elapsed():6.0f} s] start {method} seed {seed}", flush=True)
        for key, (process, since) in list(running.items()):
            if process.poll() is not None:
                del running[key]
                finished[f"{key[0]}-seed{key[1]}"] = {
                    "returncode": process.returncode,
                    "wall_s": round(elapsed() - since, 1),
                }
                print(
                    f"[{elapsed():6.0f} s] {key[0]} seed {key[1]}: exit {process.returncode} "
                    f"after {elapsed() - since:.0f} s",
                    flush=True,
                )
        if args.deadline and elapsed() > args.deadline and running:
            for key, (process, since) in running.items():
                print(f"[{elapsed():6.0f} s] deadline: stopping {key[0]} seed {key[1]}")
                stop(process)
                finished[f"{key[0]}-seed{key[1]}"] = {
                    "returncode": "stopped at the deadline",
                    "wall_s": round(elapsed() - since, 1),
                }
            running.clear()
            for method, seed in waiting:
                finished[f"{method}-seed{seed}"] = {"returncode": "not started", "wall_s": 0}
            waiting.clear()
        time.sleep(1)

    complete = [k for k, v in finished.items() if v["returncode"] == 0]
    summary = {"wall_s": round(elapsed(), 1), "runs": finished}
    (args.output / "gpu_runs.json").write_text(json.dumps(summary, indent=2) + "\n")
    if len(complete) == len(finished):
        # Every run is complete: this pass only gathers them into one results table.
        report = bench_command(args, ",".join(methods), ",".join(seeds), extra)
        with open(logs / "report.log", "w", encoding="utf-8") as log:
            code = subprocess.run(report, stdout=log, stderr=subprocess.STDOUT).returncode
        print(f"[{elapsed():6.0f} s] joint results: exit {code} ({args.output}/results.md)")
        return code
    done = f"{len(complete)}/{len(finished)}"
    print(f"[{elapsed():6.0f} s] {done} runs complete; run the same command again to resume")
    return 1


if __name__ == "__main__":
    sys.exit(main())
