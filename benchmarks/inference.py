"""Inference throughput and latency of a trained model: label only and label + rationale,
against batch size and input length, per core.

For every input length L and batch size B, ``Predictor.predict`` runs on ``--examples`` cases
whose prompts are cut to L tokens (cases are joined until they are long enough). Throughput is
examples per second over the whole call (and per core: divided by the torch threads);
latency is the median time of one batch. ``--before`` repeats each setting the way inference
ran before this benchmark's speed-ups (``torch.inference_mode``, which turns off autocast's
cache of bf16 weight copies, and label scores computed once per candidate), to show the gain.

  python benchmarks/inference.py demo/run --batch-sizes 1,8,32 --input-lengths 64,160,384 \\
      --examples 64 --before --out bench-inference.json
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from common import environment, load_examples, print_table, write_report

import reason2decide.inference.predictor as predictor_module
from reason2decide.inference import Predictor


@contextlib.contextmanager
def as_before(predictor: Predictor, active: bool) -> Any:
    """Inference as it ran before: inference_mode, and unshared label scoring."""
    if not active:
        yield
        return
    backbone = predictor.backbone
    original = predictor_module.no_grad_context
    predictor_module.no_grad_context = lambda precision: torch.inference_mode()
    backbone.score_candidates = backbone.score_candidates_unshared
    try:
        yield
    finally:
        predictor_module.no_grad_context = original
        del backbone.score_candidates


def long_cases(questions: list[str], tokenizer: Any, length: int, n: int) -> list[str]:
    """``n`` inputs of at least ``length`` tokens, each joined from consecutive cases."""
    out, i = [], 0
    while len(out) < n:
        text = questions[i % len(questions)]
        while len(tokenizer(text, add_special_tokens=False)["input_ids"]) < length:
            i += 1
            text += " " + questions[i % len(questions)]
        out.append(text)
        i += 1
    return out


def measure(predictor: Predictor, cases: list[str], with_rationale: bool) -> dict[str, float]:
    """Throughput over all ``cases`` and the median latency of one batch."""
    batch_times: list[float] = []
    original = predictor.predict_batch

    def timed(questions: Any, with_rationale: bool = True) -> Any:
        started = time.perf_counter()
        out = original(questions, with_rationale)
        batch_times.append(time.perf_counter() - started)
        return out

    predictor.predict_batch = timed  # type: ignore[method-assign]
    try:
        predictor.predict(cases[: predictor.batch_size], with_rationale=with_rationale)  # warm-up
        batch_times.clear()
        started = time.perf_counter()
        predictor.predict(cases, with_rationale=with_rationale)
        seconds = time.perf_counter() - started
    finally:
        del predictor.predict_batch
    threads = torch.get_num_threads()
    return {
        "seconds": round(seconds, 3),
        "examples_per_s": round(len(cases) / seconds, 3),
        "examples_per_s_per_core": round(len(cases) / seconds / threads, 3),
        "batch_latency_s": round(statistics.median(batch_times), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="output folder of r2d train (or a model folder)")
    parser.add_argument("--data", type=Path, help="JSONL/CSV of cases [synthetic triage]")
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--batch-sizes", default="1,8,32")
    parser.add_argument("--input-lengths", default="64,160,384")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="rationale token limit")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--modes", default="label,label+rationale")
    parser.add_argument("--before", action="store_true", help="also time the pre-speed-up path")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    predictor = Predictor.from_output(
        args.model, precision=args.precision, max_new_tokens=args.max_new_tokens
    )
    backbone = predictor.backbone
    questions = [e.question for e in load_examples(args.data, max(args.examples, 64))]
    results = []
    for length in [int(x) for x in args.input_lengths.split(",")]:
        backbone.max_input_length = length
        cases = long_cases(questions, backbone.tokenizer, length, args.examples)
        for batch_size in [int(x) for x in args.batch_sizes.split(",")]:
            predictor.batch_size = batch_size
            for mode in args.modes.split(","):
                for before in (False, True) if args.before else (False,):
                    with as_before(predictor, before):
                        row = measure(predictor, cases, with_rationale=mode != "label")
                    results.append(
                        {
                            "input_tokens": length,
                            "batch_size": batch_size,
                            "mode": mode,
                            "path": "before" if before else "now",
                            **row,
                        }
                    )
                    print(results[-1], flush=True)
    report = {
        "benchmark": "inference",
        "model": str(args.model),
        "label_decoding": predictor.label_decoding,
        "labels": predictor.labels,
        "examples": args.examples,
        "max_new_tokens": args.max_new_tokens,
        "precision": predictor.precision,
        "environment": environment(backbone.device),
        "results": results,
    }
    print()
    print_table(
        f"Inference, {args.examples} cases, {predictor.precision} on {backbone.device} "
        f"({torch.get_num_threads()} threads), rationales <= {args.max_new_tokens} tokens",
        ["input tokens", "batch", "mode", "path", "ex/s", "ex/s/core", "batch latency s"],
        [
            [
                r["input_tokens"],
                r["batch_size"],
                r["mode"],
                r["path"],
                r["examples_per_s"],
                r["examples_per_s_per_core"],
                r["batch_latency_s"],
            ]
            for r in results
        ],
    )
    write_report(args.out, report)


if __name__ == "__main__":
    main()
