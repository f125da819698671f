"""A benchmark's reports: ``results.md`` (its text: :mod:`~reason2decide.bench.markdown`),
``results.csv``, ``results.json`` and the rich table of the terminal, from the plan, the runs'
results, their summary and the comparisons with the reference row."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from reason2decide.bench.aggregate import METRICS, MethodSummary, RunResult, format_summary
from reason2decide.bench.comparisons import COMPARED, Comparisons
from reason2decide.bench.markdown import relative_path, results_markdown
from reason2decide.bench.spec import BenchPlan, BenchSpec
from reason2decide.bench.variants import Variant, rationale_sources
from reason2decide.bench.zero_shot import ZERO_SHOT_METHOD
from reason2decide.io import atomic_open, write_json
from reason2decide.methods import METHODS

#: Options that make up the budget (and the decision rule), shown in results.md.
BUDGET_KEYS = (
    "model",
    "max_steps",
    "stage1_max_steps",
    "batch_size",
    "gradient_accumulation_steps",
    "lr",
    "stage1_lr",
    "warmup_ratio",
    "weight_decay",
    "eval_steps",
    "stage1_eval_steps",
    "stage1_patience",
    "stage2_patience",
    "max_input_length",
    "max_target_length",
    "label_decoding",
    "prior_correction",
    "precision",
)
#: Per-run options, left out of the shared configuration.
PER_RUN_KEYS = ("method", "seed", "output")

RESULTS_MD = "results.md"
RESULTS_CSV = "results.csv"
RESULTS_JSON = "results.json"


def budget_note(methods: Sequence[str], config: Mapping[str, Any]) -> str:
    """Plain words on how the budgets of ``methods`` compare under ``config``."""
    steps, stage1 = config["max_steps"], config["stage1_max_steps"]
    trained = [m for m in methods if m in METHODS]
    untrained = (
        f" {ZERO_SHOT_METHOD} is not trained: an LLM answers each test case zero-shot (no training "
        "time or steps)."
        if ZERO_SHOT_METHOD in methods
        else ""
    )
    if not trained:
        return "No method is trained." + untrained
    single = [m for m in trained if len(METHODS[m].stages) == 1]
    double = [m for m in trained if len(METHODS[m].stages) > 1]
    stage1_lr = config.get("stage1_lr") or config["lr"]
    text = (
        f"Every method trains its decision stage for up to max_steps = {steps} steps of batch "
        f"{config['batch_size']} × {config['gradient_accumulation_steps']} accumulation, "
        f"lr {config['lr']}, on the same data and backbone; each seed is run by every method."
    )
    if single:
        text += f" Single-stage methods ({', '.join(single)}) train that stage only."
    if double:
        text += (
            f" Two-stage methods ({', '.join(double)}) first train Stage 1 (explain: x → "
            f"rationale) for up to stage1_max_steps = {stage1} steps at lr {stage1_lr}, so they "
            f"take up to {steps + stage1} optimisation steps in all"
            + (f", {stage1} more than the single-stage methods." if single else ".")
        )
    text += " Early stopping may end any stage sooner; each run's steps are listed below."
    return text + untrained


def bench_info(
    spec: BenchSpec,
    plan: BenchPlan,
    runs: Sequence[RunResult],
    *,
    n_test: int,
    wall_time_s: float,
    n_test_with_options: int = 0,
    command: str,
    created_at: str,
) -> dict[str, Any]:
    """Everything besides the numbers that a reader of the results needs: command, data,
    budget, shared configuration (the plan's, without per-run options), variants, the
    zero-shot LLM, the baselines, hardware and wall time."""
    from reason2decide.data.fingerprint import fingerprint
    from reason2decide.training.manifest import environment_info

    methods = list(dict.fromkeys(run.method for run in plan.runs))
    seeds = list(dict.fromkeys(run.seed for run in plan.runs))
    shared = {k: v for k, v in plan.shared.dump().items() if k not in PER_RUN_KEYS}
    extra: dict[str, Any] = {}
    if plan.variants:
        extra["variants"] = [_variant_info(v, plan) for v in plan.variants]
    if ZERO_SHOT_METHOD in methods and spec.llm is not None:
        extra["zero_shot_llm"] = {
            "base_url": spec.llm.base_url,
            "model": spec.llm.model,
            "temperature": spec.llm.temperature,
            "max_tokens": spec.llm.max_tokens,
            "label_retries": spec.llm.label_retries,
            "seeds": [run.seed for run in plan.runs if run.method == ZERO_SHOT_METHOD],
        }
    return {
        "created_at": created_at,
        "command": command,
        "methods": methods,
        "seeds": seeds,
        **extra,
        "gold_rationale_col": shared.get("rationale_col"),
        "data": {
            **{name: fingerprint(path) for name, path in plan.splits.items()},
            "n_test_evaluated": n_test,
            "n_test_with_options": n_test_with_options,
            "test_limit": spec.test_limit,
        },
        "budget": {k: shared.get(k) for k in BUDGET_KEYS},
        "budget_note": budget_note(methods, shared),
        "evaluation": {
            "batch_size": spec.eval_batch_size,
            "with_bertscore": spec.with_bertscore,
            "bertscore_model": spec.bertscore_model,
            "bertscore_layers": spec.bertscore_layers,
            "generation": spec.generation.to_dict(),
        },
        "config": shared,
        "environment": environment_info(),
        "wall_time_s": {
            "this_invocation": round(wall_time_s, 2),
            "runs_total": _runs_wall_time(runs),
        },
        "cpu_time_s": _runs_cpu_time(runs),
        "baselines": {run.method: run.extra["baseline"] for run in runs if run.baseline},
    }


def _variant_info(variant: Variant, plan: BenchPlan) -> dict[str, Any]:
    """A variant's options and, from one of its runs' configs, each stage's rationale source."""
    info: dict[str, Any] = variant.to_dict()
    mine = [run for run in plan.runs if run.variant == variant.name]
    if mine:
        info["rationale_sources"] = rationale_sources(mine[0].config)
    return info


def _runs_wall_time(runs: Sequence[RunResult]) -> float:
    total = 0.0
    for run in runs:
        total += float(run.extra.get("train_wall_s") or 0.0) + float(run.eval_wall_s or 0.0)
    return round(total, 2)


def _runs_cpu_time(runs: Sequence[RunResult]) -> dict[str, Any]:
    """CPU seconds of training and evaluation summed over the runs that recorded both, and
    how many of the trained runs that is."""
    trained = [run for run in runs if not run.baseline and run.extra.get("steps")]
    recorded = [
        run
        for run in trained
        if run.extra.get("train_cpu_s") is not None and run.extra.get("eval_cpu_s") is not None
    ]
    total = sum(float(r.extra["train_cpu_s"]) + float(r.extra["eval_cpu_s"]) for r in recorded)
    return {"runs_total": round(total, 2), "runs": len(recorded), "of_trained_runs": len(trained)}


def csv_rows(
    summary: Mapping[str, MethodSummary], comparisons: Comparisons | None = None
) -> list[dict[str, Any]]:
    """One row per method (per method and variant when there are variants: a ``variant``
    column follows ``method``), then the baselines: ``baseline`` (true/false), seeds,
    ``<metric>_mean/_std/_n`` for every metric, and with ``comparisons``
    ``<metric>_diff/_diff_low/_diff_high`` (row − reference; empty for the reference and where
    the rows share no metric); run folders last."""
    with_variants = any(ms.variant is not None for ms in summary.values())
    rows = []
    for name, ms in summary.items():
        row: dict[str, Any] = {"method": ms.method}
        if with_variants:
            row["variant"] = ms.variant
        row |= {
            "baseline": "true" if ms.baseline else "false",
            "n_seeds": ms.n_seeds,
            "seeds": ";".join(map(str, ms.seeds)),
        }
        for key, s in ms.metrics.items():
            row[f"{key}_mean"] = s.mean
            row[f"{key}_std"] = s.std
            row[f"{key}_n"] = s.n
        if comparisons is not None:
            row["compared_to"] = comparisons.reference
            intervals = comparisons.intervals.get(name) or {}
            for key in COMPARED:
                interval = intervals.get(key)
                row[f"{key}_diff"] = None if interval is None else interval.difference
                row[f"{key}_diff_low"] = None if interval is None else interval.low
                row[f"{key}_diff_high"] = None if interval is None else interval.high
        row["run_folders"] = ";".join(r["path"] for r in ms.runs)
        rows.append(row)
    return rows


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write ``rows`` as CSV (absent values are empty cells), atomically."""
    fields = list(dict.fromkeys(k for row in rows for k in row))
    with atomic_open(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in fields})


def write_results(
    output: Path,
    summary: Mapping[str, MethodSummary],
    runs: Sequence[RunResult],
    info: Mapping[str, Any],
    plots: Sequence[Path],
    comparisons: Comparisons | None = None,
) -> list[Path]:
    """Write results.md, results.csv and results.json into ``output``; return their paths."""
    output = Path(output)
    payload = {
        **info,
        "metric_names": dict(METRICS),
        "summary": {row: ms.to_dict() for row, ms in summary.items()},
        "comparisons": comparisons.to_dict() if comparisons is not None else None,
        "runs": [run.to_dict() for run in runs],
        "plots": [relative_path(str(p), output) for p in plots],
    }
    paths = [output / RESULTS_MD, output / RESULTS_CSV, output / RESULTS_JSON]
    with atomic_open(paths[0]) as handle:
        handle.write(results_markdown(summary, runs, info, plots, output, comparisons))
    write_csv(paths[1], csv_rows(summary, comparisons))
    write_json(paths[2], payload)
    return paths


def results_table(
    summary: Mapping[str, MethodSummary], keys: Sequence[str] | None = None, title: str = ""
) -> Table:
    """The results as a rich table for the terminal: one row per metric (all of
    :data:`~reason2decide.bench.aggregate.METRICS` by default), one column per method, so that
    six methods fit a terminal; metrics no method has are left out."""
    keys = list(keys) if keys is not None else list(METRICS)
    keys = [k for k in keys if any(ms.metrics[k].mean is not None for ms in summary.values())]
    table = Table(title=title or None, show_header=True, header_style="bold")
    table.add_column("metric", no_wrap=True)
    for ms in summary.values():  # a variant's name goes under its method, on a second line
        header = ms.method if ms.variant is None else f"{ms.method}\n[{ms.variant}]"
        if ms.baseline:
            header += "\n(baseline)"
        table.add_column(header, justify="right", no_wrap=True)
    table.add_row("seeds", *["—" if ms.baseline else str(ms.n_seeds) for ms in summary.values()])
    table.add_section()
    for key in keys:
        table.add_row(
            METRICS[key],
            *[format_summary(ms.metrics[key], ms.n_seeds, key, sep="±") for ms in summary.values()],
        )
    return table
