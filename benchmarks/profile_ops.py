"""Which kernels a training step spends its time in: torch.profiler over a few steps.

    python benchmarks/profile_ops.py --model ../vs-reference/inputs/model-t5-small \\
        --train ../vs-reference/inputs/train.jsonl --stage stage1 --precision fp32

Runs the objective of ``--stage`` (sft, stage1, stage2) on consecutive batches of the training
file the way ``r2d train`` does a step (autocast, dropout masks, loss, backward, clipping, fused
AdamW), with no trainer around it: ``--warmup`` steps, then ``--timed`` steps timed one by one
(median printed), then ``--profiled`` steps under ``torch.profiler``, whose table of operators
by self time it prints. ``--host-memory``, ``--dropout-masks`` and ``--length-passes`` take
the values of ``r2d train``'s flags, so that two runs show what one setting changes.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

STAGES = ("sft", "stage1", "stage2")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a model folder or built-in backbone name")
    parser.add_argument(
        "--train", required=True, type=Path, help="JSONL: question, label, rationale"
    )
    parser.add_argument("--stage", choices=STAGES, default="stage1")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-input-length", type=int, default=256)
    parser.add_argument("--max-target-length", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--timed", type=int, default=6)
    parser.add_argument("--profiled", type=int, default=4)
    parser.add_argument("--rows", type=int, default=25, help="operators shown")
    parser.add_argument("--host-memory", choices=("keep", "return"), default="keep")
    parser.add_argument("--dropout-masks", choices=("fast", "torch"), default="fast")
    parser.add_argument("--length-passes", choices=("auto", "one"), default="auto")
    parser.add_argument(
        "--stage2-step",
        type=int,
        default=20,
        help="Stage 2's schedule position of the first step (of 40; sampling from step 4)",
    )
    return parser.parse_args(argv)


def read_examples(path: Path) -> list:
    from reason2decide.data.example import Example

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]
    return [
        Example(id=str(i), question=r["question"], label=r["label"], rationale=r["rationale"])
        for i, r in enumerate(rows)
    ]


class Stepper:
    """Training steps of ``--stage`` on consecutive batches of ``--train``, as ``r2d train``
    takes them (autocast, dropout masks, loss, backward, clipping, fused AdamW); the
    backbone's ``length_passes`` and the dropout-mask kind can change between steps."""

    def __init__(self, args: argparse.Namespace) -> None:
        import torch

        from reason2decide.backbones import load_backbone
        from reason2decide.methods.r2d import Stage1Objective, Stage2Objective
        from reason2decide.methods.sft import SFTObjective

        torch.manual_seed(0)
        self.args = args
        self.backbone = load_backbone(
            args.model,
            max_input_length=args.max_input_length,
            max_target_length=args.max_target_length,
        )
        self.backbone.length_passes = args.length_passes
        self.dropout_masks = args.dropout_masks
        self.examples = read_examples(args.train)
        labels = sorted({e.label for e in self.examples})
        self.model = self.backbone.model
        self.model.train()
        if args.stage == "sft":
            self.objective = SFTObjective(self.backbone, labels)
        elif args.stage == "stage1":
            self.objective = Stage1Objective(self.backbone, labels)
        else:
            self.objective = Stage2Objective(self.backbone, labels, max_steps=40)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-4, fused=True)
        self.first = args.stage2_step if args.stage == "stage2" else 0

    def require(self, steps: int) -> None:
        """Refuse a run of ``steps`` batches that the training file cannot fill."""
        if steps * self.args.batch_size > len(self.examples):
            raise SystemExit(
                f"{self.args.train} has {len(self.examples)} examples; {steps} steps need more"
            )

    def __call__(self, i: int) -> float:
        """One step on batch ``i``; its loss."""
        import torch

        from reason2decide.hardware import autocast
        from reason2decide.training.dropout_masks import dropout_masks

        size = self.args.batch_size
        batch = self.examples[i * size : (i + 1) * size]
        with autocast(self.args.precision, torch.device("cpu")), dropout_masks(self.dropout_masks):
            out = self.objective.compute_loss(self.model, batch, self.first + i)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad()
        return float(out.loss.detach())


def keep_memory_if_asked(args: argparse.Namespace) -> None:
    """``--host-memory keep`` as ``r2d train`` takes it, before torch allocates anything."""
    if args.host_memory == "keep":
        from reason2decide.training.host_memory import keep_freed_memory

        keep_freed_memory()


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    keep_memory_if_asked(args)
    from torch.profiler import ProfilerActivity, profile

    step = Stepper(args)
    total = args.warmup + args.timed + args.profiled
    step.require(total)

    for i in range(args.warmup):
        step(i)
    times = []
    for i in range(args.warmup, args.warmup + args.timed):
        start = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - start)
    result: dict = {
        "settings": {k: str(v) for k, v in vars(args).items()},
        "step_s": [round(t, 4) for t in times],
        "median_step_s": round(statistics.median(times), 4) if times else None,
    }
    print(f"median s/step over {args.timed} steps: {result['median_step_s']} {result['step_s']}")
    if args.profiled:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for i in range(args.warmup + args.timed, total):
                step(i)
        averages = prof.key_averages()
        print(averages.table(sort_by="self_cpu_time_total", row_limit=args.rows))
        whole = sum(e.self_cpu_time_total for e in averages)
        result["ops"] = {
            e.key: round(e.self_cpu_time_total / 1e6, 4)
            for e in sorted(averages, key=lambda e: -e.self_cpu_time_total)[: args.rows]
        }
        result["profiled_s"] = round(whole / 1e6, 4)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    result["peak_rss_gib"] = round(peak, 3)
    print(f"peak resident memory: {peak:.3f} GiB")
    return result


if __name__ == "__main__":
    main()
