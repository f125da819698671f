"""What a bench runs: the methods × (variants ×) seeds grid, its data files, and for each run
whether it is complete, only needs evaluating, resumes or starts anew.

A run is *complete* when its ``run.json`` says ``"status": "complete"`` and its evaluation exists
with the same evaluation settings (for ``zero-shot-llm``: when its evaluation exists with the
same settings); complete runs are skipped, so running the same command again after an
interruption continues where it stopped. Everything here is checked before anything trains.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reason2decide.bench.aggregate import row_label
from reason2decide.bench.spec import (
    BENCH_METHODS,
    DEFAULT_METHODS,
    EVAL_DIR,
    METRICS_FILE,
    RUNS_DIR,
    BenchPlan,
    BenchSpec,
    PlannedRun,
    Say,
)
from reason2decide.bench.variants import parse_variants, same_training
from reason2decide.bench.zero_shot import ZERO_SHOT_METHOD, ZeroShotSpec, zero_shot_state
from reason2decide.data.leakage import DEFAULT_PLACEHOLDER
from reason2decide.errors import R2DError
from reason2decide.generation import GREEDY, GenerationSettings
from reason2decide.io import read_json
from reason2decide.methods import METHODS
from reason2decide.training.config import TrainConfig, build_config, load_yaml, upgrade_options

#: File names tried for each split inside ``--data``, first match wins.
SPLIT_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet")
#: Training options the bench sets per run: a config file's values for them are replaced.
BENCH_OWNED = ("method", "seed", "train", "val", "output")
#: Training options that make no sense in a bench (it trains every stage of every method).
BENCH_FORBIDDEN = ("stage", "init")
#: Config keys not compared with an existing run's: the folder itself (a bench folder may be
#: moved) and the data paths (compared by content instead, through the run's fingerprints).
NOT_COMPARED = ("output", "train", "val")


# ---------------------------------------------------------------------- checks of the spec
def check_methods(names: Sequence[str]) -> list[str]:
    """The method names, stripped, empty ones dropped: the trained methods and
    ``zero-shot-llm``; none, unknown or repeated names are user errors."""
    names = [m.strip() for m in ([names] if isinstance(names, str) else names)]
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


def check_seeds(items: Sequence[int | str]) -> list[int]:
    """The seeds as ints (blank texts dropped); none, non-integers and repeats are user
    errors."""
    seeds: list[int] = []
    for item in [items] if isinstance(items, str) else items:
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


#: The fewest bootstrap resamples a 95% percentile interval is taken from (its bounds are the
#: 2.5th and 97.5th percentiles: 5 resamples beyond each at 200).
MIN_RESAMPLES = 200


def _check_options(spec: BenchSpec) -> None:
    owned = sorted(set(spec.training) & set(BENCH_OWNED + BENCH_FORBIDDEN))
    if owned:
        raise R2DError(f"the bench sets {', '.join(owned)} itself", field="training")
    if spec.test_limit is not None and spec.test_limit < 1:
        raise R2DError("--test-limit must be at least 1", field="test_limit")
    if spec.eval_batch_size < 1:
        raise R2DError("--eval-batch-size must be at least 1", field="eval_batch_size")
    if spec.bootstrap_resamples < 0 or 0 < spec.bootstrap_resamples < MIN_RESAMPLES:
        raise R2DError(
            f"--bootstrap-resamples takes 0 (no intervals) or at least {MIN_RESAMPLES}: a 95% "
            "interval from fewer resamples is mostly noise",
            field="bootstrap_resamples",
        )


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


# ---------------------------------------------------------------------- one run's folder and state
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


def read_run_file(path: Path) -> Any:
    """A JSON file of a run folder; an unreadable one is a user error naming the file."""
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
    from reason2decide.training.output import MODEL_DIR, RUN_FILE

    if not (path / RUN_FILE).is_file():
        return "new"
    manifest = read_run_file(path / RUN_FILE)
    if manifest.get("status") != "complete":
        return "resume"
    metrics_path = path / EVAL_DIR / METRICS_FILE
    evaluated = metrics_path.is_file()
    saved = decoded = None
    if evaluated:
        metrics = read_run_file(metrics_path)
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
        if key in saved and key not in NOT_COMPARED and saved[key] != dumped[key]
    ]
    for split in ("train", "val"):
        before = ((manifest.get("data") or {}).get(split) or {}).get("sha256")
        if before is not None and before != data_sha256[split]:
            clashes.append(f"the {split} file's content changed")
    return clashes


def run_config(
    spec: BenchSpec, method: str, seed: int, splits: Mapping[str, Path], output: Path
) -> TrainConfig:
    """The training configuration of one run without variant: the shared flags and
    ``--config``, with the method, seed, data files and output folder the bench sets."""
    flags = {
        **{k: v for k, v in spec.training.items() if v is not None},
        "method": method,
        "seed": seed,
        "train": splits["train"],
        "val": splits["val"],
        "output": output,
    }
    return build_config(flags, spec.config_file)


# ---------------------------------------------------------------------- the grid
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


def make_plan(spec: BenchSpec, *, say: Say = print) -> BenchPlan:
    """Check everything a bench needs, then list its runs (seed by seed, methods in order,
    variants in order within a method; ``zero-shot-llm`` on the seeds it needs), with what they
    share.

    Raises :class:`R2DError` before anything is trained for: an unknown method, a bad seed, a
    data folder without train/val/test, a bad shared option or variant, ``zero-shot-llm``
    without a server, an existing run whose saved configuration differs from the one this
    bench would use (another budget, model or data), or an unknown ``compare_to``.
    """
    from reason2decide.data.fingerprint import fingerprint
    from reason2decide.training.output import RUN_FILE

    methods = check_methods(spec.methods)
    seeds = check_seeds(spec.seeds)
    variants = parse_variants(spec.variants)
    splits = find_splits(Path(spec.data))
    _check_options(spec)
    _check_config_file(spec.config_file, say)
    llm = _zero_shot_spec(spec, methods, say)
    settings = eval_settings(spec, splits["test"])
    output = Path(spec.output).resolve()
    data_sha256 = {split: fingerprint(splits[split])["sha256"] for split in ("train", "val")}
    # The configuration without any variant, for the first trained method and seed: its
    # columns read the test set (rationale_col is the gold every run is scored against) and
    # it is the configuration results.md reports.
    trained = [m for m in methods if m != ZERO_SHOT_METHOD]
    first = trained[0] if trained else DEFAULT_METHODS[0]
    shared = run_config(spec, first, seeds[0], splits, output / RUNS_DIR)
    for variant in variants:  # every variant's values checked before anything runs
        variant.apply(shared)
    if variants and all(m == ZERO_SHOT_METHOD for m in methods):
        say(f"note: variants change training options; {ZERO_SHOT_METHOD} is not trained.")

    runs: list[PlannedRun] = []
    for seed in seeds:
        for method in methods:
            if method == ZERO_SHOT_METHOD:
                assert llm is not None  # _zero_shot_spec checked it
                if seed in llm.seeds(seeds):
                    path = run_path(output, method, seed)
                    metrics_path = path / EVAL_DIR / METRICS_FILE
                    state = zero_shot_state(metrics_path, settings, llm.settings(seed))
                    runs.append(PlannedRun(method, seed, path, shared, state))
                continue
            for variant in variants or [None]:
                name = variant.name if variant is not None else None
                path = run_path(output, method, seed, name)
                config = run_config(spec, method, seed, splits, path)
                if variant is not None:
                    config = variant.apply(config)
                state = run_state(path, settings, spec.generation)
                if state != "new":
                    saved = read_run_file(path / RUN_FILE)
                    clashes = config_clashes(saved, config, data_sha256)
                    if clashes:
                        raise R2DError(
                            f"{row_label(method, name)} seed {seed} was run with another "
                            "configuration: " + "; ".join(clashes),
                            path=path / RUN_FILE,
                            hint="use the options of that bench, another --output, "
                            "or delete the run's folder to run it again",
                        )
                runs.append(PlannedRun(method, seed, path, config, state, name))
    _note_repeated_training(runs, say)
    reference = reference_row(spec, runs)  # an unknown --compare-to is refused here
    return BenchPlan(
        runs=runs,
        methods=methods,
        seeds=seeds,
        variants=variants,
        splits=splits,
        settings=settings,
        shared=shared,
        output=output,
        reference=reference,
        llm=llm,
    )


def plan_bench(spec: BenchSpec, *, say: Say = print) -> list[PlannedRun]:
    """The runs of :func:`make_plan`, in order (every check done)."""
    return make_plan(spec, say=say).runs


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
