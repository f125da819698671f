"""What every part of a bench shares: the spec, a planned run, the plan, folder and file names.

The bench modules import one way (``tests/test_layering.py`` checks it)::

    spec (this module), aggregate, significance, variants, zero_shot, baselines
      <- plan, examples          what runs: methods × seeds, data, resume decisions
      <- comparisons, report, markdown, plots      tables, intervals, plots
      <- execute                 trains/evaluates the planned runs, then reports

Output folder layout::

    OUTPUT/
      runs/<method>/seed<k>/      an ordinary training output folder (run.json, model/, ...)
        eval/metrics.json         the test metrics (written last: its presence marks the end)
        eval/predictions.jsonl    one record per test example
      runs/<method>@<variant>/seed<k>/   the same, for a run of a variant
      runs/zero-shot-llm/seed<k>/eval/   the zero-shot LLM's metrics and predictions only
      baselines/<name>/           a reference baseline's metrics.json and predictions.jsonl
      results.md, results.csv, results.json
      plots/metric_<name>.png, plots/curves_<quantity>.png
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reason2decide.bench.aggregate import row_label
from reason2decide.bench.significance import N_RESAMPLES
from reason2decide.bench.zero_shot import ZERO_SHOT_METHOD, ZeroShotSpec
from reason2decide.generation import GenerationSettings
from reason2decide.methods import METHODS

if TYPE_CHECKING:
    from reason2decide.bench.variants import Variant
    from reason2decide.training.config import TrainConfig

#: How a bench reports progress: one line at a time (``print`` by default).
Say = Callable[[str], None]

#: Every method, in the order a benchmark runs and reports them by default.
DEFAULT_METHODS: tuple[str, ...] = (
    "r2d",
    "sft",
    "dss",
    "r2d-no-stage1",
    "r2d-no-sampling",
    "r2dc",
)
#: Every method a bench can run: the trained ones, then the zero-shot LLM (not trained).
BENCH_METHODS: tuple[str, ...] = (*METHODS, ZERO_SHOT_METHOD)

RUNS_DIR = "runs"
BASELINES_DIR = "baselines"
EVAL_DIR = "eval"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.jsonl"


@dataclass
class BenchSpec:
    """What to benchmark and how.

    ``training`` holds :class:`~reason2decide.training.TrainConfig` options shared by every run
    (model and budget: ``max_steps``, ``stage1_max_steps``, ``batch_size``, ``lr``, ...); None
    values mean "not given". ``config_file`` is a YAML file of further shared options (flags in
    ``training`` win). Method, seed, data files and output folder are set by the bench.

    ``variants`` (``--variant`` texts, :class:`~reason2decide.bench.variants.Variant` objects
    or ``{name: {option: value}}``) run every trained method once per variant, its options
    winning over the shared ones. ``llm`` says which server answers for the ``zero-shot-llm``
    method (required when that method is listed). ``generation`` says how the trained runs
    decode their test rationales; a change re-evaluates them without retraining.

    ``baselines`` adds the reference baselines' rows. ``compare_to`` names the reference row of
    the paired bootstrap intervals (a method, a row ``"method [variant]"`` or a baseline;
    default: the first row); ``bootstrap_resamples`` = 0 computes no intervals.
    """

    data: Path
    output: Path
    methods: Sequence[str] = DEFAULT_METHODS
    seeds: Sequence[int] = (0,)
    training: Mapping[str, Any] = field(default_factory=dict)
    config_file: Path | None = None
    test_limit: int | None = None
    eval_batch_size: int = 16
    with_bertscore: bool = True
    bertscore_model: str | None = None
    bertscore_layers: int | None = None
    progress: bool = True
    command: str | None = None
    variants: Sequence[Variant | str] | Mapping[str, Mapping[str, Any]] = ()
    llm: ZeroShotSpec | None = None
    baselines: bool = True
    compare_to: str | None = None
    bootstrap_resamples: int = N_RESAMPLES
    generation: GenerationSettings = field(default_factory=GenerationSettings)

    def __post_init__(self) -> None:
        self.data = Path(self.data)
        self.output = Path(self.output)
        if self.config_file is not None:
            self.config_file = Path(self.config_file)


@dataclass
class PlannedRun:
    """One cell of the grid: its config, folder and state (complete/evaluate/resume/new).

    ``variant`` names the variant of a trained run (None without variants). A ``zero-shot-llm``
    run carries the shared config (for its columns) and is never trained.
    """

    method: str
    seed: int
    path: Path
    config: TrainConfig
    state: str
    variant: str | None = None

    @property
    def row(self) -> str:
        """The results row of this run: ``method`` or ``"method [variant]"``."""
        return row_label(self.method, self.variant)

    @property
    def label(self) -> str:
        """How the run is named in progress lines: ``"r2d [llm-human] seed 0"``."""
        return f"{self.row} seed {self.seed}"

    @property
    def trained(self) -> bool:
        """Whether this run trains a model (every method but ``zero-shot-llm``)."""
        return self.method != ZERO_SHOT_METHOD


@dataclass
class BenchPlan:
    """Everything :func:`~reason2decide.bench.plan.make_plan` checked and decided, computed once
    for the whole bench: the runs in order, and what they share.

    ``splits`` are the resolved train/val/test files, ``settings`` the evaluation settings a
    complete run must have been scored with, ``shared`` the configuration without any variant
    (its columns read the test set; results.md reports it), ``reference`` the row every other
    row is compared with, ``llm`` the checked zero-shot LLM settings (None when not listed).
    """

    runs: list[PlannedRun]
    methods: list[str]
    seeds: list[int]
    variants: list[Variant]
    splits: dict[str, Path]
    settings: dict[str, Any]
    shared: TrainConfig
    output: Path
    reference: str
    llm: ZeroShotSpec | None = None

    @property
    def rows(self) -> list[str]:
        """The results rows of the runs, in plan order (baselines come after)."""
        return list(dict.fromkeys(run.row for run in self.runs))
