"""How a trained model's multiple-choice answers depend on the option score: for each test case
with its own options, the option with the highest summed token log-probability (what r2d scores)
against the highest mean log-probability per token, and how often each picks the shortest option.

    python benchmarks/option_scoring.py RUN_OR_MODEL TEST.jsonl [--json out.json]

Summed log-probabilities favour short options (fewer tokens, fewer factors below 1); on data
whose right answers are often the long ones (MedMCQA) that alone can push accuracy below chance.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from common import write_report

from reason2decide.data.readers import read_examples
from reason2decide.inference import Predictor
from reason2decide.prompts import predict_prompt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("test", type=Path)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    predictor = Predictor.from_output(args.model, precision="fp32")
    backbone, model = predictor.backbone, predictor.backbone.model
    cases = [e for e in read_examples(args.test, predictor.columns) if e.choices]
    if not cases:
        raise SystemExit(f"{args.test}: no case has its own options")
    counts = {"sum": 0, "mean": 0, "sum_shortest": 0, "mean_shortest": 0, "gold_shortest": 0}
    with torch.no_grad():
        for start in range(0, len(cases), args.batch_size):
            batch = cases[start : start + args.batch_size]
            prompts = [predict_prompt(e.question) for e in batch]
            lists = [tuple(e.choices or ()) for e in batch]
            scores = backbone.score_candidate_lists(model, prompts, lists).float()
            for row, (example, options) in enumerate(zip(batch, lists, strict=True)):
                # token counts as scored: end-of-sequence included
                tokens = torch.tensor([len(ids) for ids in backbone.target_ids(list(options))])
                summed = scores[row, : len(options)]
                picks = {"sum": summed.argmax(), "mean": (summed / tokens).argmax()}
                shortest = min(len(o) for o in options)
                counts["gold_shortest"] += len(example.label) == shortest
                for kind, index in picks.items():
                    chosen = options[int(index)]
                    counts[kind] += chosen == example.label
                    counts[f"{kind}_shortest"] += len(chosen) == shortest
    n = len(cases)
    report = {
        "model": str(args.model),
        "test": str(args.test),
        "cases": n,
        "accuracy_summed_logprob": counts["sum"] / n,
        "accuracy_mean_logprob_per_token": counts["mean"] / n,
        "shortest_option_chosen_summed": counts["sum_shortest"] / n,
        "shortest_option_chosen_mean": counts["mean_shortest"] / n,
        "gold_is_shortest_option": counts["gold_shortest"] / n,
        "random_guess": sum(1 / len(e.choices or ()) for e in cases) / n,
    }
    for key, value in report.items():
        print(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
    write_report(args.json, report)


if __name__ == "__main__":
    main()
