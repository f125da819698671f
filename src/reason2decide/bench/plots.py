"""A benchmark's plots: one bar chart per metric, and training curves per method.

Drawn with matplotlib's object API on the Agg canvas (no pyplot state, no display needed) and
written atomically:

Rows are methods, or ``method [variant]`` in a bench with variants.

- ``plots/metric_<name>.png``: per method, the mean over seeds as a bar, ± 1 sample std as the
  error bar, each seed's value as a dot; a method without the metric shows "n/a"; the reference
  baselines are grey hatched bars.
- ``plots/curves_<quantity>.png`` for ``loss``, ``alpha``, ``p_pred`` and ``eval_macro_f1``: one
  line per method, the **mean over seeds** at each logged step of the method's *decision stage*
  (Stage 2 of a two-stage method, the only stage otherwise), with a ± 1 std band where two or
  more seeds logged that step. ``curves_stage1_loss.png`` shows Stage 1's rationale loss of the
  two-stage methods. A quantity no method logs (α and p of SFT/DSS) gets no figure.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reason2decide.bench.aggregate import METRICS, MethodSummary, RunResult, Summary
from reason2decide.io import atomic_open
from reason2decide.methods import METHODS

PLOTS_DIR = "plots"
LOG_FILE = "log_history.jsonl"

#: Curve figures: name → (stage selector, log key, y-axis label).
CURVES: dict[str, tuple[str, str, str]] = {
    "loss": ("decision", "loss", "training loss (each method's objective)"),
    "alpha": ("decision", "alpha", "α (label-loss weight)"),
    "p_pred": ("decision", "p_pred", "p (share of predicted labels)"),
    "eval_macro_f1": ("decision", "eval_macro_f1", "validation macro-F1"),
    "stage1_loss": ("stage1", "loss", "Stage-1 rationale loss"),
}


def read_log(path: Path) -> list[dict[str, Any]]:
    """The rows of a ``log_history.jsonl`` (a line cut short by a crash is skipped)."""
    rows = []
    if not path.is_file():
        return rows
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def curve(rows: Sequence[Mapping[str, Any]], stage: str, key: str) -> dict[int, float]:
    """``step → value`` of ``key`` on the lines of ``stage`` (the last line of a step wins)."""
    points: dict[int, float] = {}
    for row in rows:
        value = row.get(key)
        if row.get("stage") != stage or isinstance(value, bool):
            continue
        if isinstance(value, (int, float)) and math.isfinite(value):
            points[int(row.get("step", 0))] = float(value)
    return points


def mean_curve(curves: Sequence[Mapping[int, float]]) -> list[tuple[int, float, float | None]]:
    """``(step, mean, std)`` over the curves that have each step (std None with one value)."""
    by_step: dict[int, list[float]] = defaultdict(list)
    for c in curves:
        for step, value in c.items():
            by_step[step].append(value)
    return [
        (
            step,
            statistics.fmean(values),
            statistics.stdev(values) if len(values) > 1 else None,
        )
        for step, values in sorted(by_step.items())
    ]


def _stage_of(method: str, selector: str) -> str | None:
    stages = METHODS[method].stages if method in METHODS else ()
    if selector == "decision":
        return stages[-1] if stages else None
    return selector if selector in stages else None


def method_curves(
    runs: Sequence[RunResult], selector: str, key: str
) -> dict[str, list[tuple[int, float, float | None]]]:
    """Per row (method, or ``method [variant]``; in run order), the mean-over-seeds curve of
    ``key`` in the selected stage; rows that never log it (and ``zero-shot-llm``, which is not
    trained) are left out."""
    logs: dict[str, list[dict[int, float]]] = defaultdict(list)
    for run in runs:
        stage = _stage_of(run.method, selector)
        if stage is None:
            continue
        points = curve(read_log(Path(run.path) / LOG_FILE), stage, key)
        if points:
            logs[run.row].append(points)
    return {method: mean_curve(curves) for method, curves in logs.items()}


def _new_figure(width: float = 6.4, height: float = 4.0) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, path: Path) -> None:
    with atomic_open(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=110)


def error_bars(stats: Sequence[Summary]) -> list[tuple[int, float, float]]:
    """``(position, mean, std)`` of the bars that get an error bar: those with a standard
    deviation (two seeds or more). A single seed gets none rather than one of length 0, which
    would read as "no spread"."""
    return [
        (x, s.mean, s.std) for x, s in enumerate(stats) if s.mean is not None and s.std is not None
    ]


def bar_chart(summary: Mapping[str, MethodSummary], key: str, path: Path) -> bool:
    """Draw one metric's bar chart into ``path``; False (nothing written) if no method has it."""
    methods = list(summary)
    stats = [summary[m].metrics[key] for m in methods]
    if all(s.mean is None for s in stats):
        return False
    figure = _new_figure(max(4.0, 1.1 * len(methods) + 1.5), 3.8)
    axes = figure.add_subplot()
    xs = list(range(len(methods)))
    shown = [x for x in xs if stats[x].mean is not None]
    baseline = [summary[methods[x]].baseline for x in shown]
    axes.bar(
        shown,
        [stats[x].mean for x in shown],
        color=[
            "lightgrey" if base else f"C{x % 10}" for x, base in zip(shown, baseline, strict=True)
        ],
        hatch=["//" if base else "" for base in baseline],
        edgecolor=["grey" if base else "none" for base in baseline],
        alpha=0.8,
    )
    bars = error_bars(stats)
    if bars:
        axes.errorbar(
            [x for x, _, _ in bars],
            [mean for _, mean, _ in bars],
            yerr=[std for _, _, std in bars],
            fmt="none",
            ecolor="black",
            capsize=4,
        )
    for x in xs:
        if stats[x].mean is None:
            axes.annotate("n/a", (x, 0), ha="center", va="bottom", color="grey")
            continue
        dots = [v for v in stats[x].values if v is not None]
        axes.plot([x] * len(dots), dots, "o", color="black", markersize=3, zorder=3)
    axes.set_xticks(xs, methods, rotation=20, ha="right")
    axes.set_ylabel(METRICS.get(key, key))
    n = max(summary[m].n_seeds for m in methods)
    # Two short lines: one long line is cut off in the narrow figures of few methods.
    axes.set_title(f"{METRICS.get(key, key)}\nmean ± std over up to {n} seed(s)", fontsize=10)
    axes.grid(axis="y", alpha=0.3)
    _save(figure, path)
    return True


def curves_chart(
    curves: Mapping[str, Sequence[tuple[int, float, float | None]]], ylabel: str, path: Path
) -> bool:
    """Draw one quantity's training curves (a line per method) into ``path``; False if empty."""
    if not curves:
        return False
    figure = _new_figure()
    axes = figure.add_subplot()
    for index, (method, points) in enumerate(curves.items()):
        steps = [p[0] for p in points]
        means = [p[1] for p in points]
        color = f"C{index % 10}"
        marker = "o" if len(points) < 30 else None
        axes.plot(steps, means, label=method, color=color, marker=marker, markersize=3)
        band = [(s, m, sd) for s, m, sd in points if sd is not None]
        if band:
            axes.fill_between(
                [b[0] for b in band],
                [b[1] - b[2] for b in band],
                [b[1] + b[2] for b in band],
                color=color,
                alpha=0.15,
                linewidth=0,
            )
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("step")
    axes.set_ylabel(ylabel)
    axes.set_title(f"{ylabel}\nmean over seeds, band ± 1 std", fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    _save(figure, path)
    return True


def write_plots(
    output: Path, summary: Mapping[str, MethodSummary], runs: Sequence[RunResult]
) -> list[Path]:
    """Write every bar chart and curve figure under ``output/plots``; return their paths."""
    folder = Path(output) / PLOTS_DIR
    written: list[Path] = []
    keys = list(dict.fromkeys(k for ms in summary.values() for k in ms.metrics))
    for key in keys:
        path = folder / f"metric_{key}.png"
        if bar_chart(summary, key, path):
            written.append(path)
    for name, (selector, key, ylabel) in CURVES.items():
        path = folder / f"curves_{name}.png"
        if curves_chart(method_curves(runs, selector, key), ylabel, path):
            written.append(path)
    for stale in [*folder.glob("metric_*.png"), *folder.glob("curves_*.png")]:
        if stale not in written:  # from an earlier invocation with other methods or metrics
            stale.unlink(missing_ok=True)
    return written
