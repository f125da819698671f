"""``r2d bench``: every method × seed with the same budget, then one table and its plots.

- :mod:`~reason2decide.bench.runner`: plan the grid, train/resume/evaluate each run, skip
  complete ones (:func:`run_bench`, :class:`BenchSpec`).
- :mod:`~reason2decide.bench.aggregate`: mean ± sample std per metric and method (pure).
- :mod:`~reason2decide.bench.report`: results.md, results.csv, results.json, the rich table.
- :mod:`~reason2decide.bench.plots`: bar charts per metric and training curves per method.
"""

from reason2decide.bench.aggregate import (
    METRICS,
    MethodSummary,
    RunResult,
    Summary,
    aggregate,
    flatten_metrics,
    format_summary,
    summarize,
)
from reason2decide.bench.runner import (
    DEFAULT_METHODS,
    BenchOutcome,
    BenchSpec,
    PlannedRun,
    parse_methods,
    parse_seeds,
    plan_bench,
    run_bench,
)

__all__ = [
    "DEFAULT_METHODS",
    "METRICS",
    "BenchOutcome",
    "BenchSpec",
    "MethodSummary",
    "PlannedRun",
    "RunResult",
    "Summary",
    "aggregate",
    "flatten_metrics",
    "format_summary",
    "parse_methods",
    "parse_seeds",
    "plan_bench",
    "run_bench",
    "summarize",
]
