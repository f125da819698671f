"""Two values of one training setting, each batch stepped under both in one process.

    python benchmarks/ab_step.py --model ../vs-reference/inputs/model-t5-small \\
        --train ../vs-reference/inputs/train.jsonl --stage stage1 --precision fp32 \\
        --setting length-passes --values one,auto --batches 16

On a shared 2-core machine the speed of separate runs drifts by several percent from one
minute to the next, more than many a change is worth. Here every batch is stepped twice, once
under each value, in alternating order (A then B, then B then A), in one process with the same
model and data, so that drift and the batches' own differences fall on both sides alike. The
steps are those of ``benchmarks/profile_ops.py`` (``--stage``, ``--precision``, and the other
settings at their ``r2d train`` values). Prints each batch's pair, the summed times, their
ratio and the median of the paired ratios; ``--out`` writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from profile_ops import Stepper, keep_memory_if_asked, parse_args

#: The settings that can change between steps of one process, and the values they take.
SETTINGS = {"length-passes": ("auto", "one"), "dropout-masks": ("fast", "torch")}


def parse(argv: list[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=True)
    parser.add_argument("--setting", required=True, choices=sorted(SETTINGS))
    parser.add_argument("--values", required=True, help="A,B: the two values compared")
    parser.add_argument("--batches", type=int, default=12, help="batches, each stepped twice")
    parser.add_argument("--out", type=Path, help="JSON of the pairs and the summary")
    ours, rest = parser.parse_known_args(argv)
    values = ours.values.split(",")
    if len(values) != 2 or any(v not in SETTINGS[ours.setting] for v in values):
        parser.error(
            f"--values takes two of {', '.join(SETTINGS[ours.setting])} for --{ours.setting}"
        )
    ours.values = values
    return ours, rest


def apply(stepper: Stepper, setting: str, value: str) -> None:
    """Switch the stepper to ``value`` of ``setting`` for the steps that follow."""
    if setting == "length-passes":
        stepper.backbone.length_passes = value
    else:
        stepper.dropout_masks = value


def main(argv: list[str] | None = None) -> dict:
    ours, rest = parse(argv)
    args = parse_args(rest)
    keep_memory_if_asked(args)
    step = Stepper(args)
    step.require(ours.batches + 1)
    a, b = ours.values
    for value in (a, b):  # first shapes and allocations, under each value, untimed
        apply(step, ours.setting, value)
        step(0)
    pairs = []
    for i in range(1, ours.batches + 1):
        times = {}
        for value in (a, b) if i % 2 else (b, a):
            apply(step, ours.setting, value)
            start = time.perf_counter()
            step(i)
            times[value] = time.perf_counter() - start
        pairs.append({"batch": i, a: round(times[a], 4), b: round(times[b], 4)})
        print(f"batch {i}: {a} {times[a]:.3f} s, {b} {times[b]:.3f} s", flush=True)
    total_a, total_b = sum(p[a] for p in pairs), sum(p[b] for p in pairs)
    summary = {
        "setting": ours.setting,
        "values": [a, b],
        "sum_s": {a: round(total_a, 4), b: round(total_b, 4)},
        "ratio": round(total_a / total_b, 4) if total_b else None,
        "median_paired_ratio": round(statistics.median(p[a] / p[b] for p in pairs), 4),
        "settings": {k: str(v) for k, v in vars(args).items()},
        "pairs": pairs,
    }
    print(
        f"{ours.setting}: {a} {total_a:.2f} s, {b} {total_b:.2f} s over {len(pairs)} batches; "
        f"{a}/{b} {summary['ratio']}, median paired {summary['median_paired_ratio']}"
    )
    if ours.out:
        ours.out.parent.mkdir(parents=True, exist_ok=True)
        partial = ours.out.with_suffix(".partial")
        partial.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        partial.replace(ours.out)
    return summary


if __name__ == "__main__":
    main()
