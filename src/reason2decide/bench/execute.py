"""Run a planned benchmark in this process: train, resume or only evaluate each run, ask the
zero-shot LLM, score the reference baselines, then aggregate, compare, plot and report.

A thin layer over :func:`~reason2decide.training.run_training` and
:func:`~reason2decide.evaluation.pipeline.evaluate_model`. What runs, and in which state, is
decided by :func:`~reason2decide.bench.plan.make_plan`; the tables and plots are written by
:mod:`~reason2decide.bench.report` and :mod:`~reason2decide.bench.plots`.
"""

from __future__ import annotations

import gc
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from reason2decide.bench.aggregate import RunResult, aggregate, flatten_metrics
from reason2decide.bench.baselines import run_reference_baselines
from reason2decide.bench.comparisons import compare_with_reference
from reason2decide.bench.examples import (
    bench_labels,
    check_rationales,
    read_test_examples,
    zero_shot_labels,
)
from reason2decide.bench.plan import make_plan, read_run_file
from reason2decide.bench.plots import write_plots
from reason2decide.bench.report import bench_info, write_results
from reason2decide.bench.spec import (
    EVAL_DIR,
    METRICS_FILE,
    PREDICTIONS_FILE,
    BenchPlan,
    BenchSpec,
    PlannedRun,
    Say,
)
from reason2decide.bench.zero_shot import ZERO_SHOT_METHOD, ZeroShotSpec, evaluate_zero_shot
from reason2decide.data.example import Example
from reason2decide.errors import R2DError

#: What happens to a run, as printed and recorded: planned state → action.
ACTIONS = {"complete": "skipped", "evaluate": "evaluated", "resume": "resumed", "new": "trained"}


@dataclass
class BenchOutcome:
    """What :func:`run_bench` did and wrote."""

    output: Path
    runs: list[RunResult]
    summary: dict[str, Any]
    files: list[Path]
    plots: list[Path]
    wall_time_s: float


# ---------------------------------------------------------------------- one run
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
    from reason2decide.training.host_memory import blocks_returned

    started, cpu_started = time.perf_counter(), time.process_time()
    predictor = Predictor.from_output(
        run.path,
        batch_size=spec.eval_batch_size,
        precision=run.config.precision,
        generation=spec.generation,
    )
    if predictor.labels:
        check_labels(examples, LabelSet(predictor.labels), test)
    # after training in this process: the test set's one-off large blocks are handed back
    # rather than kept (see training/host_memory.py)
    with blocks_returned():
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
        "cpu_time_s": round(time.process_time() - cpu_started, 2),
    }
    eval_dir = run.path / EVAL_DIR
    write_jsonl(eval_dir / PREDICTIONS_FILE, records)
    write_metrics(eval_dir / METRICS_FILE, metrics)
    return metrics


def release_memory() -> None:
    """Free what a finished training or evaluation left behind (and the GPU cache)."""
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


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
        metrics = read_run_file(eval_dir / METRICS_FILE)
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
        release_memory()
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
    from reason2decide.training.output import RUN_FILE
    from reason2decide.training.recipes import run_training

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
        release_memory()
    if run.state != "complete":
        evaluate_run(run, examples, test, settings, spec)
        release_memory()
    manifest = read_run_file(run.path / RUN_FILE)
    metrics = read_run_file(run.path / EVAL_DIR / METRICS_FILE)
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
            "train_cpu_s": manifest.get("cpu_time_s"),
            "eval_cpu_s": (metrics.get("bench_eval") or {}).get("cpu_time_s"),
            "steps": {name: s.get("steps_done") for name, s in stages.items()},
            "early_stopped_at": {name: s.get("early_stopped_at") for name, s in stages.items()},
            "resumed_at": manifest.get("resumed_at", []),
            "this_invocation_wall_s": round(time.perf_counter() - started, 2),
        },
    )


# ---------------------------------------------------------------------- the whole bench
def default_command() -> str:
    """The command line of this process, shell-quoted (``r2d bench ...`` from the CLI)."""
    return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])


def grid_text(plan: BenchPlan) -> str:
    """``"2 methods × 3 variants × 2 seeds, zero-shot-llm on 1 seed"`` (the grid, in words)."""
    trained = [m for m in plan.methods if m != ZERO_SHOT_METHOD]
    parts = [f"{len(trained)} methods"] if trained else []
    if trained and plan.variants:
        parts.append(f"{len(plan.variants)} variants")
    if trained:
        parts.append(f"{len(plan.seeds)} seeds")
    text = " × ".join(parts)
    if len(trained) < len(plan.methods):
        n = sum(not run.trained for run in plan.runs)
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


def _fmt_metric(value: Any) -> str:
    return "—" if value is None else f"{value:.4f}"


def _announce(index: int, plan: BenchPlan, run: PlannedRun, spec: BenchSpec, say: Say) -> str:
    """Say what is about to happen to ``run``; return its progress-line head."""
    head = f"[{index}/{len(plan.runs)}] {run.label}"
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
    return head


def run_bench(spec: BenchSpec, *, say: Say = print, callbacks: Sequence[Any] = ()) -> BenchOutcome:
    """Run the grid of ``spec`` (skipping complete runs), then write results and plots.

    ``callbacks`` are extra ``transformers.TrainerCallback`` objects passed to every training
    run (tests use one to simulate an interruption). An interruption (``KeyboardInterrupt``)
    propagates; running the same bench again resumes it.
    """
    refuse_multiple_processes()
    started = time.perf_counter()
    plan = make_plan(spec, say=say)
    test = plan.splits["test"]
    examples = read_test_examples(plan.shared, spec, test)
    check_rationales(plan.runs, plan.splits["train"], plan.splits["val"])
    labels = None
    if any(not run.trained for run in plan.runs):
        from reason2decide.data.labels import LabelSet, check_labels

        labels = zero_shot_labels(plan.shared, plan.splits["train"])
        check_labels(examples, LabelSet(labels), test)
    # The label set of the baselines and of macro-F1 in the intervals: the trained methods'.
    label_set = labels if labels is not None else bench_labels(plan.shared, plan.splits["train"])
    todo = sum(run.state != "complete" for run in plan.runs)
    say(
        f"bench: {len(plan.runs)} runs ({grid_text(plan)}), "
        f"{len(plan.runs) - todo} already complete; {len(examples)} test examples -> {plan.output}"
    )
    if plan.variants:
        say(
            f"every run is scored against the test file's gold column {plan.shared.rationale_col!r}"
        )

    results: list[RunResult] = []
    for index, run in enumerate(plan.runs, 1):
        head = _announce(index, plan, run, spec, say)
        try:
            result = execute_run(
                run,
                examples=examples,
                test=test,
                settings=plan.settings,
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

    rows = plan.rows
    if spec.baselines:
        baselines = run_reference_baselines(spec, plan, examples, label_set, say)
        results += baselines
        rows += [b.row for b in baselines]
    comparisons = compare_with_reference(spec, plan, results, label_set, say)
    summary = aggregate(results, rows)
    plots = write_plots(plan.output, summary, results)
    info = bench_info(
        spec,
        plan,
        results,
        n_test=len(examples),
        n_test_with_options=sum(e.choices is not None for e in examples),
        wall_time_s=time.perf_counter() - started,
        command=spec.command or default_command(),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    files = write_results(plan.output, summary, results, info, plots, comparisons)
    return BenchOutcome(
        output=plan.output,
        runs=results,
        summary=summary,
        files=files,
        plots=plots,
        wall_time_s=info["wall_time_s"]["this_invocation"],
    )
