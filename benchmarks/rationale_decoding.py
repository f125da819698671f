"""Rationale decoding settings compared on one trained model: quality, faithfulness,
repetition and speed, to choose the defaults of ``reason2decide.generation.GenerationSettings``.

For every named setting of the grid the test cases are evaluated as ``r2d evaluate`` does
(labels, rationales, BLEU, BERTScore, consistency), plus a *masked* consistency computed here:
the label from the rationale with every label phrase of the label set removed from it, so that
a rationale that merely names its decision does not count as supporting it. Results are merged
into ``--out`` by setting name, so that the grid can run one setting per invocation (one short
torch job at a time on a shared machine).

  python benchmarks/rationale_decoding.py demo/run --test demo/data/test.jsonl \\
      --settings greedy,no-repeat-3 --out benchmarks/results/rationale-decoding-cpu/demo.json
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from common import environment, print_table

from reason2decide.data.readers import read_examples
from reason2decide.evaluation.faithfulness import faithfulness_metrics
from reason2decide.evaluation.pipeline import evaluate_model
from reason2decide.generation import GREEDY, GenerationSettings
from reason2decide.inference import Predictor

GRID: dict[str, GenerationSettings] = {
    "greedy": GREEDY,
    "no-repeat-3": GenerationSettings(num_beams=1, no_repeat_ngram_size=3),
    "no-repeat-4": GenerationSettings(num_beams=1, no_repeat_ngram_size=4),
    "rep-penalty-1.2": GenerationSettings(
        num_beams=1, no_repeat_ngram_size=0, repetition_penalty=1.2
    ),
    "rep-penalty-1.3": GenerationSettings(
        num_beams=1, no_repeat_ngram_size=0, repetition_penalty=1.3
    ),
    "rep-penalty-1.5": GenerationSettings(
        num_beams=1, no_repeat_ngram_size=0, repetition_penalty=1.5
    ),
    "no-repeat-3+rep-1.2": GenerationSettings(
        num_beams=1, no_repeat_ngram_size=3, repetition_penalty=1.2
    ),
    "beams-4": GenerationSettings(num_beams=4, no_repeat_ngram_size=0),
    "beams-4+no-repeat-3": GenerationSettings(num_beams=4, no_repeat_ngram_size=3),
    "beams-2+no-repeat-3": GenerationSettings(num_beams=2, no_repeat_ngram_size=3),
    "beams-4+rep-1.2": GenerationSettings(
        num_beams=4, no_repeat_ngram_size=0, repetition_penalty=1.2
    ),
}


def mask_labels(text: str, labels: list[str]) -> str:
    """``text`` without any phrase of the label set (case-insensitive; the tokenizer's spaced
    hyphens, "self - care", match too)."""
    for label in sorted(labels, key=len, reverse=True):
        pattern = "".join(
            r"\s*-\s*" if c == "-" else r"\s+" if c.isspace() else re.escape(c)
            for c in label.strip()
        )
        text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
    return " ".join(text.split())


def masked_consistency(predictor: Predictor, records: list[dict[str, Any]]) -> float | None:
    """Share of cases whose rationale, label phrases removed, still leads to the prediction."""
    rationales = [r.get("rationale") for r in records]
    if not any(isinstance(t, str) for t in rationales):
        return None
    texts = [mask_labels(t or "", predictor.labels) or "." for t in rationales]
    from_masked = [p.label for p in predictor.predict(texts, with_rationale=False)]
    labels = [r["label"] for r in records]
    return faithfulness_metrics(labels, labels, from_masked, [None] * len(labels))["consistency"]


def run_setting(
    name: str,
    settings: GenerationSettings,
    model: Path,
    test: Path,
    batch_size: int,
    limit: int | None = None,
) -> dict[str, Any]:
    predictor = Predictor.from_output(model, batch_size=batch_size, generation=settings)
    examples = read_examples(test)[:limit]
    started = time.perf_counter()
    metrics, records = evaluate_model(predictor, examples, progress=False)
    wall = time.perf_counter() - started
    masked = masked_consistency(predictor, records)
    n = len(records)
    return {
        "name": name,
        "generation": settings.to_dict(),
        "n": n,
        "accuracy": metrics["accuracy"],
        "bleu": metrics["bleu"],
        "bertscore_f1": metrics["bertscore_f1"],
        "consistency": metrics["consistency"],
        "masked_consistency": masked,
        "repetition_rate": metrics["repetition_rate"],
        "share_with_repeats": metrics["repetition"]["share_with_repeats"],
        "gold_repetition_rate": metrics["repetition"]["gold"],
        "rationale_words": metrics["rationale_length"]["generated_words"]["mean"],
        "seconds_per_case": metrics["inference"]["seconds"] / n,
        "predict_seconds": metrics["inference"]["seconds"],
        "evaluation_wall_s": round(wall, 2),
        "examples": [
            {"id": r["id"], "label": r["label"], "rationale": r["rationale"]} for r in records[:3]
        ],
    }


def time_settings(
    names: list[str], model: Path, test: Path, batch_size: int, n: int, rounds: int
) -> dict[str, Any]:
    """Seconds per case of ``Predictor.predict`` (label + rationale) on the first ``n`` cases,
    the settings interleaved round by round so that a load change hits all of them alike."""
    predictor = Predictor.from_output(model, batch_size=batch_size)
    questions = [e.question for e in read_examples(test)[:n]]
    times: dict[str, list[float]] = {name: [] for name in names}
    predictor.predict(questions[:batch_size])  # warm-up
    for _ in range(rounds):
        for name in names:
            predictor.generation = GRID[name]
            started = time.perf_counter()
            predictor.predict(questions)
            times[name].append((time.perf_counter() - started) / len(questions))
    base = statistics.median(times[names[0]])
    return {
        name: {
            "median_s_per_case": statistics.median(t),
            "min_s_per_case": min(t),
            "x_first": statistics.median(t) / base,
            "n": len(questions),
            "rounds": rounds,
        }
        for name, t in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="r2d train output folder")
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--settings", default=",".join(GRID), help="names from the grid")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--limit", type=int, default=None, help="first N test cases only")
    parser.add_argument("--out", type=Path, required=True, help="JSON to merge results into")
    parser.add_argument(
        "--timing",
        type=int,
        default=None,
        metavar="N",
        help="only time prediction of the first N cases (settings interleaved; the first is "
        "the reference of the ratios)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="--timing rounds")
    args = parser.parse_args()
    names = [n.strip() for n in args.settings.split(",") if n.strip()]
    unknown = [n for n in names if n not in GRID]
    if unknown:
        parser.error(f"unknown setting(s) {unknown}; choose from {list(GRID)}")
    report = json.loads(args.out.read_text()) if args.out.is_file() else {"results": {}}
    report["environment"] = environment(torch.device("cpu"))
    report["model"] = str(args.model)
    report["test"] = str(args.test)
    if args.timing:
        timing = time_settings(
            names, args.model, args.test, args.batch_size, args.timing, args.rounds
        )
        report["timing"] = timing
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        keys = ("median_s_per_case", "min_s_per_case", "x_first")
        rows = [[name, *(t[k] for k in keys)] for name, t in timing.items()]
        print_table("prediction time", ["setting", "median s/case", "min s/case", "x first"], rows)
        return
    for name in names:
        row = run_setting(name, GRID[name], args.model, args.test, args.batch_size, args.limit)
        report["results"][name] = row
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"{name}: {json.dumps({k: v for k, v in row.items() if k != 'examples'})}")
    keys = (
        "accuracy",
        "bleu",
        "bertscore_f1",
        "consistency",
        "masked_consistency",
        "repetition_rate",
        "rationale_words",
        "seconds_per_case",
    )
    rows = [[name, *(r[k] for k in keys)] for name, r in report["results"].items()]
    print_table("rationale decoding", ["setting", *keys], rows)


if __name__ == "__main__":
    main()
