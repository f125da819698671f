"""``r2d rationales generate`` and ``r2d zero-shot``: LLMs over an OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from reason2decide.cli.app import app, console, console_err, user_errors
from reason2decide.cli.columns import ColumnFlags, column_options
from reason2decide.cli.paths import check_output_file, prepare_output_folder

rationales_app = typer.Typer(
    help="Generate rationales with an LLM teacher (any OpenAI-compatible server).",
    no_args_is_help=True,
)
app.add_typer(rationales_app, name="rationales")

BASE_URL = typer.Option(
    ..., "--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1."
)
MODEL = typer.Option(..., "--model", help="Model name the server knows.")
API_KEY_ENV = typer.Option(
    "OPENAI_API_KEY", "--api-key-env", help="Environment variable holding the API key."
)
CONCURRENCY = typer.Option(4, min=1, help="Requests in flight at once.")
TIMEOUT = typer.Option(120.0, min=0.001, help="Seconds to wait for one answer.")
MAX_RETRIES = typer.Option(
    5,
    min=0,
    help="Retries of a request after a 408/409/429/5xx answer, timeout or lost connection.",
)
CACHE_DIR = typer.Option(
    None, "--cache-dir", help="Answer cache. [$R2D_LLM_CACHE or ~/.cache/reason2decide/llm]"
)
NO_CACHE = typer.Option(False, "--no-cache", help="Neither read nor write the answer cache.")
PROGRESS = typer.Option(True, "--progress/--no-progress", help="Show a progress bar.")


def _client(
    base_url: str,
    model: str,
    api_key_env: str,
    concurrency: int,
    timeout: float,
    max_retries: int,
    cache_dir: Path | None,
    no_cache: bool,
):  # type: ignore[no-untyped-def]
    from reason2decide.llm.client import LLMClient, LLMConfig, default_cache_dir

    config = LLMConfig(
        base_url=base_url,
        model=model,
        api_key_env=api_key_env or None,
        concurrency=concurrency,
        timeout=timeout,
        max_retries=max_retries,
        cache_dir=None if no_cache else (cache_dir or default_cache_dir()),
    )
    return LLMClient(config)


def _usage_line(usage: dict[str, int]) -> str:
    return (
        f"{usage['requests']} requests, {usage['cache_hits']} cache hits, "
        f"{usage['retries']} retries, {usage['prompt_tokens']} prompt + "
        f"{usage['completion_tokens']} completion tokens"
    )


@rationales_app.command("generate")
@user_errors
@column_options()
def generate(
    input_file: Path = typer.Option(..., "--input", "-i", help="Examples: .jsonl, .csv, .parquet."),
    output: Path = typer.Option(..., "--output", "-o", help="File to write: .jsonl or .csv."),
    base_url: str = BASE_URL,
    model: str = MODEL,
    api_key_env: str = API_KEY_ENV,
    output_col: str = typer.Option(
        "rationale", help="Column for the generated rationale (e.g. llm_rationale)."
    ),
    prompt_file: Path | None = typer.Option(
        None,
        "--prompt-file",
        help="Prompt template ({question}, {label}, {labels}). [clinical-rationale-v1]",
    ),
    mask_label: bool = typer.Option(
        False, "--mask-label/--no-mask-label", help="Replace the label's words in the rationale."
    ),
    mask_placeholder: str = typer.Option("[LABEL]", help="What --mask-label puts instead."),
    temperature: float = typer.Option(0.0, min=0.0, help="Sampling temperature."),
    max_tokens: int = typer.Option(256, min=1, help="Longest rationale, in tokens."),
    seed: int | None = typer.Option(None, help="Sampling seed sent to the server."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace rationales already present in --output-col."
    ),
    restart: bool = typer.Option(
        False, "--restart", help="Discard the answers of an unfinished earlier run."
    ),
    limit: int | None = typer.Option(None, min=1, help="Only the first N examples."),
    concurrency: int = CONCURRENCY,
    timeout: float = TIMEOUT,
    max_retries: int = MAX_RETRIES,
    cache_dir: Path | None = CACHE_DIR,
    no_cache: bool = NO_CACHE,
    progress: bool = PROGRESS,
    *,
    column_flags: ColumnFlags,  # from the flags column_options adds
) -> None:
    """Ask an LLM for a rationale that justifies each example's gold label.

    Writes the input rows with the rationale column added, plus <col>_model and
    <col>_prompt_version, and OUTPUT.provenance.json. Killed and run again, it resumes: finished
    rows are kept in OUTPUT.partial and not asked again.
    """
    from reason2decide.data.fingerprint import fingerprint
    from reason2decide.data.readers import read_examples
    from reason2decide.llm.rationales import RationaleOptions, generate_rationales
    from reason2decide.llm.templates import CLINICAL_SYSTEM, RATIONALE_TEMPLATE, load_template

    check_output_file(output)  # before any LLM call
    columns = column_flags.to_map()
    examples = read_examples(input_file, columns)
    if limit is not None:
        examples = examples[:limit]
    template = RATIONALE_TEMPLATE
    if prompt_file is not None:
        template = load_template(prompt_file, default_system=CLINICAL_SYSTEM)
        template.require("label", path=prompt_file)
    options = RationaleOptions(
        template=template,
        temperature=temperature,
        max_tokens=max_tokens,
        seed=seed,
        mask_label=mask_label,
        placeholder=mask_placeholder,
        output_col=output_col,
    )
    labels = sorted({e.label for e in examples})
    client = _client(
        base_url, model, api_key_env, concurrency, timeout, max_retries, cache_dir, no_cache
    )
    with client:
        summary = generate_rationales(
            examples,
            client,
            output,
            options=options,
            labels=labels,
            overwrite=overwrite,
            restart=restart,
            progress=progress,
            source=fingerprint(input_file),
        )
    console.print(
        f"Wrote {summary.n} rows to {output} in {summary.seconds:.1f}s "
        f"({summary.n_resumed} resumed, {summary.n_cached} from cache, {summary.n_asked} asked); "
        + _usage_line(summary.usage)
        + ".",
        highlight=False,
    )
    for count, what in (
        (summary.n_empty, "empty answers (rationale left null)"),
        (summary.n_truncated, "answers cut by --max-tokens"),
    ):
        if count:
            console_err.print(f"[yellow]warning:[/] {count} {what}", highlight=False)
    if mask_label:
        console.print(f"Masked the label in {summary.n_masked} rationales.", highlight=False)


@app.command("zero-shot")
@user_errors
@column_options()
def zero_shot(
    test: Path = typer.Option(
        ..., "--test", help="Labelled cases: .jsonl, .json, .csv, .tsv or .parquet."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for metrics and predictions."),
    base_url: str = BASE_URL,
    model: str = MODEL,
    api_key_env: str = API_KEY_ENV,
    train_file: Path | None = typer.Option(
        None,
        "--train",
        help="Training file whose labels (sorted) are the label set, as in r2d train and "
        "r2d bench. Give it or --labels.",
    ),
    labels: str | None = typer.Option(
        None,
        help="Label set: comma-separated, or a file (one per line / JSON list); "
        "overrides --train's.",
    ),
    fallback_label: str | None = typer.Option(
        None, help="Predict this label when an answer maps to none. [count it as wrong]"
    ),
    label_retries: int = typer.Option(1, min=0, help="Ask again after an unmappable answer."),
    no_rationale: bool = typer.Option(False, "--no-rationale", help="Ask for labels only."),
    prompt_file: Path | None = typer.Option(
        None, "--prompt-file", help="Rationale prompt template. [clinical-rationale-v1]"
    ),
    label_prompt_file: Path | None = typer.Option(
        None, "--label-prompt-file", help="Label prompt template. [zero-shot-label-v1]"
    ),
    max_tokens: int = typer.Option(256, min=1, help="Longest rationale, in tokens."),
    seed: int | None = typer.Option(None, help="Sampling seed sent to the server."),
    limit: int | None = typer.Option(None, min=1, help="Evaluate the first N cases only."),
    bertscore_model: str | None = typer.Option(
        None, help="Encoder for BERTScore: local folder or hub name. [offline MiniLM]"
    ),
    bertscore_layers: int | None = typer.Option(None, help="Encoder layer for BERTScore."),
    no_bertscore: bool = typer.Option(False, "--no-bertscore", help="Skip BERTScore."),
    judge_base_url: str | None = typer.Option(
        None, "--judge-base-url", help="Grade the rationales with an LLM judge on this server."
    ),
    judge_model: str | None = typer.Option(None, "--judge-model", help="The judge's model."),
    judge_api_key_env: str = typer.Option(
        "OPENAI_API_KEY", "--judge-api-key-env", help="Environment variable with its API key."
    ),
    judge_response_format: str = typer.Option(
        "none",
        "--judge-response-format",
        help="Ask the judge server for JSON: none, json_object, json_schema, llama-cpp-python.",
    ),
    concurrency: int = CONCURRENCY,
    timeout: float = TIMEOUT,
    max_retries: int = MAX_RETRIES,
    cache_dir: Path | None = CACHE_DIR,
    no_cache: bool = NO_CACHE,
    progress: bool = PROGRESS,
    *,
    column_flags: ColumnFlags,  # from the flags column_options adds
) -> None:
    """Zero-shot LLM baseline: ask the server for each case's label and rationale, and score them.

    Writes predictions.jsonl and metrics.json (the same metrics as r2d evaluate, plus the label
    mapping counts under "zero_shot", and the judge's scores with --judge-base-url).
    """
    from dataclasses import replace

    from reason2decide.data.fingerprint import fingerprint
    from reason2decide.data.labels import check_labels, run_label_set
    from reason2decide.data.readers import read_examples
    from reason2decide.errors import R2DError
    from reason2decide.evaluation.pipeline import evaluate_llm_zero_shot
    from reason2decide.evaluation.report import metrics_table, write_metrics
    from reason2decide.io import write_jsonl
    from reason2decide.llm.rationales import RationaleOptions
    from reason2decide.llm.templates import (
        CLINICAL_SYSTEM,
        RATIONALE_TEMPLATE,
        ZERO_SHOT_LABEL_TEMPLATE,
        load_template,
    )
    from reason2decide.llm.zero_shot import ZeroShotOptions

    if (judge_base_url is None) != (judge_model is None):
        raise R2DError("--judge-base-url and --judge-model go together", field="judge_model")
    prepare_output_folder(output)  # before any LLM call
    columns = column_flags.to_map()
    train_examples = None
    if train_file is not None and not labels:
        train_examples = read_examples(train_file, replace(columns, rationale=None))
    label_set = run_label_set(labels, train_examples)
    examples = read_examples(test, columns)
    if limit is not None:
        examples = examples[:limit]
    check_labels(examples, label_set, test)
    template = RATIONALE_TEMPLATE
    if prompt_file is not None:
        template = load_template(prompt_file, default_system=CLINICAL_SYSTEM)
        template.require("label", path=prompt_file)
    label_template = ZERO_SHOT_LABEL_TEMPLATE
    if label_prompt_file is not None:
        label_template = load_template(label_prompt_file, default_system=CLINICAL_SYSTEM)
        label_template.require("labels", path=label_prompt_file)
    options = ZeroShotOptions(
        label_template=label_template,
        label_retries=label_retries,
        fallback_label=fallback_label,
        with_rationale=not no_rationale,
        rationale=RationaleOptions(template=template, max_tokens=max_tokens, seed=seed),
        seed=seed,
    )
    client = _client(
        base_url, model, api_key_env, concurrency, timeout, max_retries, cache_dir, no_cache
    )
    with client:
        metrics, records, result = evaluate_llm_zero_shot(
            examples,
            list(label_set),
            client,
            options,
            model_name=f"zero-shot-llm:{model}",
            bertscore_model=bertscore_model,
            bertscore_layers=bertscore_layers,
            with_bertscore=not no_bertscore,
            progress=progress,
        )
    metrics["test"] = fingerprint(test)
    if train_file is not None and train_examples is not None:
        metrics["train"] = fingerprint(train_file)
    if judge_base_url is not None and judge_model is not None:
        from reason2decide.evaluation.judge import run_judge

        metrics.update(
            run_judge(
                records,
                base_url=judge_base_url,
                model=judge_model,
                api_key_env=judge_api_key_env,
                concurrency=concurrency,
                timeout=timeout,
                response_format=judge_response_format,
                cache=not no_cache,
                progress=progress,
            )
        )
    write_jsonl(output / "predictions.jsonl", records)
    write_metrics(output / "metrics.json", metrics)
    console.print(metrics_table(metrics, title=f"zero-shot {model} on {test.name}"))
    unmapped = result.stats["n_unmapped"]
    if unmapped:
        console_err.print(
            f"[yellow]warning:[/] {unmapped} answer(s) matched no label; "
            f"predicted {result.stats['fallback']!r} for them",
            highlight=False,
        )
    _print_judge(metrics)
    console.print(f"Wrote {output / 'metrics.json'} and {output / 'predictions.jsonl'}.")


def _print_judge(metrics: dict[str, Any]) -> None:
    from reason2decide.evaluation.judge import judge_summary

    line = judge_summary(metrics)
    if line:
        console.print(line, highlight=False)
    if metrics.get("judge_n_unparsable"):
        console_err.print(
            f"[yellow]warning:[/] the judge's answer stayed unparsable for "
            f"{metrics['judge_n_unparsable']} rationale(s); see 'judge' in predictions.jsonl",
            highlight=False,
        )
