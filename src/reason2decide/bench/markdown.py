"""The text of a benchmark's ``results.md``: the command and data, the budget, the results
tables, the baselines, the differences from the reference row, the runs and the plots.

Methods are rows (one per method and variant when the bench has variants: ``r2d [llm-human]``),
then the reference baselines (marked "(baseline)"); metrics are columns, every cell is
"mean ± std" over the seeds (sample standard deviation); a metric a method does not have
(rationale metrics of label-only SFT) shows "—". A second table gives each row's difference from
the reference row with its paired bootstrap interval.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reason2decide.bench.aggregate import DIGITS, METRICS, MethodSummary, RunResult, format_summary
from reason2decide.bench.comparisons import Comparisons
from reason2decide.bench.zero_shot import ZERO_SHOT_METHOD
from reason2decide.metric_names import HEADLINE_METRICS

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


def relative_path(path: str, root: Path) -> str:
    """``path`` relative to ``root`` (as given when it is on another drive)."""
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


def _options_md(data: Mapping[str, Any]) -> list[str]:
    """The results.md line saying that multiple-choice cases are scored over their options."""
    n, total = data.get("n_test_with_options") or 0, data.get("n_test_evaluated")
    if not n:
        return []
    if n == total:
        return [
            "- multiple choice: every test case is scored over its own options; macro-F1 is "
            "over answer positions (A, B, …), not answer texts"
        ]
    return [f"- multiple choice: {n} of {total} test cases are scored over their own options"]


def _generation_md(settings: Mapping[str, Any] | None) -> list[str]:
    """The results.md line on how the test rationales were decoded (none for old results)."""
    if not settings:
        return []
    text = ", ".join(f"{k} {'default' if v is None else v}" for k, v in settings.items())
    return [f"- rationale decoding (test set): {text}"]


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
        *_options_md(info["data"]),
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
        "(as recorded by each run, including runs done by earlier invocations)"
        + _cpu_md(info.get("cpu_time_s")),
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
        "Wall seconds, and CPU seconds of the bench's process on all cores together (they do "
        "not grow while a run waits for a shared machine; '—' where a run did not record "
        "them, e.g. one made by an earlier version, or a zero-shot LLM answering from its "
        "own server).",
        "",
        "| method | seed | this invocation | steps | train s | train CPU s | eval s | eval CPU s "
        "| folder |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        steps = _steps_text(run.extra.get("steps", {}))
        name = run.row + (BASELINE_MARK if run.baseline else "")
        seconds = (
            run.extra.get("train_wall_s"),
            run.extra.get("train_cpu_s"),
            run.eval_wall_s,
            run.extra.get("eval_cpu_s"),
        )
        lines.append(
            f"| {name} | {'—' if run.seed is None else run.seed} | {run.action} | {steps} | "
            + " | ".join("—" if s is None else f"{s:.1f}" for s in seconds)
            + f" | {relative_path(run.path, output)} |"
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
            rel = relative_path(str(plot), output)
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
        "sample of test cases given these seeds; the spread over seeds is the ± std above. "
        "'pairs': the (seed, case) pairs compared, and the distinct test cases among them "
        "(a seed or case that only one of the two rows has is left out).",
        "",
        "| row | pairs (cases) | " + " | ".join(METRICS[k] for k in DIFF_METRICS) + " |",
        "|" + "---|" * (len(DIFF_METRICS) + 2),
    ]
    for row, by_metric in comparisons.intervals.items():
        cells = [_interval_text(by_metric.get(k), k) for k in DIFF_METRICS]
        counted = next((i for i in by_metric.values() if i is not None), None)
        pairs = "—" if counted is None else f"{counted.n_units} ({counted.n_cases})"
        lines.append(f"| {row} | {pairs} | " + " | ".join(cells) + " |")
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
    mine = [run for run in runs if run.method == ZERO_SHOT_METHOD]
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
        f"`{ZERO_SHOT_METHOD}`: model `{llm['model']}` at {llm['base_url']}, not trained, "
        f"evaluated {when}, on the same test cases and with "
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


def _cpu_md(cpu: Mapping[str, Any] | None) -> str:
    """The header's CPU-time clause, where trained runs recorded it."""
    if not cpu or not cpu.get("runs"):
        return ""
    share = (
        "every trained run"
        if cpu["runs"] == cpu["of_trained_runs"]
        else f"{cpu['runs']} of {cpu['of_trained_runs']} trained runs"
    )
    return f"; {cpu['runs_total']:.0f} CPU s (all cores together) over {share}"
