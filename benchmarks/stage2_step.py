"""Time and measure one training step of Stage 2 in several label-prediction modes, same model,
batches and data, and the label-prediction part on its own.

Training-step modes (each a full optimisation step: forward, backward, AdamW update):
  dss             distilling step-by-step: predict + explain, no label prediction (the floor)
  no-sampling     Stage 2 before W (p = 0): no label prediction needed
  score           Stage 2 with sampling, labels by closed-set scoring (the default: one pass
                  over the candidates' prefix tree)
  score-unshared  the same scores computed the way they were before: the decoder (seq2seq) or
                  the whole sequence (causal) once per (example, candidate)
  generate        Stage 2 with sampling, labels by greedy generation (eval mode, label budget)
  reference       Stage 2 with sampling as the reference code does it: greedy generation with
                  dropout on and a 50-token limit
Every step mode also reports peak memory (CUDA: allocated; CPU: the process's peak resident set
during that mode, which includes the model and optimizer state).

Label-prediction part alone, same batches: score, score-unshared, generate and reference-style
generate. "warm" timings run inside one autocast context after a warm-up call, as inside a
training step, where the bf16 copies of the weights are made once per step whichever forward
pass comes first; "cold" timings open a new context per call and pay for those copies.

  python benchmarks/stage2_step.py --batch-size 16 --repeats 5 --out bench-stage2.json
  python benchmarks/stage2_step.py --model demo/run/model     # a trained model
"""

from __future__ import annotations

import argparse
import contextlib
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
    summary,
    time_calls,
    write_report,
)

from reason2decide.hardware import autocast, resolve_precision
from reason2decide.methods import DSSObjective, Stage2Config, Stage2Objective
from reason2decide.methods.label_decoding import predict_labels, predict_labels_eval
from reason2decide.training.host_memory import keep_freed_memory

STEP_MODES = ("dss", "no-sampling", "score", "score-unshared", "generate", "reference")
LABEL_MODES = ("score", "score-unshared", "generate", "reference")


@contextlib.contextmanager
def unshared_scoring(backbone: Any, active: bool) -> Any:
    """Route ``score_candidates`` to the one-pass-per-candidate version while active."""
    if not active:
        yield
        return
    backbone.score_candidates = backbone.score_candidates_unshared
    try:
        yield
    finally:
        del backbone.score_candidates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        default="minilm-bert2bert",
        help="backbone name or folder, or random:t5-small / random:smollm2-135m",
    )
    parser.add_argument("--data", type=Path, help="JSONL/CSV of examples [synthetic triage]")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--max-input-length", type=int, default=160)
    parser.add_argument("--max-target-length", type=int, default=64)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--modes", default=",".join(STEP_MODES))
    parser.add_argument("--label-modes", default=",".join(LABEL_MODES))
    parser.add_argument("--dropout-masks", choices=("fast", "torch"), default="fast")
    parser.add_argument("--host-memory", choices=("keep", "return"), default="keep")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.host_memory == "keep":  # as r2d train does
        keep_freed_memory()

    rounds = args.repeats + args.warmup
    examples = load_examples(args.data, args.batch_size * rounds)
    batches = [examples[i * args.batch_size : (i + 1) * args.batch_size] for i in range(rounds)]
    labels = sorted({e.label for e in examples})
    backbone = load_model(args.model, args.max_input_length, args.max_target_length)
    if torch.cuda.is_available():
        backbone.model.to("cuda")
    model, device = backbone.model, backbone.device
    precision = resolve_precision(args.precision, device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    max_steps, late_step = 1000, 900  # late_step: p = 0.9, α = 0.7

    def stage2(decoding: str = "score", **overrides: Any) -> Stage2Objective:
        config = Stage2Config(**overrides)
        return Stage2Objective(
            backbone, labels, max_steps=max_steps, config=config, label_decoding=decoding
        )

    objectives = {
        "dss": (DSSObjective(backbone, labels), late_step),
        "no-sampling": (stage2(), 0),
        "score": (stage2(), late_step),
        "score-unshared": (stage2(), late_step),
        "generate": (stage2("generate"), late_step),
        "reference": (
            stage2("generate", sampling_dropout=True, sampling_max_new_tokens=50),
            late_step,
        ),
    }

    steps: dict[str, dict[str, float]] = {}
    for mode in args.modes.split(","):
        objective, step = objectives[mode]

        train_step = step_function(
            backbone, objective, batches, step, precision, optimizer, args.dropout_masks
        )

        reset_peak_memory(device)
        with unshared_scoring(backbone, mode == "score-unshared"):
            times = time_calls(train_step, args.repeats, args.warmup, device)
        steps[mode] = {**summary(times, args.batch_size), "peak_mib": peak_memory_mib(device)}

    model.eval()
    label_part: dict[str, dict[str, float]] = {}
    for mode in args.label_modes.split(","):
        decoding = "score" if mode.startswith("score") else "generate"
        reference = mode == "reference"
        predict = predict_labels if reference else predict_labels_eval
        budget = 50 if reference else None

        def predict_batch(
            i: int, predict: Any = predict, decoding: str = decoding, budget: Any = budget
        ) -> None:
            questions = [e.question for e in batches[i]]
            predict(backbone, model, questions, labels, decoding=decoding, max_new_tokens=budget)

        model.train(reference)  # the reference predicts with dropout on
        with unshared_scoring(backbone, mode == "score-unshared"), torch.no_grad():
            with autocast(precision, device):
                warm = time_calls(predict_batch, args.repeats, args.warmup, device)

            def cold_call(i: int) -> None:
                with autocast(precision, device):
                    predict_batch(i)

            cold = time_calls(cold_call, args.repeats, args.warmup, device)
        label_part[mode] = {
            "warm_median_s": summary(warm, args.batch_size)["median_s"],
            "cold_median_s": summary(cold, args.batch_size)["median_s"],
        }
    model.eval()

    report = {
        "benchmark": "stage2_step",
        "model": args.model,
        "parameters": backbone.num_parameters(),
        "data": str(args.data) if args.data else "synthetic triage",
        "labels": labels,
        "batch_size": args.batch_size,
        "max_input_length": args.max_input_length,
        "max_target_length": args.max_target_length,
        "precision": precision,
        "repeats": args.repeats,
        "dropout_masks": args.dropout_masks,
        "host_memory": args.host_memory,
        "environment": environment(device),
        "train_step": steps,
        "label_prediction": label_part,
    }
    floor = steps.get("dss", {}).get("median_s")
    print(
        f"{args.model}, batch {args.batch_size}, inputs <= {args.max_input_length} tokens, "
        f"{precision} on {device} ({torch.get_num_threads()} threads), {args.repeats} repeats\n"
    )
    print_table(
        "Training step (forward + backward + AdamW)",
        ["mode", "median s", "min s", "examples/s", "x DSS", "peak MiB"],
        [
            [
                mode,
                r["median_s"],
                r["min_s"],
                r["examples_per_s"],
                round(r["median_s"] / floor, 2) if floor else None,
                round(r["peak_mib"]),
            ]
            for mode, r in steps.items()
        ],
    )
    base = label_part.get("score", {}).get("warm_median_s")
    print_table(
        "Label prediction alone (one batch)",
        ["mode", "warm s", "cold s", "warm / score"],
        [
            [
                mode,
                r["warm_median_s"],
                r["cold_median_s"],
                round(r["warm_median_s"] / base, 2) if base else None,
            ]
            for mode, r in label_part.items()
        ],
    )
    write_report(args.out, report)


if __name__ == "__main__":
    main()
