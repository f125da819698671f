"""``r2d bench``: every method × seed with the same budget, then one table and its plots.

- :mod:`~reason2decide.bench.spec`: what the parts share: :class:`BenchSpec`, a planned run,
  the plan, folder and file names.
- :mod:`~reason2decide.bench.plan`: what runs (methods × seeds, the data files, which runs are
  complete, to evaluate, to resume or new), every check before anything trains
  (:func:`plan_bench`).
- :mod:`~reason2decide.bench.examples`: the test cases, the label set, the rationale check.
- :mod:`~reason2decide.bench.execute`: train/resume/evaluate each planned run, the baselines,
  then the reports (:func:`run_bench`).
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
- :mod:`~reason2decide.bench.report`: results.csv, results.json, the rich table;
  :mod:`~reason2decide.bench.markdown`: the text of results.md.
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
from reason2decide.bench.execute import BenchOutcome, run_bench
from reason2decide.bench.plan import make_plan, plan_bench
from reason2decide.bench.spec import (
    BENCH_METHODS,
    DEFAULT_METHODS,
    BenchPlan,
    BenchSpec,
    PlannedRun,
)
from reason2decide.bench.variants import Variant, parse_variant, parse_variants
from reason2decide.bench.zero_shot import ZERO_SHOT_METHOD, ZeroShotSpec

__all__ = [
    "BENCH_METHODS",
    "DEFAULT_METHODS",
    "METRICS",
    "ZERO_SHOT_METHOD",
    "BenchOutcome",
    "BenchPlan",
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
    "make_plan",
    "parse_variant",
    "parse_variants",
    "plan_bench",
    "row_label",
    "run_bench",
    "summarize",
]
