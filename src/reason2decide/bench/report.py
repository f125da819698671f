"""A benchmark's reports: ``results.md``, ``results.csv``, ``results.json`` and a rich table.

Methods are rows (one per method and variant when the bench has variants: ``r2d [llm-human]``),
then the reference baselines (marked "(baseline)"); metrics are columns, every cell is
"mean ± std" over the seeds (sample standard deviation); a metric a method does not have
(rationale metrics of label-only SFT) shows "—". A second table gives each row's difference from
the reference row with its paired bootstrap interval.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from reason2decide.bench.aggregate import (
    DIGITS,
    METRICS,
    MethodSummary,
    RunResult,
    format_summary,
)
from reason2decide.io import atomic_open, write_json
from reason2decide.methods import METHODS
from reason2decide.metric_names import HEADLINE_METRICS

if TYPE_CHECKING:
    from reason2decide.bench.comparisons import Comparisons
    from reason2decide.bench.runner import BenchSpec, PlannedRun
    from reason2decide.bench.variants import Variant
    from reason2decide.training.config import TrainConfig

#: The bench method that is not trained (kept here as text: report imports no runner code).
ZERO_SHOT = "zero-shot-llm"

#: Columns of the main table; the others go to "More metrics".
MAIN_METRICS = tuple(HEADLINE_METRICS)
MORE_METRICS = tuple(k for k in METRICS if k not in MAIN_METRICS)
#: Columns of the differences table in results.md (results.json/csv have every compared metric).
DIFF_METRICS = (
    "accuracy",
    "macro_f1",
    "bleu",
    "bertscore_f1",
    "consistency",
    "sufficiency",
    "rationale_words",
)
BASELINE_MARK = " (baseline)"
#: Options that make up the budget, shown in results.md.
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
        f" {ZERO_SHOT} is not trained: an LLM answers each test case zero-shot (no training "
        "time or steps)."
        if ZERO_SHOT in methods
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


def shared_config(plan: Sequence[PlannedRun]) -> dict[str, Any]:
    """The training options common to every run (the first run's, less method/seed/output)."""
    dumped = plan[0].config.dump()
    return {k: v for k, v in dumped.items() if k not in PER_RUN_KEYS}


def bench_info(
    spec: BenchSpec,
    plan: Sequence[PlannedRun],
    splits: Mapping[str, Path],
    runs: Sequence[RunResult],
    *,
    n_test: int,
    wall_time_s: float,
    command: str,
    created_at: str,
    config: TrainConfig | None = None,
    variants: Sequence[Variant] = (),
) -> dict[str, Any]:
    """Everything besides the numbers that a reader of the results needs: command, data,
    budget, shared configuration (``config``, else the first run's), variants, the zero-shot
    LLM, hardware and wall time."""
    from reason2decide.data.fingerprint import fingerprint
    from reason2decide.training.runner import environment_info

    methods = list(dict.fromkeys(run.method for run in plan))
    seeds = list(dict.fromkeys(run.seed for run in plan))
    if config is not None:
        shared = {k: v for k, v in config.dump().items() if k not in PER_RUN_KEYS}
    else:
        shared = shared_config(plan)
    extra: dict[str, Any] = {}
    if variants:
        extra["variants"] = [_variant_info(v, plan) for v in variants]
    if ZERO_SHOT in methods and spec.llm is not None:
        extra["zero_shot_llm"] = {
            "base_url": spec.llm.base_url,
            "model": spec.llm.model,
            "temperature": spec.llm.temperature,
            "max_tokens": spec.llm.max_tokens,
            "label_retries": spec.llm.label_retries,
            "seeds": [run.seed for run in plan if run.method == ZERO_SHOT],
        }
    return {
        "created_at": created_at,
        "command": command,
        "methods": methods,
        "seeds": seeds,
        **extra,
        "gold_rationale_col": shared.get("rationale_col"),
        "data": {
            **{name: fingerprint(path) for name, path in splits.items()},
            "n_test_evaluated": n_test,
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
    }


def _generation_md(settings: Mapping[str, Any] | None) -> list[str]:
    """The results.md line on how the test rationales were decoded (none for old results)."""
    if not settings:
        return []
    text = ", ".join(f"{k} {'default' if v is None else v}" for k, v in settings.items())
    return [f"- rationale decoding (test set): {text}"]


def _variant_info(variant: Variant, plan: Sequence[PlannedRun]) -> dict[str, Any]:
    """A variant's options and, from one of its runs' configs, each stage's rationale source."""
    from reason2decide.bench.variants import rationale_sources

    info: dict[str, Any] = variant.to_dict()
    mine = [run for run in plan if run.variant == variant.name]
    if mine:
        info["rationale_sources"] = rationale_sources(mine[0].config)
    return info


def _runs_wall_time(runs: Sequence[RunResult]) -> float:
    total = 0.0
    for run in runs:
        total += float(run.extra.get("train_wall_s") or 0.0) + float(run.eval_wall_s or 0.0)
    return round(total, 2)


def _relative(path: str, root: Path) -> str:
    try:
        return os.path.relpath(path, root)
    except ValueError:  # another drive on Windows
        return path


def _steps_text(steps: Mapping[str, Any]) -> str:
    return " + ".join(f"{name} {n}" for name, n in steps.items()) or "—"


def _table_md(
    summary: Mapping[str, MethodSummary], keys: Sequence[str], with_seeds: bool
) -> list[str]:
    head = ["method"] + (["seeds"] if with_seeds else []) + [METRICS[k] for k in keys]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row, ms in summary.items():
        cells = [row + (BASELINE_MARK if ms.baseline else "")]
        if with_seeds:
            cells.append("—" if ms.baseline else str(ms.n_seeds))
        cells += [format_summary(ms.metrics[k], ms.n_seeds, k) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def results_markdown(
    summary: Mapping[str, MethodSummary],
    runs: Sequence[RunResult],
    info: Mapping[str, Any],
    plots: Sequence[Path],
    output: Path,
    comparisons: Comparisons | None = None,
) -> str:
    """The text of ``results.md``."""
    env = info["environment"]
    hardware = env.get("gpu") or f"CPU ({env.get('cpu_count')} cores)"
    if env.get("gpu"):
        hardware += f" × {env.get('gpu_count', 1)}"
    test = info["data"]["test"]
    walls = info["wall_time_s"]
    gold = info.get("gold_rationale_col")
    lines = [
        "# Benchmark results",
        "",
        "```",
        info["command"],
        "```",
        "",
        f"- created: {info['created_at']}",
        f"- methods: {', '.join(info['methods'])}; seeds: {', '.join(map(str, info['seeds']))}"
        + (
            f"; variants: {', '.join(v['name'] for v in info['variants'])}"
            if info.get("variants")
            else ""
        ),
        f"- data: train {info['data']['train']['path']} ({info['data']['train'].get('rows')} "
        f"rows), val {info['data']['val']['path']} ({info['data']['val'].get('rows')} rows), "
        f"test {test['path']} ({info['data']['n_test_evaluated']} examples evaluated)",
        f"- rationale metrics score every run against the test file's gold column `{gold}`"
        + (" (whatever rationales a variant trains on)" if info.get("variants") else ""),
        f"- backbone: {info['budget']['model']}",
        *(
            [f"- r2dc confidence c: {info['config'].get('r2dc_confidence')}"]
            if "r2dc" in info["methods"]
            else []
        ),
        *_generation_md(info["evaluation"].get("generation")),
        f"- hardware: {hardware}; {env.get('platform')}; torch {env.get('torch')}, "
        f"transformers {env.get('transformers')}, reason2decide {env.get('reason2decide')}",
        f"- wall time: {walls['this_invocation']:.0f} s for this invocation; "
        f"{walls['runs_total']:.0f} s of training and evaluation summed over all runs "
        "(as recorded by each run, including runs done by earlier invocations)",
        "",
        "## Budget",
        "",
        info["budget_note"],
        "",
        "| option | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in info["budget"].items() if v is not None],
        "",
        *_variants_md(info.get("variants") or []),
        *_zero_shot_md(info.get("zero_shot_llm"), runs),
        "## Results",
        "",
        "Mean ± sample standard deviation over the seeds ('seeds' = how many); '(n=k)' marks a "
        "metric that only k seeds have; '—' marks a metric the method does not have (e.g. "
        "rationale metrics of label-only SFT), never counted as 0. ECE: lower is better."
        + (
            ""
            if info["evaluation"]["with_bertscore"]
            else " BERTScore was not computed (--no-bertscore)."
        )
        + (
            " Rows marked (baseline) are the reference baselines (below): run once, no seed."
            if info.get("baselines")
            else ""
        ),
        "",
        *_table_md(summary, MAIN_METRICS, with_seeds=True),
        "",
        "### More metrics",
        "",
        *_table_md(summary, MORE_METRICS, with_seeds=False),
        "",
        *_baselines_md(info.get("baselines") or {}),
        *_comparisons_md(comparisons),
        "## Runs",
        "",
        "| method | seed | this invocation | steps | train s | eval s | folder |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        train_s = run.extra.get("train_wall_s")
        steps = _steps_text(run.extra.get("steps", {}))
        name = run.row + (BASELINE_MARK if run.baseline else "")
        lines.append(
            f"| {name} | {'—' if run.seed is None else run.seed} | {run.action} | {steps}"
            f" | {'—' if train_s is None else f'{train_s:.1f}'}"
            f" | {'—' if run.eval_wall_s is None else f'{run.eval_wall_s:.1f}'}"
            f" | {_relative(run.path, output)} |"
        )
    if plots:
        lines += [
            "",
            "## Plots",
            "",
            "Bars: mean over seeds, error bars ± 1 std, dots the single seeds. Curves: the "
            "decision stage of each method (Stage 2 for two-stage methods; the only stage "
            "otherwise) against its step, mean over seeds with a ± 1 std band; Stage 1's loss "
            "has its own figure.",
            "",
        ]
        for plot in plots:
            rel = _relative(str(plot), output)
            lines.append(f"![{plot.stem}]({rel})")
    return "\n".join(lines) + "\n"


def _baselines_md(baselines: Mapping[str, Mapping[str, Any]]) -> list[str]:
    if not baselines:
        return []
    lines = [
        "### Baselines",
        "",
        "What copying or a classical classifier gives, for reading the numbers above. Decision "
        "baselines have no rationale metrics, rationale baselines no decision metrics; the "
        "rationale baselines are scored against the same gold rationales with the same BLEU "
        "and BERTScore.",
        "",
    ]
    for name, about in baselines.items():
        text = f"- `{name}`: {about.get('description', '')}"
        if name == "tfidf-lr" and "C" in about:
            weight = about.get("class_weight") or "none"
            chosen = "chosen on validation" if about.get("selection") else "no validation split"
            text += f" (C = {about['C']}, class weight {weight}; {chosen})"
        if name == "majority" and about.get("label") is not None:
            text += f" (`{about['label']}`)"
        lines.append(text)
    return [*lines, ""]


def _fmt_diff(value: float, digits: int) -> str:
    return f"{value:+.{digits}f}".replace("-", "−")


def _interval_text(interval: Any, key: str, bold: bool = True) -> str:
    if interval is None:
        return "—"
    digits = DIGITS.get(key, 4)
    text = (
        f"{_fmt_diff(interval.difference, digits)} "
        f"[{_fmt_diff(interval.low, digits)}, {_fmt_diff(interval.high, digits)}]"
    )
    return f"**{text}**" if bold and interval.excludes_zero else text


def _comparisons_md(comparisons: Comparisons | None) -> list[str]:
    if comparisons is None or not comparisons.intervals:
        return []
    ref = comparisons.reference
    level = f"{comparisons.confidence:.0%}"
    lines = [
        f"## Differences from {ref}",
        "",
        f"Each cell: row − {ref}, over the test cases pooled across seeds (pairs: same seed and "
        "case; a row that does not depend on the seed — a baseline, zero-shot-llm at "
        f"temperature 0 — is paired with every seed of the other), and its {level} paired "
        f"bootstrap interval ({comparisons.n_resamples} resamples of the test cases, each "
        f"drawn with all its seeds; RNG seed {comparisons.seed}; percentile interval). "
        "macro-F1 is recomputed on each resample, the others are means of per-example scores. "
        "The pooled difference can differ slightly from the difference of the per-seed means "
        "above (macro-F1 is not a mean; a seed may lack a metric). **Bold**: the interval "
        "excludes zero. '—': the two rows share no metric there. The interval is about the "
        "sample of test cases given these seeds; the spread over seeds is the ± std above.",
        "",
        "| row | " + " | ".join(METRICS[k] for k in DIFF_METRICS) + " |",
        "|" + "---|" * (len(DIFF_METRICS) + 1),
    ]
    for row, by_metric in comparisons.intervals.items():
        cells = [_interval_text(by_metric.get(k), k) for k in DIFF_METRICS]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    excluding = comparisons.excluding_zero()
    lines.append("")
    if excluding:
        lines.append(f"Differences from {ref} whose {level} interval excludes zero:")
        lines.append("")
        for row, key, interval in excluding:
            side = "higher" if interval.difference > 0 else "lower"
            lines.append(
                f"- {row}: {METRICS.get(key, key)} {side}, "
                f"{_interval_text(interval, key, bold=False)}"
            )
    else:
        lines.append(f"No difference from {ref} has a {level} interval that excludes zero.")
    return [*lines, ""]


def _variants_md(variants: Sequence[Mapping[str, Any]]) -> list[str]:
    if not variants:
        return []
    lines = [
        "## Variants",
        "",
        "Every trained method ran once per variant; a variant's options replace the shared "
        "ones above. Rows are named `method [variant]`; runs live in "
        "`runs/<method>@<variant>/seed<k>/`. Rationale sources as each variant's configuration "
        "sets them (each run's `run.json` records what it used, under `rationale_sources`; "
        "Stage 1 only matters to two-stage methods).",
        "",
        "| variant | options | Stage-1 rationales | Stage-2 (and DSS) rationales |",
        "|---|---|---|---|",
    ]
    for v in variants:
        options = ", ".join(
            f"{k}={'' if value is None else value}" for k, value in v["overrides"].items()
        )
        sources = v.get("rationale_sources") or {}
        lines.append(
            f"| {v['name']} | {options or '—'} | {sources.get('stage1', '—')}"
            f" | {sources.get('stage2', '—')} |"
        )
    return [*lines, ""]


def _zero_shot_md(llm: Mapping[str, Any] | None, runs: Sequence[RunResult]) -> list[str]:
    if not llm:
        return []
    mine = [run for run in runs if run.method == ZERO_SHOT]
    seeds = ", ".join(map(str, llm.get("seeds") or [])) or "—"
    when = (
        f"once, in the folder of seed {seeds} (temperature 0: greedy answers do not depend on "
        "a seed, so none is sent)"
        if llm["temperature"] == 0
        else f"once per seed ({seeds}) at temperature {llm['temperature']}, the bench seed "
        "sent as the server's sampling seed"
    )
    lines = [
        "## Zero-shot LLM",
        "",
        f"`{ZERO_SHOT}`: model `{llm['model']}` at {llm['base_url']}, not trained, evaluated "
        f"{when}, on the same test cases and with "
        "the same metrics. It chooses from the trained methods' label set; consistency, "
        "sufficiency, gold robustness and ECE are absent (no model to re-predict from a "
        "rationale, no probabilities). Inference ex/s counts answers from the LLM cache too.",
        "",
    ]
    if mine:
        lines += [
            "| seed | label mapping (exact / normalized / prefix / contains / unmapped) |",
            "|---|---|",
        ]
        for run in mine:
            mapping = run.extra.get("label_mapping") or {}
            counts = " / ".join(
                str(mapping.get(k, "—"))
                for k in ("exact", "normalized", "prefix", "contains", "unmapped")
            )
            lines.append(f"| {run.seed} | {counts} |")
        lines.append("")
    return lines


def csv_rows(
    summary: Mapping[str, MethodSummary], comparisons: Comparisons | None = None
) -> list[dict[str, Any]]:
    """One row per method (per method and variant when there are variants: a ``variant``
    column follows ``method``), then the baselines: ``baseline`` (true/false), seeds,
    ``<metric>_mean/_std/_n`` for every metric, and with ``comparisons``
    ``<metric>_diff/_diff_low/_diff_high`` (row − reference; empty for the reference and where
    the rows share no metric); run folders last."""
    from reason2decide.bench.comparisons import COMPARED

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
        "plots": [_relative(str(p), output) for p in plots],
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
