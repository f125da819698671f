"""How training cost grows with sequence length and with the training set, and what
length-grouped batching saves on data of uneven length.

1. ``lengths``: one training step (DSS; Stage 2 with sampling by label scoring) at several
   input-token limits: seconds, examples/s and peak memory.
2. ``dataset``: what grows with the number of training examples N: reading and checking the
   data (``load_training_data``, which also runs the leakage/length warnings), building the
   length-grouped order, the process's memory, and one epoch's time at the measured
   throughput (steps are independent of N).
3. ``grouping``: the same K Stage-2 steps over batches from the plain shuffle and from
   ``LengthGroupedSampler`` (``--group-by-length``): padding share and seconds per step.

  python benchmarks/scaling.py --data /path/to/pubmedqa/train.jsonl --out bench-scaling.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from common import (
    environment,
    load_examples,
    load_model,
    peak_memory_mib,
    print_table,
    reset_peak_memory,
    step_function,
    time_calls,
    write_report,
)

from reason2decide.data.training_data import load_training_data
from reason2decide.hardware import resolve_precision
from reason2decide.methods import DSSObjective, Stage2Objective
from reason2decide.prompts import predict_prompt
from reason2decide.training.config import TrainConfig
from reason2decide.training.trainer import LengthGroupedSampler, example_length


def by_length(args: argparse.Namespace, examples: list, labels: list[str]) -> list[dict]:
    rows = []
    for length in [int(x) for x in args.input_lengths.split(",")]:
        backbone = load_model(args.model, length, args.max_target_length)
        precision = resolve_precision(args.precision, backbone.device)
        batches = [
            examples[i * args.batch_size : (i + 1) * args.batch_size]
            for i in range(args.repeats + 1)
        ]
        for mode in ("dss", "score"):
            if mode == "dss":
                objective: Any = DSSObjective(backbone, labels)
            else:
                objective = Stage2Objective(backbone, labels, max_steps=1000)
            reset_peak_memory(backbone.device)
            run = step_function(backbone, objective, batches, 900, precision)
            times = time_calls(run, args.repeats, 1, backbone.device)
            median = statistics.median(times)
            rows.append(
                {
                    "input_tokens": length,
                    "mode": mode,
                    "median_s": round(median, 3),
                    "examples_per_s": round(args.batch_size / median, 3),
                    "peak_mib": round(peak_memory_mib(backbone.device)),
                }
            )
            print(rows[-1], flush=True)
    return rows


def by_dataset_size(args: argparse.Namespace, examples: list, throughput: float) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(x) for x in args.dataset_sizes.split(",")]:
            path = Path(tmp) / f"train-{n}.jsonl"
            with open(path, "w", encoding="utf-8") as handle:
                for i in range(n):
                    e = examples[i % len(examples)]
                    row = {"id": f"x{i}", "question": f"{e.question} ({i})", "label": e.label}
                    handle.write(json.dumps({**row, "rationale": e.rationale}) + "\n")
            config = TrainConfig(train=path, output=Path(tmp) / "out", val_fraction=0.05)
            reset_peak_memory(torch.device("cpu"))
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = load_training_data(config, needs_rationale=True, say=lambda _: None)
            load_s = time.perf_counter() - started
            started = time.perf_counter()
            order = list(
                LengthGroupedSampler(
                    [example_length(e) for e in data.train], args.batch_size, seed=0
                )
            )
            group_s = time.perf_counter() - started
            rows.append(
                {
                    "n_train": len(data.train),
                    "load_and_check_s": round(load_s, 3),
                    "length_grouping_s": round(group_s, 3),
                    "peak_rss_mib": round(peak_memory_mib(torch.device("cpu"))),
                    "epoch_hours_at_measured_throughput": round(len(order) / throughput / 3600, 3),
                }
            )
            print(rows[-1], flush=True)
            del data, order
    return rows


def padding_share(backbone: Any, batches: list) -> float:
    """Pad tokens / all tokens of the ``predict:`` prompts of ``batches``."""
    pads = total = 0
    for batch in batches:
        mask = backbone.encode_pairs(
            [predict_prompt(e.question) for e in batch], [e.label for e in batch]
        )["attention_mask"]
        pads += int((mask == 0).sum())
        total += mask.numel()
    return pads / total


def grouping(args: argparse.Namespace, examples: list, labels: list[str]) -> list[dict]:
    backbone = load_model(args.model, args.grouping_input_length, args.max_target_length)
    precision = resolve_precision(args.precision, backbone.device)
    size, k = args.batch_size, args.grouping_steps
    shuffled = torch.randperm(len(examples), generator=torch.Generator().manual_seed(0)).tolist()
    grouped = list(LengthGroupedSampler([example_length(e) for e in examples], size, seed=0))
    rows = []
    for name, order in (("shuffle", shuffled), ("group-by-length", grouped)):
        batches = [[examples[i] for i in order[s : s + size]] for s in range(0, k * size, size)]
        objective = Stage2Objective(backbone, labels, max_steps=1000)
        run = step_function(backbone, objective, batches, 900, precision)
        run(0)  # warm-up
        times = time_calls(run, k, 0, backbone.device)
        rows.append(
            {
                "order": name,
                "steps": k,
                "input_tokens_max": args.grouping_input_length,
                "padding_share": round(padding_share(backbone, batches), 3),
                "mean_s_per_step": round(sum(times) / k, 3),
            }
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm-bert2bert")
    parser.add_argument("--data", type=Path, help="JSONL/CSV of examples [synthetic triage]")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--input-lengths", default="64,128,256,512")
    parser.add_argument("--max-target-length", type=int, default=64)
    parser.add_argument("--dataset-sizes", default="1000,10000,100000")
    parser.add_argument("--grouping-steps", type=int, default=8)
    parser.add_argument("--grouping-input-length", type=int, default=512)
    parser.add_argument("--parts", default="lengths,dataset,grouping")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    pool = load_examples(args.data, max(400, args.batch_size * (args.grouping_steps + 1)))
    labels = sorted({e.label for e in pool})
    parts = args.parts.split(",")
    report: dict[str, Any] = {
        "benchmark": "scaling",
        "model": args.model,
        "data": str(args.data) if args.data else "synthetic triage",
        "batch_size": args.batch_size,
        "environment": environment(torch.device("cuda" if torch.cuda.is_available() else "cpu")),
    }
    if "lengths" in parts:
        report["lengths"] = by_length(args, pool, labels)
    if "dataset" in parts:
        scored = [r for r in report.get("lengths", []) if r["mode"] == "score"]
        middle = scored[len(scored) // 2] if scored else {"examples_per_s": 1.0}
        report["epoch_throughput"] = middle
        report["dataset"] = by_dataset_size(args, pool, middle["examples_per_s"])
    if "grouping" in parts:
        report["grouping"] = grouping(args, pool, labels)
    print()
    if "lengths" in report:
        print_table(
            f"Training step vs input length ({args.model}, batch {args.batch_size})",
            ["input tokens", "mode", "median s", "examples/s", "peak MiB"],
            [list(r.values()) for r in report["lengths"]],
        )
    if "dataset" in report:
        print_table(
            "Growth with the training set (epoch time at the Stage-2 throughput of "
            f"{report['epoch_throughput'].get('input_tokens')} input tokens)",
            ["n train", "load+check s", "grouping s", "peak RSS MiB", "epoch h"],
            [list(r.values()) for r in report["dataset"]],
        )
    if "grouping" in report:
        print_table(
            f"Length-grouped batching ({args.grouping_steps} Stage-2 steps, batch "
            f"{args.batch_size})",
            ["order", "steps", "max input tokens", "padding share", "s/step"],
            [list(r.values()) for r in report["grouping"]],
        )
    write_report(args.out, report)


if __name__ == "__main__":
    main()
