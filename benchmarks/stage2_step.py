"""Time one training step of Stage 2 in several label-prediction modes, same model and batch.

Modes (each a full optimisation step: forward, backward, AdamW update):
  dss            distilling step-by-step: predict + explain, no label prediction (the floor)
  no-sampling    Stage 2 before W (p = 0): no label prediction needed
  score          Stage 2 with sampling, labels by closed-set scoring (eval mode, one pass)
  generate       Stage 2 with sampling, labels by greedy generation (eval mode)
  reference      Stage 2 with sampling as the reference code does it: greedy generation with
                 dropout on and a 50-token limit
The label-prediction part alone is timed too (score vs generate). Prints a table, writes JSON.

  python benchmarks/stage2_step.py --batch-size 16 --repeats 5 --out bench-stage2.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from reason2decide.backbones import load_backbone
from reason2decide.data.synth_triage import generate
from reason2decide.hardware import autocast, resolve_precision
from reason2decide.inference.label_decoding import predict_labels_eval
from reason2decide.methods import DSSObjective, Stage2Config, Stage2Objective


def peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm-bert2bert")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--max-input-length", type=int, default=160)
    parser.add_argument("--max-target-length", type=int, default=64)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--modes", default="dss,no-sampling,score,generate,reference")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    examples = generate(args.batch_size * (args.repeats + args.warmup), seed=0)
    labels = sorted({e.label for e in examples})
    backbone = load_backbone(
        args.model, max_input_length=args.max_input_length, max_target_length=args.max_target_length
    )
    model = backbone.model
    device = backbone.device
    precision = resolve_precision(args.precision, device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    max_steps, late_step = 1000, 900  # late_step: p = 0.9, α = 0.7

    def stage2(**overrides):
        return Stage2Objective(
            backbone, labels, max_steps=max_steps, config=Stage2Config(**overrides)
        )

    objectives = {
        "dss": (DSSObjective(backbone, labels), late_step),
        "no-sampling": (stage2(), 0),
        "score": (stage2(), late_step),
        "generate": (stage2(), late_step),
        "reference": (stage2(sampling_dropout=True, sampling_max_new_tokens=50), late_step),
    }
    objectives["generate"][0].label_decoding = "generate"
    objectives["reference"][0].label_decoding = "generate"

    results: dict[str, dict[str, float]] = {}
    for mode in args.modes.split(","):
        objective, step = objectives[mode]
        times = []
        for i in range(args.warmup + args.repeats):
            batch = examples[i * args.batch_size : (i + 1) * args.batch_size]
            model.train()
            started = time.perf_counter()
            with autocast(precision, device):
                out = objective.compute_loss(model, batch, step)
            out.loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if i >= args.warmup:
                times.append(time.perf_counter() - started)
        results[mode] = {
            "median_s": statistics.median(times),
            "min_s": min(times),
            "examples_per_s": args.batch_size / statistics.median(times),
        }

    # The label-prediction part alone, eval mode, same batches.
    for decoding in ("score", "generate"):
        times = []
        for i in range(args.warmup + args.repeats):
            batch = examples[i * args.batch_size : (i + 1) * args.batch_size]
            started = time.perf_counter()
            with autocast(precision, device):
                predict_labels_eval(
                    backbone, model, [e.question for e in batch], labels, decoding=decoding
                )
            if i >= args.warmup:
                times.append(time.perf_counter() - started)
        results[f"label-prediction-{decoding}"] = {"median_s": statistics.median(times)}

    report = {
        "model": args.model,
        "parameters": backbone.num_parameters(),
        "batch_size": args.batch_size,
        "max_input_length": args.max_input_length,
        "max_target_length": args.max_target_length,
        "precision": precision,
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "repeats": args.repeats,
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "results": results,
    }
    floor = results.get("dss", {}).get("median_s")
    print(f"{args.model}, batch {args.batch_size}, {precision} on {device}, {args.repeats} repeats")
    print(f"{'mode':28s} {'median s':>9s} {'min s':>8s} {'ex/s':>7s} {'x DSS':>6s}")
    for mode, r in results.items():
        ratio = f"{r['median_s'] / floor:6.2f}" if floor and "min_s" in r else ""
        extra = f"{r['min_s']:8.3f} {r['examples_per_s']:7.2f}" if "min_s" in r else " " * 16
        print(f"{mode:28s} {r['median_s']:9.3f} {extra} {ratio}")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
