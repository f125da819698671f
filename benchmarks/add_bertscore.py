"""Add BERTScore to bench runs that were evaluated without it (``r2d bench --no-bertscore``).

A run trained and evaluated on a machine that lacks the BERTScore encoder (a lent GPU with no
network) comes back with its predictions but no BERTScore. This script scores the saved
predictions (``eval/predictions.jsonl``) with the same encoder and function as ``r2d bench``,
writes the result into ``eval/metrics.json`` and marks the run as evaluated with BERTScore, so
that ``r2d bench`` with the same options (without ``--no-bertscore``) finds every run complete
and reports them, models or not.

    python benchmarks/add_bertscore.py BENCH_FOLDER [--bertscore-model PATH] [--bertscore-layers N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reason2decide.evaluation.bertscore import bertscore, resolve_encoder
from reason2decide.evaluation.report import write_metrics
from reason2decide.io import read_json, read_jsonl


def add_bertscore(run: Path, model: str | None, layers: int | None) -> bool:
    """Score one run's predictions; False when it has nothing to add."""
    metrics_path = run / "eval" / "metrics.json"
    metrics = read_json(metrics_path)
    settings = (metrics.get("bench_eval") or {}).get("settings") or {}
    if settings.get("with_bertscore", True):
        return False
    records = read_jsonl(run / "eval" / "predictions.jsonl")
    paired = [
        r
        for r in records
        if isinstance(r.get("rationale"), str) and str(r.get("gold_rationale") or "").strip()
    ]
    name, num_layers = resolve_encoder(model, layers)
    if paired:
        metrics.update(
            bertscore(
                [r["gold_rationale"] for r in paired],
                [r["rationale"] for r in paired],
                model=name,
                num_layers=num_layers,
            )
        )
        metrics["bertscore_encoder"] = {"model": name, "num_layers": num_layers}
    settings.update(with_bertscore=True, bertscore_model=model, bertscore_layers=layers)
    metrics["bench_eval"]["bertscore_added_after"] = True
    write_metrics(metrics_path, metrics)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path)
    parser.add_argument("--bertscore-model")
    parser.add_argument("--bertscore-layers", type=int)
    args = parser.parse_args(argv)
    runs = sorted(p.parents[1] for p in args.bench.glob("runs/*/*/eval/metrics.json"))
    if not runs:
        print(f"no evaluated runs under {args.bench}/runs", file=sys.stderr)
        return 1
    for run in runs:
        added = add_bertscore(run, args.bertscore_model, args.bertscore_layers)
        print(f"{run.relative_to(args.bench)}: {'BERTScore added' if added else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
