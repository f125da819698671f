"""``r2d bench``: every method × seed with the same budget, one table, its plots."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from reason2decide.cli.app import app, console, console_err, user_errors

BENCH_HELP = """Train and evaluate every method × seed with the same budget; one table, its plots.

Writes results.md, results.csv, results.json and plots/ into --output.

Budget: every method trains its decision stage for --max-steps steps (sft, dss and r2d-no-stage1
have only that stage); the two-stage methods (r2d, r2d-no-sampling, r2dc) first train Stage 1
for --stage1-max-steps more. results.md says so next to the numbers. Runs already complete are
skipped and an interrupted run resumes from its last checkpoint: after an interruption, run the
same command again. See docs/bench.md.
"""


def _given_command(ctx: typer.Context) -> str:
    """``r2d bench`` with the options given on the command line, shell-quoted and in a fixed
    order: the exact command to rerun, however the CLI was invoked."""
    parts = ["r2d", "bench"]
    for param in ctx.command.params:
        name = param.name or ""
        source = ctx.get_parameter_source(name)
        if source is None or source.name not in ("COMMANDLINE", "ENVIRONMENT"):
            continue
        value = ctx.params[name]
        flag = max(param.opts, key=len)
        if getattr(param, "is_flag", False):
            if value:
                parts.append(flag)
            elif param.secondary_opts:
                parts.append(max(param.secondary_opts, key=len))
            continue
        parts += [flag, str(value)]
    return shlex.join(parts)


@app.command(help=BENCH_HELP)
@user_errors
def bench(
    ctx: typer.Context,
    data: Path = typer.Option(
        ..., "--data", help="Folder with train.jsonl, val.jsonl and test.jsonl (r2d data prepare)."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Folder of the benchmark."),
    methods: str = typer.Option(
        "r2d,sft,dss,r2d-no-stage1,r2d-no-sampling,r2dc",
        "--methods",
        help="Comma-separated methods: r2d, sft, dss, r2d-no-stage1, r2d-no-sampling, r2dc.",
    ),
    seeds: str = typer.Option("0", "--seeds", help="Comma-separated seeds, e.g. 0,1,2."),
    model: str | None = typer.Option(
        None, help="Backbone for every run (default minilm-bert2bert, or the --config's)."
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="YAML of training options shared by every run (as r2d train)."
    ),
    max_steps: int | None = typer.Option(
        None,
        "--max-steps",
        help="Decision-stage steps of every method (Stage 2 / SFT / DSS). [30000]",
    ),
    stage1_max_steps: int | None = typer.Option(
        None, "--stage1-max-steps", help="Stage-1 steps of the two-stage methods. [50000]"
    ),
    batch_size: int | None = typer.Option(None, help="Training examples per step. [64]"),
    lr: float | None = typer.Option(None, help="Learning rate. [5e-5]"),
    stage1_lr: float | None = typer.Option(None, help="Stage-1 learning rate. [--lr]"),
    eval_steps: int | None = typer.Option(None, help="Validate + checkpoint every N steps. [500]"),
    logging_steps: int | None = typer.Option(
        None, help="Log (and plot) the training loss every N steps. [10]"
    ),
    max_input_length: int | None = typer.Option(None, help="Prompt tokens. [1024]"),
    max_target_length: int | None = typer.Option(None, help="Label/rationale tokens. [256]"),
    warmup_ratio: float | None = typer.Option(None, help="Learning-rate warm-up share. [0]"),
    precision: str | None = typer.Option(
        None, help="auto (default), fp32, bf16 or fp16, for training and test inference."
    ),
    test_limit: int | None = typer.Option(
        None, "--test-limit", help="Evaluate the first N test cases only."
    ),
    eval_batch_size: int = typer.Option(
        16, "--eval-batch-size", help="Test-set inference batch (validation uses the config's)."
    ),
    no_bertscore: bool = typer.Option(False, "--no-bertscore", help="Skip BERTScore."),
    bertscore_model: str | None = typer.Option(
        None, help="Encoder for BERTScore: local folder or hub name. [offline MiniLM]"
    ),
    bertscore_layers: int | None = typer.Option(None, help="Encoder layer for BERTScore."),
) -> None:
    """Run the benchmark grid and print its results table."""
    from reason2decide.bench.report import results_table
    from reason2decide.bench.runner import BenchSpec, parse_methods, parse_seeds, run_bench

    spec = BenchSpec(
        data=data,
        output=output,
        methods=parse_methods(methods),
        seeds=parse_seeds(seeds),
        training={
            "model": model,
            "max_steps": max_steps,
            "stage1_max_steps": stage1_max_steps,
            "batch_size": batch_size,
            "lr": lr,
            "stage1_lr": stage1_lr,
            "eval_steps": eval_steps,
            "logging_steps": logging_steps,
            "max_input_length": max_input_length,
            "max_target_length": max_target_length,
            "warmup_ratio": warmup_ratio,
            "precision": precision,
        },
        config_file=config,
        test_limit=test_limit,
        eval_batch_size=eval_batch_size,
        with_bertscore=not no_bertscore,
        bertscore_model=bertscore_model,
        bertscore_layers=bertscore_layers,
        command=_given_command(ctx),
    )

    def say(line: str) -> None:
        console.print(line, highlight=False, markup=False, soft_wrap=True)

    try:
        outcome = run_bench(spec, say=say)
    except KeyboardInterrupt:
        console_err.print(
            "interrupted: run the same command again to resume (complete runs are skipped)."
        )
        sys.exit(130)
    console.print(results_table(outcome.summary, title="Test results (mean ± std over seeds)"))
    console.print(
        f"Wrote {', '.join(p.name for p in outcome.files)} and {len(outcome.plots)} plots "
        f"to {outcome.output} in {outcome.wall_time_s:.0f} s.",
        highlight=False,
        soft_wrap=True,
    )
