"""Aggregate the metrics of a benchmark's runs: mean ± sample standard deviation per row.

A row is a method, or a method under a named variant of the training options (``r2d
[llm-human]``, see :mod:`~reason2decide.bench.variants`).

Pure functions over plain dicts, so that they are easy to test and to reuse on metrics files
written elsewhere. A metric a run does not have (``None``, e.g. BLEU of label-only SFT, or a
non-finite number) is *absent*: it is left out of that method's mean and standard deviation,
never counted as 0, and ``n`` says over how many seeds each number was computed.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The scalar metrics a benchmark reports, in table order, with their display names.
METRICS: dict[str, str] = {
    "accuracy": "accuracy",
    "macro_f1": "macro-F1",
    "ece": "ECE",
    "bleu": "BLEU",
    "bertscore_precision": "BERTScore P",
    "bertscore_recall": "BERTScore R",
    "bertscore_f1": "BERTScore F1",
    "consistency": "consistency",
    "sufficiency": "sufficiency",
    "gold_robustness": "gold robustness",
    "rationale_words": "rationale words",
    "empty_rationales": "empty rationales",
    "repetition_rate": "repetition rate",
    "examples_per_second": "inference ex/s",
    "train_wall_s": "train time (s)",
    "train_cpu_s": "train CPU (s)",
    "train_steps": "train steps",
}

#: Decimals shown for metrics that are not rates (rates get 4).
DIGITS: dict[str, int] = {
    "rationale_words": 1,
    "examples_per_second": 1,
    "train_wall_s": 1,
    "train_cpu_s": 1,
    "train_steps": 0,
}

#: Metrics where a lower value is better (for plot annotations and readers).
LOWER_IS_BETTER = frozenset(
    {"ece", "empty_rationales", "repetition_rate", "train_wall_s", "train_cpu_s", "train_steps"}
)


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None when it is absent, not a number, or not finite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def flatten_metrics(
    metrics: Mapping[str, Any], run: Mapping[str, Any] | None = None
) -> dict[str, float | None]:
    """The scalar metrics of one run, keyed as :data:`METRICS` (absent ones are None).

    ``metrics`` is an evaluation report (``eval/metrics.json``); ``run`` is the run manifest
    (``run.json``), which supplies the training wall time, its CPU time (all cores together;
    absent from runs made before it was recorded) and the number of optimisation steps (summed
    over stages).
    """
    flat: dict[str, float | None] = {
        key: _number(metrics.get(key))
        for key in (
            "accuracy",
            "macro_f1",
            "ece",
            "bleu",
            "bertscore_precision",
            "bertscore_recall",
            "bertscore_f1",
            "consistency",
            "sufficiency",
            "gold_robustness",
        )
    }
    lengths = metrics.get("rationale_length") or {}
    generated = lengths.get("generated_words") or {}
    flat["rationale_words"] = _number(generated.get("mean"))
    flat["empty_rationales"] = _number(lengths.get("empty_generated"))
    flat["repetition_rate"] = _number(metrics.get("repetition_rate"))
    flat["examples_per_second"] = _number(
        (metrics.get("inference") or {}).get("examples_per_second")
    )
    flat["train_wall_s"] = None
    flat["train_cpu_s"] = None
    flat["train_steps"] = None
    if run is not None:
        flat["train_wall_s"] = _number(run.get("wall_time_s"))
        flat["train_cpu_s"] = _number(run.get("cpu_time_s"))
        stages = run.get("stages") or {}
        steps = [_number(s.get("steps_done")) for s in stages.values()]
        flat["train_steps"] = sum(s for s in steps if s is not None) if stages else None
    return flat


@dataclass(frozen=True)
class Summary:
    """Mean and sample standard deviation (ddof 1) of the values present; ``n`` of them.

    ``std`` is None with fewer than two values; ``mean`` is None with none.
    """

    mean: float | None
    std: float | None
    n: int
    values: tuple[float | None, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "n": self.n, "values": list(self.values)}


def summarize(values: Iterable[Any]) -> Summary:
    """:class:`Summary` of ``values``, skipping absent ones (None, non-numbers, NaN, inf)."""
    raw = tuple(_number(v) for v in values)
    present = [v for v in raw if v is not None]
    if not present:
        return Summary(None, None, 0, raw)
    mean = statistics.fmean(present)
    std = statistics.stdev(present) if len(present) > 1 else None
    return Summary(mean, std, len(present), raw)


def row_label(method: str, variant: str | None = None) -> str:
    """The name of a results row: ``method``, or ``"method [variant]"`` under a variant."""
    return method if variant is None else f"{method} [{variant}]"


@dataclass
class RunResult:
    """One finished run of a benchmark: its method (and variant), seed, folder and flattened
    metrics. A reference baseline (``baseline``) is one run without a seed (``seed`` None)."""

    method: str
    seed: int | None
    path: str
    metrics: dict[str, float | None]
    action: str = "skipped"
    eval_wall_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    variant: str | None = None
    baseline: bool = False

    @property
    def row(self) -> str:
        """The results row this run belongs to (see :func:`row_label`)."""
        return row_label(self.method, self.variant)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; ``variant`` is present only for a run of a variant, ``baseline`` only
        for a baseline."""
        head: dict[str, Any] = {"method": self.method}
        if self.variant is not None:
            head["variant"] = self.variant
        if self.baseline:
            head["baseline"] = True
        return {
            **head,
            "seed": self.seed,
            "path": self.path,
            "action": self.action,
            "eval_wall_s": self.eval_wall_s,
            "metrics": dict(self.metrics),
            **self.extra,
        }


@dataclass
class MethodSummary:
    """Every metric of one row (a method, or a method under a variant) summarised over its
    seeds, and where each run lives. A reference baseline's row (``baseline``) has one run and
    no seeds."""

    method: str
    seeds: list[int]
    runs: list[dict[str, Any]]
    metrics: dict[str, Summary]
    variant: str | None = None
    baseline: bool = False

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    @property
    def label(self) -> str:
        """The row's name (see :func:`row_label`)."""
        return row_label(self.method, self.variant)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; ``variant`` is present only for a row of a variant."""
        head: dict[str, Any] = {"method": self.method}
        if self.variant is not None:
            head["variant"] = self.variant
        return {
            **head,
            "baseline": self.baseline,
            "n_seeds": self.n_seeds,
            "seeds": list(self.seeds),
            "runs": list(self.runs),
            "metrics": {name: s.to_dict() for name, s in self.metrics.items()},
        }


def aggregate(
    runs: Sequence[RunResult], methods: Sequence[str] | None = None
) -> dict[str, MethodSummary]:
    """Group ``runs`` by row (:attr:`RunResult.row`: the method, or ``"method [variant]"``) in
    the order of ``methods`` (row names; else first appearance) and summarise every metric of
    :data:`METRICS` (plus any other key the runs carry) over the seeds. The result is keyed by
    row name."""
    order = list(methods) if methods is not None else list(dict.fromkeys(r.row for r in runs))
    keys = list(METRICS) + sorted({k for r in runs for k in r.metrics} - set(METRICS))
    result: dict[str, MethodSummary] = {}
    for row in order:
        mine = sorted((r for r in runs if r.row == row), key=lambda r: (r.seed is None, r.seed))
        result[row] = MethodSummary(
            method=mine[0].method if mine else row,
            seeds=[r.seed for r in mine if r.seed is not None],
            runs=[{"seed": r.seed, "path": r.path} for r in mine],
            metrics={key: summarize(r.metrics.get(key) for r in mine) for key in keys},
            variant=mine[0].variant if mine else None,
            baseline=bool(mine) and mine[0].baseline,
        )
    return result


def format_summary(
    summary: Summary, n_seeds: int | None = None, digits: int | str = 4, sep: str = " ± "
) -> str:
    """``"mean ± std"`` (``"mean"`` for one value, ``"—"`` when absent); ``" (n=k)"`` is added
    when fewer than ``n_seeds`` seeds had the metric. ``digits`` may name a metric of
    :data:`DIGITS` (4 decimals for any other)."""
    if isinstance(digits, str):
        digits = DIGITS.get(digits, 4)
    if summary.mean is None:
        return "—"
    text = f"{summary.mean:.{digits}f}"
    if summary.std is not None:
        text += f"{sep}{summary.std:.{digits}f}"
    if n_seeds is not None and summary.n < n_seeds:
        text += f" (n={summary.n})"
    return text
