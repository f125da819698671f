"""``r2d bench``: every method × seed with the same budget, then one table and its plots.

- :mod:`~reason2decide.bench.runner`: plan the grid, train/resume/evaluate each run, skip
  complete ones (:func:`run_bench`, :class:`BenchSpec`).
- :mod:`~reason2decide.bench.variants`: named variants of the training options (``--variant``),
  e.g. Stage-1/Stage-2 rationale sources; one results row per method × variant.
- :mod:`~reason2decide.bench.zero_shot`: the ``zero-shot-llm`` method (an LLM server, not
  trained), scored like the others.
- :mod:`~reason2decide.bench.baselines`: the reference baselines of every table (majority,
  TF-IDF + logistic regression, copy rationales), scored with the evaluation's metrics.
- :mod:`~reason2decide.bench.significance`: paired bootstrap intervals of a difference (pure).
- :mod:`~reason2decide.bench.comparisons`: every row against the reference row, from the
  prediction files.
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
    row_label,
    summarize,
)
from reason2decide.bench.runner import (
    BENCH_METHODS,
    DEFAULT_METHODS,
    BenchOutcome,
    BenchSpec,
    PlannedRun,
    parse_methods,
    parse_seeds,
    plan_bench,
    run_bench,
)
from reason2decide.bench.variants import Variant, parse_variant, parse_variants
from reason2decide.bench.zero_shot import ZERO_SHOT_METHOD, ZeroShotSpec

__all__ = [
    "BENCH_METHODS",
    "DEFAULT_METHODS",
    "METRICS",
    "ZERO_SHOT_METHOD",
    "BenchOutcome",
    "BenchSpec",
    "MethodSummary",
    "PlannedRun",
    "RunResult",
    "Summary",
    "Variant",
    "ZeroShotSpec",
    "aggregate",
    "flatten_metrics",
    "format_summary",
    "parse_methods",
    "parse_seeds",
    "parse_variant",
    "parse_variants",
    "plan_bench",
    "row_label",
    "run_bench",
    "summarize",
]
