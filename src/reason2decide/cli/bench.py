"""``r2d bench``: every method × seed with the same budget, one table, its plots."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer

from reason2decide.cli.app import app, console, console_err, user_errors
from reason2decide.cli.columns import TEMPLATE_AND_CHOICES, ColumnFlags, column_options
from reason2decide.cli.generation import generation_options
from reason2decide.cli.train_options import train_options
from reason2decide.generation import GenerationSettings

BENCH_HELP = """Train and evaluate every method × seed with the same budget; one table, its plots.

Writes results.md, results.csv, results.json and plots/ into --output.

Budget: every method trains its decision stage for --max-steps steps (sft, dss and r2d-no-stage1
have only that stage); the two-stage methods (r2d, r2d-no-sampling, r2dc) first train Stage 1
for --stage1-max-steps more. results.md says so next to the numbers. Runs already complete are
skipped and an interrupted run resumes from its last checkpoint: after an interruption, run the
same command again.

Variants: --variant NAME:key=value[,key=value] (repeatable) runs every method once per variant
with those r2d train options replacing the shared ones, e.g. rationale sources per stage:
--variant llm-human:stage1_rationale_col=llm_rationale. Rows are named 'method [NAME]'.

zero-shot-llm in --methods asks an OpenAI-compatible server (--llm-base-url, --llm-model) for
each test case's label and rationale instead of training.

Every table also has reference baselines (majority class, TF-IDF + logistic regression, and
copying the input's last sentences or the whole input as rationale), and every row's difference
from --compare-to (default: the first method) with a paired bootstrap 95% interval over the test
cases pooled across seeds. See docs/bench.md.
"""

#: The training options every bench run shares that have an ``r2d bench`` flag (any other goes
#: in the --config YAML or a --variant).
TRAINING_OPTIONS = (
    "model",
    "max_steps",
    "stage1_max_steps",
    "batch_size",
    "lr",
    "stage1_lr",
    "eval_steps",
    "logging_steps",
    "max_input_length",
    "max_target_length",
    "warmup_ratio",
    "precision",
    "rationale_col",
)


def parse_methods(text: str | Sequence[str]) -> list[str]:
    """Method names from ``--methods r2d,sft`` (or a list): the trained methods and
    ``zero-shot-llm``; none, unknown or repeated names are user errors."""
    from reason2decide.bench.plan import check_methods

    return check_methods(text.split(",") if isinstance(text, str) else text)


def parse_seeds(text: str | Sequence[int]) -> list[int]:
    """Seeds from ``--seeds 0,1,2`` (or a list of ints); none, non-integers and repeats are
    user errors."""
    from reason2decide.bench.plan import check_seeds

    return check_seeds(text.split(",") if isinstance(text, str) else list(text))


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
        if isinstance(value, (list, tuple)):  # a repeatable option: the flag once per value
            for item in value:
                parts += [flag, str(item)]
            continue
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
@generation_options
@column_options(TEMPLATE_AND_CHOICES)
@train_options(
    TRAINING_OPTIONS,
    help={
        "precision": "Numeric precision of training and of test inference.",
        "rationale_col": "Rationale column: what training uses unless a variant says "
        "otherwise, and the test gold every run is scored against.",
    },
    parameter="training",
)
def bench(
    ctx: typer.Context,
    data: Path = typer.Option(
        ...,
        "--data",
        help="Folder with train, val and test files (.jsonl, .json, .csv, .tsv or .parquet; "
        "r2d data prepare writes them).",
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Folder of the benchmark."),
    methods: str = typer.Option(
        "r2d,sft,dss,r2d-no-stage1,r2d-no-sampling,r2dc",
        "--methods",
        help="Comma-separated methods: r2d, sft, dss, r2d-no-stage1, r2d-no-sampling, r2dc, "
        "and zero-shot-llm (an LLM server, not trained; needs --llm-base-url and --llm-model).",
    ),
    seeds: str = typer.Option("0", "--seeds", help="Comma-separated seeds, e.g. 0,1,2."),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="YAML of training options shared by every run (as r2d train)."
    ),
    variant: list[str] | None = typer.Option(
        None,
        "--variant",
        help="NAME:key=value[,key=value] (repeatable): run every method once more with these "
        "r2d train options, e.g. llm-human:stage1_rationale_col=llm_rationale.",
    ),
    llm_base_url: str | None = typer.Option(
        None, "--llm-base-url", help="zero-shot-llm: OpenAI-compatible server, e.g. .../v1."
    ),
    llm_model: str | None = typer.Option(
        None, "--llm-model", help="zero-shot-llm: model name the server knows."
    ),
    llm_api_key_env: str = typer.Option(
        "OPENAI_API_KEY", "--llm-api-key-env", help="zero-shot-llm: variable with the API key."
    ),
    llm_temperature: float = typer.Option(
        0.0,
        "--llm-temperature",
        help="zero-shot-llm: sampling temperature; 0 evaluates once, above 0 once per seed "
        "(sent as the server's seed).",
    ),
    llm_max_tokens: int = typer.Option(
        256, "--llm-max-tokens", help="zero-shot-llm: longest rationale, in tokens."
    ),
    llm_concurrency: int = typer.Option(
        4, "--llm-concurrency", min=1, help="zero-shot-llm: requests in flight at once."
    ),
    llm_timeout: float = typer.Option(
        120.0, "--llm-timeout", min=0.001, help="zero-shot-llm: seconds to wait for one answer."
    ),
    llm_cache_dir: Path | None = typer.Option(
        None,
        "--llm-cache-dir",
        help="zero-shot-llm: answer cache. [$R2D_LLM_CACHE or ~/.cache/reason2decide/llm]",
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
    no_baselines: bool = typer.Option(
        False,
        "--no-baselines",
        help="Leave out the reference baselines (majority, tfidf-lr, copy-last-sentences, "
        "copy-input).",
    ),
    compare_to: str | None = typer.Option(
        None,
        "--compare-to",
        help="Reference row of the paired bootstrap intervals: a method, 'method [variant]' or "
        "a baseline. [the first method]",
    ),
    bootstrap_resamples: int = typer.Option(
        1000,
        "--bootstrap-resamples",
        min=0,
        help="Bootstrap resamples of the test cases for the intervals (at least 200); 0: none.",
    ),
    *,
    training: dict[str, Any],  # the TrainConfig options shared by every run, from train_options
    generation: GenerationSettings,  # from the flags generation_options adds
    column_flags: ColumnFlags,  # from the flags column_options adds
) -> None:
    """Run the benchmark grid and print its results table."""
    from reason2decide.bench.execute import run_bench
    from reason2decide.bench.report import results_table
    from reason2decide.bench.spec import BenchSpec
    from reason2decide.bench.variants import parse_variants
    from reason2decide.bench.zero_shot import ZeroShotSpec

    spec = BenchSpec(
        data=data,
        output=output,
        methods=parse_methods(methods),
        seeds=parse_seeds(seeds),
        training={**training, **column_flags.given()},
        config_file=config,
        test_limit=test_limit,
        eval_batch_size=eval_batch_size,
        with_bertscore=not no_bertscore,
        bertscore_model=bertscore_model,
        bertscore_layers=bertscore_layers,
        command=_given_command(ctx),
        variants=parse_variants(variant or []),
        baselines=not no_baselines,
        compare_to=compare_to,
        bootstrap_resamples=bootstrap_resamples,
        generation=generation,
        llm=ZeroShotSpec(
            base_url=llm_base_url,
            model=llm_model,
            api_key_env=llm_api_key_env or None,
            temperature=llm_temperature,
            max_tokens=llm_max_tokens,
            concurrency=llm_concurrency,
            timeout=llm_timeout,
            cache_dir=llm_cache_dir,
        ),
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
