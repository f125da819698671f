"""Run every method × seed of a benchmark with the same budget, in this process.

A thin layer over :func:`~reason2decide.training.run_training` and
:func:`~reason2decide.evaluation.pipeline.evaluate_model`: it plans the grid, skips what is done,
resumes what was interrupted, evaluates on the test split, then aggregates, plots and reports.

The grid is method × seed, or method × variant × seed with named variants of the training
options (:mod:`~reason2decide.bench.variants`). The ``zero-shot-llm`` method is not trained: an
LLM server answers the test cases (:mod:`~reason2decide.bench.zero_shot`). After the grid, the
reference baselines run once (:mod:`~reason2decide.bench.baselines`) and every row is compared
with a reference row by a paired bootstrap (:mod:`~reason2decide.bench.comparisons`).

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

A run is *complete* when its ``run.json`` says ``"status": "complete"`` and its evaluation exists
with the same evaluation settings (for ``zero-shot-llm``: when its evaluation exists with the
same settings); complete runs are skipped, so running the same command again after an
interruption continues where it stopped.
"""

from __future__ import annotations

import gc
import json
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from reason2decide.bench.aggregate import RunResult, aggregate, flatten_metrics, row_label
from reason2decide.bench.significance import N_RESAMPLES
from reason2decide.bench.variants import Variant, parse_variants, same_training
from reason2decide.bench.zero_shot import (
    ZERO_SHOT_METHOD,
    ZeroShotSpec,
    evaluate_zero_shot,
    zero_shot_state,
)
from reason2decide.data.example import Example
from reason2decide.data.leakage import DEFAULT_PLACEHOLDER
from reason2decide.errors import R2DError
from reason2decide.generation import GREEDY, GenerationSettings
from reason2decide.io import read_json
from reason2decide.methods import METHODS
from reason2decide.training.config import TrainConfig, build_config, load_yaml, upgrade_options

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
#: File names tried for each split inside ``--data``, first match wins.
SPLIT_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet")
#: Training options the bench sets per run: a config file's values for them are replaced.
BENCH_OWNED = ("method", "seed", "train", "val", "output")
#: Training options that make no sense in a bench (it trains every stage of every method).
BENCH_FORBIDDEN = ("stage", "init")

RUNS_DIR = "runs"
BASELINES_DIR = "baselines"
EVAL_DIR = "eval"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.jsonl"

#: What happens to a run, as printed and recorded: planned state → action.
ACTIONS = {"complete": "skipped", "evaluate": "evaluated", "resume": "resumed", "new": "trained"}


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
class BenchOutcome:
    """What :func:`run_bench` did and wrote."""

    output: Path
    runs: list[RunResult]
    summary: dict[str, Any]
    files: list[Path]
    plots: list[Path]
    wall_time_s: float


# ---------------------------------------------------------------------- parsing and checks
def parse_methods(text: str | Sequence[str]) -> list[str]:
    """Method names from ``"r2d,sft"`` (or a list): the trained methods and ``zero-shot-llm``;
    unknown or repeated names are user errors."""
    names = [m.strip() for m in (text.split(",") if isinstance(text, str) else text)]
    names = [m for m in names if m]
    if not names:
        raise R2DError(
            "no methods given", field="methods", hint=f"choose from {', '.join(BENCH_METHODS)}"
        )
    unknown = [m for m in names if m not in BENCH_METHODS]
    if unknown:
        raise R2DError(
            f"unknown method(s) {', '.join(repr(m) for m in unknown)}",
            field="methods",
            hint=f"choose from {', '.join(BENCH_METHODS)}",
        )
    repeated = sorted({m for m in names if names.count(m) > 1})
    if repeated:
        raise R2DError(f"method(s) listed twice: {', '.join(repeated)}", field="methods")
    return names


def parse_seeds(text: str | Sequence[int]) -> list[int]:
    """Seeds from ``"0,1,2"`` (or a list of ints); non-integers and repeats are user errors."""
    items = text.split(",") if isinstance(text, str) else list(text)
    seeds: list[int] = []
    for item in items:
        if isinstance(item, str) and not item.strip():
            continue
        try:
            seeds.append(int(item))
        except (TypeError, ValueError):
            raise R2DError(
                f"seed {item!r} is not an integer", field="seeds", hint="e.g. --seeds 0,1,2"
            ) from None
    if not seeds:
        raise R2DError("no seeds given", field="seeds", hint="e.g. --seeds 0,1,2")
    if len(set(seeds)) != len(seeds):
        raise R2DError("a seed is listed twice", field="seeds")
    return seeds


def find_splits(data: Path) -> dict[str, Path]:
    """The train/val/test files of a prepared data folder (``train.jsonl``, ...)."""
    if not data.is_dir():
        raise R2DError(
            "the --data folder does not exist" if not data.exists() else "--data is not a folder",
            path=data,
            hint="prepare one with 'r2d data prepare SOURCE --out DIR' "
            "or 'r2d data synth-triage --out DIR'",
        )
    found: dict[str, Path] = {}
    for split in ("train", "val", "test"):
        for suffix in SPLIT_SUFFIXES:
            candidate = data / f"{split}{suffix}"
            if candidate.is_file():
                found[split] = candidate.resolve()
                break
        else:
            raise R2DError(
                f"no {split} split in the data folder",
                path=data,
                hint=f"expected {split}.jsonl (or .csv/.tsv/.parquet) beside the other splits, "
                "as written by 'r2d data prepare SOURCE --out DIR'",
            )
    return found


def _check_config_file(config_file: Path | None, say: Say) -> None:
    if config_file is None:
        return
    values = load_yaml(config_file)
    forbidden = [k for k in BENCH_FORBIDDEN if values.get(k) not in (None, "all")]
    if forbidden:
        raise R2DError(
            f"a bench trains every stage of every method: remove {', '.join(forbidden)}",
            path=config_file,
        )
    owned = [k for k in BENCH_OWNED if k in values]
    if owned:
        say(
            f"note: {config_file} sets {', '.join(owned)}; the bench sets these itself "
            "(--data, --methods, --seeds, --output) and ignores the file's values."
        )


def run_path(output: Path, method: str, seed: int, variant: str | None = None) -> Path:
    """The folder of one run: ``OUTPUT/runs/<method>/seed<k>``, or
    ``OUTPUT/runs/<method>@<variant>/seed<k>`` for a run of a variant."""
    folder = method if variant is None else f"{method}@{variant}"
    return output / RUNS_DIR / folder / f"seed{seed}"


def eval_settings(spec: BenchSpec, test: Path) -> dict[str, Any]:
    """What decides a run's test metrics besides its model; a change re-evaluates the run."""
    from reason2decide.data.fingerprint import fingerprint

    return {
        "test_sha256": fingerprint(test)["sha256"],
        "test_limit": spec.test_limit,
        "with_bertscore": spec.with_bertscore,
        "bertscore_model": spec.bertscore_model,
        "bertscore_layers": spec.bertscore_layers,
        # consistency/sufficiency read label-masked rationales (runs scored before are redone)
        "faithfulness_label_masking": DEFAULT_PLACEHOLDER,
    }


def _read_json(path: Path) -> Any:
    try:
        return read_json(path)
    except (OSError, ValueError) as exc:
        raise R2DError(
            f"cannot read: {exc}",
            path=path,
            hint="delete this run's folder to run it again from scratch",
        ) from None


def run_state(
    path: Path, settings: Mapping[str, Any], generation: GenerationSettings | None = None
) -> str:
    """``complete`` (trained and evaluated with ``settings`` and rationale decoding
    ``generation``, default :class:`GenerationSettings`), ``evaluate`` (trained, not or
    differently evaluated), ``resume`` (a run.json that is not complete) or ``new``.

    An evaluation that recorded no decoding settings was made before they existed, with plain
    greedy decoding. A complete evaluation needs no model: a run folder copied without its
    weights (e.g. from a GPU machine) still counts as complete, and as an error if it would
    need re-evaluating."""
    from reason2decide.training.runner import MODEL_DIR, RUN_FILE

    if not (path / RUN_FILE).is_file():
        return "new"
    manifest = _read_json(path / RUN_FILE)
    if manifest.get("status") != "complete":
        return "resume"
    metrics_path = path / EVAL_DIR / METRICS_FILE
    evaluated = metrics_path.is_file()
    saved = decoded = None
    if evaluated:
        metrics = _read_json(metrics_path)
        saved = (metrics.get("bench_eval") or {}).get("settings")
        decoded = metrics.get("generation") or GREEDY.to_dict()
    wanted = (generation or GenerationSettings()).to_dict()
    if evaluated and saved == dict(settings) and decoded == wanted:
        return "complete"
    if not (path / MODEL_DIR).is_dir():
        if evaluated:
            raise R2DError(
                "this run was evaluated with other settings and has no model to evaluate again",
                path=path,
                hint="run the bench with the settings it was evaluated with "
                f"({json.dumps(saved)}, decoding {json.dumps(decoded)}), or delete the folder "
                "to train it again",
            )
        return "resume"
    return "evaluate"


#: Config keys not compared with an existing run's: the folder itself (a bench folder may be
#: moved) and the data paths (compared by content instead, through the run's fingerprints).
_NOT_COMPARED = ("output", "train", "val")


def config_clashes(
    manifest: Mapping[str, Any], planned: TrainConfig, data_sha256: Mapping[str, str]
) -> list[str]:
    """How an existing run (its ``run.json``) differs from the run this bench would start:
    configuration values, and the content of the training and validation files
    (``data_sha256``: split name → sha256 of the file now)."""
    saved = upgrade_options(manifest.get("config") or {}, "an earlier run's run.json")
    dumped = planned.dump()
    clashes = [
        f"{key}={saved[key]!r} (now {dumped[key]!r})"
        for key in dumped
        if key in saved and key not in _NOT_COMPARED and saved[key] != dumped[key]
    ]
    for split in ("train", "val"):
        before = ((manifest.get("data") or {}).get(split) or {}).get("sha256")
        if before is not None and before != data_sha256[split]:
            clashes.append(f"the {split} file's content changed")
    return clashes


def _shared_flags(spec: BenchSpec) -> dict[str, Any]:
    return {k: v for k, v in spec.training.items() if v is not None}


def base_config(spec: BenchSpec, splits: Mapping[str, Path]) -> TrainConfig:
    """The shared training configuration: flags and ``--config`` without any variant, for the
    first trained method and seed. Its columns read the test set (``rationale_col`` is the gold
    every run is scored against) and it is the configuration results.md reports."""
    methods = parse_methods(spec.methods)
    trained = [m for m in methods if m != ZERO_SHOT_METHOD]
    flags = {
        **_shared_flags(spec),
        "method": trained[0] if trained else DEFAULT_METHODS[0],
        "seed": parse_seeds(spec.seeds)[0],
        "train": splits["train"],
        "val": splits["val"],
        "output": Path(spec.output).resolve() / RUNS_DIR,
    }
    return build_config(flags, spec.config_file)


def _zero_shot_spec(spec: BenchSpec, methods: Sequence[str], say: Say) -> ZeroShotSpec | None:
    """The checked LLM settings when ``zero-shot-llm`` is listed (else None, with a note when
    LLM settings were given for nothing)."""
    if ZERO_SHOT_METHOD in methods:
        llm = spec.llm or ZeroShotSpec()
        llm.check()
        return llm
    if spec.llm is not None and (spec.llm.base_url or spec.llm.model):
        say(f"note: the LLM server options are only used by {ZERO_SHOT_METHOD}, not in --methods.")
    return None


def _note_repeated_training(plan: Sequence[PlannedRun], say: Say) -> None:
    """Say when a method trains the same model under several variants (they differ only in
    options it does not use, e.g. Stage-1 rationales for sft/dss/r2d-no-stage1)."""
    first_seed = plan[0].seed if plan else None
    by_method: dict[str, dict[str, TrainConfig]] = {}
    for run in plan:
        if run.trained and run.variant is not None and run.seed == first_seed:
            by_method.setdefault(run.method, {})[run.variant] = run.config
    for method, configs in by_method.items():
        spec = METHODS[method]
        for names in same_training(configs, spec.stages, spec.requires_rationale):
            say(
                f"note: {method} trains the same model under variants {', '.join(names)}: they "
                f"differ only in options {method} does not use, so those runs repeat one "
                f"training (leave {method} out of --methods, or keep it as a check)."
            )


def plan_bench(spec: BenchSpec, *, say: Say = print) -> list[PlannedRun]:
    """Check everything a bench needs, then list its runs (seed by seed, methods in order,
    variants in order within a method; ``zero-shot-llm`` on the seeds it needs).

    Raises :class:`R2DError` before anything is trained for: an unknown method, a bad seed, a
    data folder without train/val/test, a bad shared option or variant, ``zero-shot-llm``
    without a server, or an existing run whose saved configuration differs from the one this
    bench would use (another budget, model or data).
    """
    from reason2decide.data.fingerprint import fingerprint
    from reason2decide.training.runner import RUN_FILE

    methods = parse_methods(spec.methods)
    seeds = parse_seeds(spec.seeds)
    variants = parse_variants(spec.variants)
    splits = find_splits(Path(spec.data))
    owned = sorted(set(spec.training) & set(BENCH_OWNED + BENCH_FORBIDDEN))
    if owned:
        raise R2DError(f"the bench sets {', '.join(owned)} itself", field="training")
    if spec.test_limit is not None and spec.test_limit < 1:
        raise R2DError("--test-limit must be at least 1", field="test_limit")
    if spec.eval_batch_size < 1:
        raise R2DError("--eval-batch-size must be at least 1", field="eval_batch_size")
    if spec.bootstrap_resamples < 0:
        raise R2DError("--bootstrap-resamples cannot be negative", field="bootstrap_resamples")
    _check_config_file(spec.config_file, say)
    llm = _zero_shot_spec(spec, methods, say)
    settings = eval_settings(spec, splits["test"])
    output = Path(spec.output).resolve()
    data_sha256 = {split: fingerprint(splits[split])["sha256"] for split in ("train", "val")}
    shared = base_config(spec, splits)
    for variant in variants:  # every variant's values checked before anything runs
        variant.apply(shared)
    if variants and all(m == ZERO_SHOT_METHOD for m in methods):
        say(f"note: variants change training options; {ZERO_SHOT_METHOD} is not trained.")

    plan: list[PlannedRun] = []
    for seed in seeds:
        for method in methods:
            if method == ZERO_SHOT_METHOD:
                assert llm is not None  # _zero_shot_spec checked it
                if seed in llm.seeds(seeds):
                    path = run_path(output, method, seed)
                    metrics_path = path / EVAL_DIR / METRICS_FILE
                    state = zero_shot_state(metrics_path, settings, llm.settings(seed))
                    plan.append(PlannedRun(method, seed, path, shared, state))
                continue
            for variant in variants or [None]:
                name = variant.name if variant is not None else None
                path = run_path(output, method, seed, name)
                flags = {
                    **_shared_flags(spec),
                    "method": method,
                    "seed": seed,
                    "train": splits["train"],
                    "val": splits["val"],
                    "output": path,
                }
                config = build_config(flags, spec.config_file)
                if variant is not None:
                    config = variant.apply(config)
                state = run_state(path, settings, spec.generation)
                if state != "new":
                    clashes = config_clashes(_read_json(path / RUN_FILE), config, data_sha256)
                    if clashes:
                        raise R2DError(
                            f"{row_label(method, name)} seed {seed} was run with another "
                            "configuration: " + "; ".join(clashes),
                            path=path / RUN_FILE,
                            hint="use the options of that bench, another --output, "
                            "or delete the run's folder to run it again",
                        )
                plan.append(PlannedRun(method, seed, path, config, state, name))
    _note_repeated_training(plan, say)
    reference_row(spec, plan)  # an unknown --compare-to is refused before anything runs
    return plan


def reference_row(spec: BenchSpec, plan: Sequence[PlannedRun]) -> str:
    """The row every other row is compared with: ``spec.compare_to`` as a row name, a method
    (its first row when it has variants) or a baseline; by default the first row."""
    from reason2decide.bench.baselines import BASELINES

    rows = list(dict.fromkeys(run.row for run in plan))
    wanted = spec.compare_to
    if wanted is None:
        return rows[0]
    if wanted in rows:
        return wanted
    of_method = [run.row for run in plan if run.method == wanted]
    if of_method:
        return of_method[0]
    if wanted in BASELINES and spec.baselines:
        return wanted
    choices = rows + (list(BASELINES) if spec.baselines else [])
    raise R2DError(
        f"--compare-to {wanted!r} is not a row of this bench",
        field="compare_to",
        hint=f"choose from {', '.join(choices)}",
    )


# ---------------------------------------------------------------------- one run
def _test_examples(config: TrainConfig, spec: BenchSpec, test: Path) -> list[Example]:
    """The test cases, read with the shared columns (variants cannot change them): its
    ``rationale_col`` is the gold every run is scored against, whatever it trained on."""
    from reason2decide.data.readers import ColumnMap, read_examples

    columns = ColumnMap(
        question=config.question_col,
        label=config.label_col,
        rationale=config.rationale_col,
        id=config.id_col,
    )
    examples = read_examples(test, columns)
    return examples[: spec.test_limit] if spec.test_limit is not None else examples


def check_rationales(plan: Sequence[PlannedRun], train: Path, val: Path | None = None) -> None:
    """Fail before any training if a run still to train needs rationales the data lacks: its
    ``rationale_col`` in the training (and validation) file, and its Stage-1 column or file
    (which training reads for every method that needs rationales, as ``r2d train`` does)."""
    from reason2decide.data.readers import ColumnMap, read_examples

    todo = [
        r
        for r in plan
        if r.trained and r.state in ("new", "resume") and METHODS[r.method].requires_rationale
    ]
    checked: set[tuple[Any, ...]] = set()

    def require(path: Path, config: TrainConfig, column: str) -> None:
        key = (str(path), column, config.question_col, config.label_col, config.id_col)
        if key in checked:
            return
        checked.add(key)
        columns = ColumnMap(
            question=config.question_col,
            label=config.label_col,
            rationale=column,
            id=config.id_col,
        )
        read_examples(path, columns, require_rationale=True)

    for run in todo:
        config = run.config
        files = [train] if val is None else [train, val]
        for path in files:
            require(path, config, config.rationale_col)
        stage1_column = config.stage1_rationale_col or config.rationale_col
        if config.stage1_train is not None:
            require(Path(config.stage1_train), config, stage1_column)
        elif config.stage1_rationale_col is not None:
            for path in files:
                require(path, config, stage1_column)


def zero_shot_labels(config: TrainConfig, train: Path) -> list[str]:
    """The label set the zero-shot LLM chooses from: the trained methods' (``labels`` of the
    shared config, else the training split's labels, sorted), as ``r2d zero-shot`` picks it."""
    from reason2decide.data.labels import run_label_set
    from reason2decide.data.readers import ColumnMap, read_examples

    columns = ColumnMap(
        question=config.question_col,
        label=config.label_col,
        rationale=config.rationale_col,
        id=config.id_col,
    )
    examples = None if config.labels else read_examples(train, columns)
    return list(run_label_set(config.labels, examples))


def bench_labels(config: TrainConfig, train: Path) -> list[str]:
    """The trained methods' label set: ``labels`` of the shared config, else the training
    split's labels, sorted (only the question and label columns are read)."""
    from reason2decide.data.labels import LabelSet
    from reason2decide.data.readers import ColumnMap, read_examples

    if config.labels:
        return list(LabelSet.parse(config.labels))
    columns = ColumnMap(
        question=config.question_col, label=config.label_col, rationale=None, id=config.id_col
    )
    return list(LabelSet.from_examples(read_examples(train, columns)))


def evaluate_run(
    run: PlannedRun,
    examples: Sequence[Example],
    test: Path,
    settings: Mapping[str, Any],
    spec: BenchSpec,
) -> dict[str, Any]:
    """Evaluate a trained run on the test examples; write ``eval/predictions.jsonl`` and then
    ``eval/metrics.json`` (atomically, the latter last); return the metrics."""
    from reason2decide.data.fingerprint import fingerprint
    from reason2decide.data.labels import LabelSet, check_labels
    from reason2decide.evaluation.pipeline import evaluate_model
    from reason2decide.evaluation.report import write_metrics
    from reason2decide.inference import Predictor
    from reason2decide.io import write_jsonl

    started = time.perf_counter()
    predictor = Predictor.from_output(
        run.path,
        batch_size=spec.eval_batch_size,
        precision=run.config.precision,
        generation=spec.generation,
    )
    if predictor.labels:
        check_labels(examples, LabelSet(predictor.labels), test)
    metrics, records = evaluate_model(
        predictor,
        examples,
        bertscore_model=spec.bertscore_model,
        bertscore_layers=spec.bertscore_layers,
        with_bertscore=spec.with_bertscore,
        progress=spec.progress,
    )
    del predictor
    metrics["model"] = str(run.path)
    metrics["test"] = fingerprint(test)
    metrics["bench_eval"] = {
        "settings": dict(settings),
        "wall_time_s": round(time.perf_counter() - started, 2),
    }
    eval_dir = run.path / EVAL_DIR
    write_jsonl(eval_dir / PREDICTIONS_FILE, records)
    write_metrics(eval_dir / METRICS_FILE, metrics)
    return metrics


def _release_memory() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def _fmt_metric(value: Any) -> str:
    return "—" if value is None else f"{value:.4f}"


def execute_zero_shot(
    run: PlannedRun,
    *,
    examples: Sequence[Example],
    labels: Sequence[str],
    test: Path,
    settings: Mapping[str, Any],
    spec: BenchSpec,
) -> RunResult:
    """Bring a ``zero-shot-llm`` run to complete: ask the server (answers it gave before come
    from the client's cache) and score, unless its evaluation is already complete."""
    started = time.perf_counter()
    llm = spec.llm or ZeroShotSpec()
    eval_dir = run.path / EVAL_DIR
    if run.state == "complete":
        metrics = _read_json(eval_dir / METRICS_FILE)
    else:
        metrics = evaluate_zero_shot(
            llm,
            run.seed,
            examples,
            labels,
            metrics_path=eval_dir / METRICS_FILE,
            predictions_path=eval_dir / PREDICTIONS_FILE,
            test=test,
            bench_eval={"settings": dict(settings)},
            with_bertscore=spec.with_bertscore,
            bertscore_model=spec.bertscore_model,
            bertscore_layers=spec.bertscore_layers,
            progress=spec.progress,
        )
        _release_memory()
    bench_eval = metrics.get("bench_eval") or {}
    stats = metrics.get("zero_shot") or {}
    return RunResult(
        method=run.method,
        seed=run.seed,
        path=str(run.path),
        metrics=flatten_metrics(metrics),
        action="skipped" if run.state == "complete" else "evaluated",
        eval_wall_s=bench_eval.get("wall_time_s"),
        extra={
            "train_wall_s": None,
            "steps": {},
            "early_stopped_at": {},
            "resumed_at": [],
            "this_invocation_wall_s": round(time.perf_counter() - started, 2),
            "llm": {**(bench_eval.get("llm") or {}), "base_url": bench_eval.get("base_url")},
            "label_mapping": stats.get("label_mapping"),
            "n_unmapped": stats.get("n_unmapped"),
        },
    )


def execute_run(
    run: PlannedRun,
    *,
    examples: Sequence[Example],
    test: Path,
    settings: Mapping[str, Any],
    spec: BenchSpec,
    say: Say,
    callbacks: Sequence[Any] = (),
    labels: Sequence[str] | None = None,
) -> RunResult:
    """Bring one run to complete (train, resume or only evaluate, as its state says; a
    ``zero-shot-llm`` run asks its server, choosing from ``labels``)."""
    from reason2decide.training.runner import RUN_FILE, run_training

    if not run.trained:
        if labels is None:
            raise ValueError("a zero-shot-llm run needs the label set")
        return execute_zero_shot(
            run, examples=examples, labels=labels, test=test, settings=settings, spec=spec
        )
    started = time.perf_counter()
    action = ACTIONS[run.state]
    if run.state in ("new", "resume"):
        if run.state == "new" and run.path.exists() and any(run.path.iterdir()):
            # A folder without run.json: a run that died before writing it. Nothing to keep.
            import shutil

            say(f"  removing the leftovers of a run that never started: {run.path}")
            shutil.rmtree(run.path)
        run_training(
            run.config,
            resume=run.state == "resume",
            say=lambda line: say(f"  {line}"),
            callbacks=callbacks,
            held_out={"test": examples},
        )
        _release_memory()
    if run.state != "complete":
        evaluate_run(run, examples, test, settings, spec)
        _release_memory()
    manifest = _read_json(run.path / RUN_FILE)
    metrics = _read_json(run.path / EVAL_DIR / METRICS_FILE)
    flat = flatten_metrics(metrics, manifest)
    stages = manifest.get("stages") or {}
    return RunResult(
        method=run.method,
        variant=run.variant,
        seed=run.seed,
        path=str(run.path),
        metrics=flat,
        action=action,
        eval_wall_s=(metrics.get("bench_eval") or {}).get("wall_time_s"),
        extra={
            "train_wall_s": manifest.get("wall_time_s"),
            "steps": {name: s.get("steps_done") for name, s in stages.items()},
            "early_stopped_at": {name: s.get("early_stopped_at") for name, s in stages.items()},
            "resumed_at": manifest.get("resumed_at", []),
            "this_invocation_wall_s": round(time.perf_counter() - started, 2),
        },
    )


# ---------------------------------------------------------------------- baselines, comparisons
def run_reference_baselines(
    spec: BenchSpec,
    config: TrainConfig,
    splits: Mapping[str, Path],
    examples: Sequence[Example],
    settings: Mapping[str, Any],
    labels: Sequence[str],
    say: Say,
) -> list[RunResult]:
    """The reference baselines on the test examples (recomputed only when the data or the
    evaluation settings changed), as results rows marked ``baseline``."""
    from reason2decide.bench.baselines import run_baselines
    from reason2decide.data.fingerprint import fingerprint
    from reason2decide.data.readers import ColumnMap, read_examples

    started = time.perf_counter()
    columns = ColumnMap(
        question=config.question_col, label=config.label_col, rationale=None, id=config.id_col
    )
    train = read_examples(splits["train"], columns)
    val = read_examples(splits["val"], columns)
    folder = Path(spec.output).resolve() / BASELINES_DIR
    found = run_baselines(
        folder,
        train,
        val,
        examples,
        labels,
        {
            **dict(settings),
            "train_sha256": fingerprint(splits["train"])["sha256"],
            "val_sha256": fingerprint(splits["val"])["sha256"],
            "question_col": config.question_col,
            "label_col": config.label_col,
            "rationale_col": config.rationale_col,
        },
        with_bertscore=spec.with_bertscore,
        bertscore_model=spec.bertscore_model,
        bertscore_layers=spec.bertscore_layers,
        say=say,
    )
    seconds = round(time.perf_counter() - started, 2)
    computed = [b.name for b in found if b.computed]
    say(
        f"baselines: {', '.join(b.name for b in found)}"
        + (f" (computed {', '.join(computed)} in {seconds:.0f} s)" if computed else " (reused)")
    )
    return [
        RunResult(
            method=b.name,
            seed=None,
            path=str(folder / b.name),
            metrics=flatten_metrics(b.metrics),
            action="computed" if b.computed else "skipped",
            eval_wall_s=b.seconds,
            extra={"train_wall_s": None, "steps": {}, "baseline": {"kind": b.kind, **b.info}},
            baseline=True,
        )
        for b in found
    ]


def row_predictions(
    spec: BenchSpec, plan: Sequence[PlannedRun], results: Sequence[RunResult]
) -> list[Any]:
    """Where each row's prediction records are (a seed-independent row under seed None: the
    baselines, and ``zero-shot-llm`` at temperature 0)."""
    from reason2decide.bench.comparisons import RowPredictions

    seedless_llm = spec.llm is not None and spec.llm.temperature == 0
    rows: dict[str, RowPredictions] = {}
    for run in results:
        if run.baseline:
            seed, path = None, Path(run.path) / PREDICTIONS_FILE
        else:
            seed = None if run.method == ZERO_SHOT_METHOD and seedless_llm else run.seed
            path = Path(run.path) / EVAL_DIR / PREDICTIONS_FILE
        rows.setdefault(run.row, RowPredictions(run.row, {})).predictions[seed] = path
    order = list(dict.fromkeys(run.row for run in plan))
    return [rows[r] for r in order if r in rows] + [rows[r] for r in rows if r not in order]


def compare_with_reference(
    spec: BenchSpec,
    plan: Sequence[PlannedRun],
    results: Sequence[RunResult],
    labels: Sequence[str],
    say: Say,
) -> Any:
    """Paired bootstrap intervals of every row against the reference row (None when
    ``bootstrap_resamples`` is 0, or there is nothing to compare)."""
    from reason2decide.bench.comparisons import compare_rows

    if spec.bootstrap_resamples == 0:
        return None
    rows = row_predictions(spec, plan, results)
    reference = reference_row(spec, plan)
    if len(rows) < 2:
        return None
    if reference not in {r.name for r in rows}:
        say(f"note: the reference row {reference!r} did not run; no intervals computed.")
        return None
    started = time.perf_counter()
    comparisons = compare_rows(
        rows,
        reference,
        labels,
        with_bertscore=spec.with_bertscore,
        bertscore_model=spec.bertscore_model,
        bertscore_layers=spec.bertscore_layers,
        n_resamples=spec.bootstrap_resamples,
    )
    say(
        f"paired bootstrap against {reference} ({spec.bootstrap_resamples} resamples) in "
        f"{time.perf_counter() - started:.0f} s: {len(comparisons.excluding_zero())} "
        "differences exclude zero"
    )
    return comparisons


# ---------------------------------------------------------------------- the whole bench
def default_command() -> str:
    """The command line of this process, shell-quoted (``r2d bench ...`` from the CLI)."""
    return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])


def _grid_text(spec: BenchSpec, plan: Sequence[PlannedRun], variants: Sequence[Variant]) -> str:
    """``"2 methods × 3 variants × 2 seeds, zero-shot-llm on 1 seed"`` (the grid, in words)."""
    methods = parse_methods(spec.methods)
    trained = [m for m in methods if m != ZERO_SHOT_METHOD]
    parts = [f"{len(trained)} methods"] if trained else []
    if trained and variants:
        parts.append(f"{len(variants)} variants")
    if trained:
        parts.append(f"{len(parse_seeds(spec.seeds))} seeds")
    text = " × ".join(parts)
    if len(trained) < len(methods):
        n = sum(not run.trained for run in plan)
        text += (", " if text else "") + f"{ZERO_SHOT_METHOD} on {n} seed{'s' if n > 1 else ''}"
    return text


def refuse_multiple_processes() -> None:
    """An R2DError when a launcher (``torchrun``, ``accelerate launch``) started several
    processes: each would train, evaluate and write the same runs and results."""
    from reason2decide.distributed import launched_world_size

    processes = launched_world_size()
    if processes > 1:
        raise R2DError(
            f"r2d bench runs in one process, but {processes} were started (WORLD_SIZE="
            f"{processes}): each would train, evaluate and write the same runs",
            hint="run r2d bench without torchrun or accelerate launch; to train one run on "
            "several processes, launch r2d train under them and r2d evaluate the result",
        )


def run_bench(spec: BenchSpec, *, say: Say = print, callbacks: Sequence[Any] = ()) -> BenchOutcome:
    """Run the grid of ``spec`` (skipping complete runs), then write results and plots.

    ``callbacks`` are extra ``transformers.TrainerCallback`` objects passed to every training
    run (tests use one to simulate an interruption). An interruption (``KeyboardInterrupt``)
    propagates; running the same bench again resumes it.
    """
    from reason2decide.bench.plots import write_plots
    from reason2decide.bench.report import bench_info, write_results

    refuse_multiple_processes()
    started = time.perf_counter()
    plan = plan_bench(spec, say=say)
    splits = find_splits(Path(spec.data))
    settings = eval_settings(spec, splits["test"])
    shared = base_config(spec, splits)
    variants = parse_variants(spec.variants)
    examples = _test_examples(shared, spec, splits["test"])
    check_rationales(plan, splits["train"], splits["val"])
    labels = None
    if any(not run.trained for run in plan):
        from reason2decide.data.labels import LabelSet, check_labels

        labels = zero_shot_labels(shared, splits["train"])
        check_labels(examples, LabelSet(labels), splits["test"])
    # The label set of the baselines and of macro-F1 in the intervals: the trained methods'.
    label_set = labels if labels is not None else bench_labels(shared, splits["train"])
    output = Path(spec.output).resolve()
    todo = sum(run.state != "complete" for run in plan)
    say(
        f"bench: {len(plan)} runs ({_grid_text(spec, plan, variants)}), "
        f"{len(plan) - todo} already complete; {len(examples)} test examples -> {output}"
    )
    if variants:
        say(f"every run is scored against the test file's gold column {shared.rationale_col!r}")

    results: list[RunResult] = []
    for index, run in enumerate(plan, 1):
        head = f"[{index}/{len(plan)}] {run.label}"
        if run.state == "complete":
            say(f"{head}: skipped (already complete)")
        elif not run.trained:
            model = spec.llm.model if spec.llm is not None else "?"
            again = " again (evaluation settings changed)" if run.state == "evaluate" else ""
            say(f"{head}: asking {model}{again}; not trained")
        else:
            doing = {
                "new": "training",
                "resume": "resuming the interrupted training",
                "evaluate": "trained earlier, evaluating",
            }[run.state]
            say(f"{head}: {doing}")
        try:
            result = execute_run(
                run,
                examples=examples,
                test=splits["test"],
                settings=settings,
                spec=spec,
                say=say,
                callbacks=callbacks,
                labels=labels,
            )
        except KeyboardInterrupt:
            say(f"{head}: interrupted; run the same command again to resume")
            raise
        results.append(result)
        if run.state != "complete":
            m = result.metrics
            say(
                f"{head}: {result.action} in {result.extra['this_invocation_wall_s']:.0f} s; "
                f"test accuracy {_fmt_metric(m.get('accuracy'))}, "
                f"macro-F1 {_fmt_metric(m.get('macro_f1'))}, BLEU {_fmt_metric(m.get('bleu'))}"
            )

    rows = list(dict.fromkeys(run.row for run in plan))
    if spec.baselines:
        baselines = run_reference_baselines(
            spec, shared, splits, examples, settings, label_set, say
        )
        results += baselines
        rows += [b.row for b in baselines]
    comparisons = compare_with_reference(spec, plan, results, label_set, say)
    summary = aggregate(results, rows)
    plots = write_plots(output, summary, results)
    info = bench_info(
        spec,
        plan,
        splits,
        results,
        n_test=len(examples),
        wall_time_s=time.perf_counter() - started,
        command=spec.command or default_command(),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        config=shared,
        variants=variants,
    )
    info["baselines"] = {run.method: run.extra["baseline"] for run in results if run.baseline}
    files = write_results(output, summary, results, info, plots, comparisons)
    return BenchOutcome(
        output=output,
        runs=results,
        summary=summary,
        files=files,
        plots=plots,
        wall_time_s=info["wall_time_s"]["this_invocation"],
    )
