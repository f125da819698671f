"""``r2d predict`` and ``r2d evaluate``: use a trained model, and score it on labelled data."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Literal

import typer

from reason2decide.cli.app import app, console, user_errors
from reason2decide.cli.columns import INPUT_FLAGS, ColumnFlags, column_options, input_columns
from reason2decide.cli.generation import generation_options
from reason2decide.cli.paths import check_output_file, prepare_output_folder
from reason2decide.generation import GenerationSettings

BATCH_SIZE = typer.Option(16, min=1, help="Examples per inference batch.")
# The label decodings of reason2decide.methods.label_decoding.DECODING_MODES (a test checks
# they agree), named here so that --help does not import torch.
LabelDecoding = Literal["score", "generate"]
DECODING = typer.Option(
    None, help="'score' (closed label set) or 'generate' (free text). [the run's setting]"
)
DEVICE = typer.Option(None, help="cpu, cuda, cuda:1 ... [cuda when available]")
OPTION_SCORING = typer.Option(
    None,
    help="How a case's own options are ranked: 'sum' or 'mean' (per token) of their "
    "log-probabilities. [the model's setting]",
)
PRIOR_TAU = typer.Option(
    None,
    min=0.0,
    help="Decision prior correction τ: rank labels by log p(y|x) − τ·log π(y), π the training "
    "label frequencies (0 = off). [the model's: 0 unless trained with --prior-correction val]",
)
PRECISION = typer.Option(
    "auto", help="auto (bf16 on GPUs and CPUs with hardware bf16, else fp32), fp32, bf16, fp16."
)


@app.command()
@user_errors
@generation_options
@column_options(INPUT_FLAGS, stored=True)
def predict(
    model_dir: Path = typer.Argument(..., help="Output folder of r2d train (or a model folder)."),
    input_file: Path | None = typer.Option(None, "--input", "-i", help="Cases to predict."),
    output: Path | None = typer.Option(None, "--output", "-o", help="JSONL file to write."),
    text: str | None = typer.Option(None, "--text", "-t", help="Predict one case given here."),
    no_rationale: bool = typer.Option(False, "--no-rationale", help="Labels only (faster)."),
    batch_size: int = BATCH_SIZE,
    label_decoding: LabelDecoding | None = DECODING,
    device: str | None = DEVICE,
    precision: str = PRECISION,
    option_scoring: str | None = OPTION_SCORING,
    prior_tau: float | None = PRIOR_TAU,
    *,
    generation: GenerationSettings,  # from the flags generation_options adds
    column_flags: ColumnFlags,  # from the flags column_options adds
) -> None:
    """Predict a label, its probabilities and a rationale conditioned on it, for each case.

    Rows are read as the model's training rows were (question template, options) unless the
    column flags say otherwise; a case with options is scored over them. Each row with a
    rationale records the decoding settings that wrote it (``generation``).
    """
    from reason2decide.data.readers import read_examples
    from reason2decide.errors import R2DError
    from reason2decide.inference import Predictor
    from reason2decide.io import write_jsonl

    if (input_file is None) == (text is None):
        raise R2DError("give exactly one of --input FILE or --text TEXT")
    if input_file is not None and output is None:
        raise R2DError("--input needs --output FILE for the predictions")
    if output is not None:
        check_output_file(output)
    predictor = Predictor.from_output(
        model_dir,
        label_decoding=label_decoding,
        batch_size=batch_size,
        device=device,
        precision=precision,
        generation=generation,
        option_scoring=option_scoring,
        prior_tau=prior_tau,
    )
    choices = None
    if input_file is not None:
        columns = column_flags.to_map(input_columns(predictor.columns))
        examples = read_examples(input_file, columns, require_label=False)
        ids, questions = [e.id for e in examples], [e.question for e in examples]
        if any(e.choices is not None for e in examples):
            choices = [e.choices for e in examples]
    else:
        if not text.strip():  # type: ignore[union-attr]
            raise R2DError("--text is empty")
        ids, questions = ["text"], [text.strip()]  # type: ignore[union-attr]
    started = time.perf_counter()
    predictions = predictor.predict(
        questions,
        with_rationale=not no_rationale,
        progress=len(questions) > batch_size,
        choices=choices,
    )
    seconds = time.perf_counter() - started
    settings = generation.to_dict()
    rows = [
        {"id": i, **p.to_dict(), **({"generation": settings} if p.rationale is not None else {})}
        for i, p in zip(ids, predictions, strict=True)
    ]
    if output is not None:
        write_jsonl(output, rows)
        console.print(
            f"Wrote {len(rows)} predictions to {output} "
            f"({len(rows) / max(seconds, 1e-9):.2f} examples/s)."
        )
    else:
        for row in rows:
            console.print_json(json.dumps(row, ensure_ascii=False))


@app.command()
@user_errors
@generation_options
@column_options(stored=True)
def evaluate(
    model_dir: Path = typer.Argument(..., help="Output folder of r2d train (or a model folder)."),
    test: Path = typer.Option(
        ..., "--test", help="Labelled cases: .jsonl, .json, .csv, .tsv or .parquet."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for metrics and predictions."),
    batch_size: int = BATCH_SIZE,
    label_decoding: LabelDecoding | None = DECODING,
    device: str | None = DEVICE,
    precision: str = PRECISION,
    option_scoring: str | None = OPTION_SCORING,
    prior_tau: float | None = PRIOR_TAU,
    bertscore_model: str | None = typer.Option(
        None, help="Encoder for BERTScore: local folder or hub name. [offline MiniLM]"
    ),
    bertscore_layers: int | None = typer.Option(None, help="Encoder layer for BERTScore."),
    no_bertscore: bool = typer.Option(False, "--no-bertscore", help="Skip BERTScore."),
    no_rationale: bool = typer.Option(False, "--no-rationale", help="Evaluate labels only."),
    no_faithfulness: bool = typer.Option(
        False,
        "--no-faithfulness",
        help="Skip consistency/sufficiency/gold robustness (labels predicted from rationales).",
    ),
    mask_label_in_rationale: bool = typer.Option(
        True,
        "--mask-label-in-rationale/--no-mask-label-in-rationale",
        help="Mask the predicted label in the generated rationale and the gold label in the gold "
        "one (as [LABEL]) before predicting a label from them, so that consistency and "
        "sufficiency do not reward copying the label. [on]",
    ),
    limit: int | None = typer.Option(None, min=1, help="Evaluate the first N cases only."),
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
    *,
    generation: GenerationSettings,  # from the flags generation_options adds
    column_flags: ColumnFlags,  # from the flags column_options adds
) -> None:
    """Predict the test cases and write metrics.json, predictions.jsonl and a table.

    Metrics: accuracy, macro-F1, per-class P/R/F1, confusion matrix, ECE, BLEU, BERTScore,
    rationale lengths, repetition rate (share of repeated word 3-grams within a rationale), and
    Reason2Decide-C's consistency (label from the generated rationale alone = prediction),
    sufficiency (= gold) and gold robustness (label from the gold rationale = gold), each read
    with the rationale's own label masked, and the share of generated rationales that contain
    the predicted label; with --judge-*, LLM-as-a-judge scores. metrics.json records the
    rationale decoding settings.
    """
    from reason2decide.backbones.truncation import describe_counts, describe_limits
    from reason2decide.data.fingerprint import fingerprint
    from reason2decide.data.labels import check_labels
    from reason2decide.data.readers import read_examples
    from reason2decide.evaluation.pipeline import evaluate_model
    from reason2decide.evaluation.report import metrics_table, write_metrics
    from reason2decide.inference import Predictor
    from reason2decide.io import write_jsonl

    if bool(judge_base_url) != bool(judge_model):
        from reason2decide.errors import R2DError

        raise R2DError("--judge-base-url and --judge-model go together", field="judge_model")
    prepare_output_folder(output)  # before the evaluation, which may take hours
    predictor = Predictor.from_output(
        model_dir,
        label_decoding=label_decoding,
        batch_size=batch_size,
        device=device,
        precision=precision,
        generation=generation,
        option_scoring=option_scoring,
        prior_tau=prior_tau,
    )
    columns = column_flags.to_map(predictor.columns)
    examples = read_examples(test, columns)
    if limit is not None:
        examples = examples[:limit]
    if predictor.labels:
        from reason2decide.data.labels import LabelSet

        check_labels(examples, LabelSet(predictor.labels), test)
    metrics, records = evaluate_model(
        predictor,
        examples,
        with_rationale=not no_rationale,
        faithfulness=not no_faithfulness,
        bertscore_model=bertscore_model,
        bertscore_layers=bertscore_layers,
        with_bertscore=not no_bertscore,
        mask_label_in_rationale=mask_label_in_rationale,
    )
    metrics["model"] = str(model_dir)
    metrics["test"] = fingerprint(test)
    if judge_base_url or judge_model:  # LLM judge (docs/llm.md)
        from reason2decide.evaluation.judge import judge_summary, run_judge

        metrics.update(
            run_judge(
                records,
                base_url=judge_base_url,
                model=judge_model,
                api_key_env=judge_api_key_env,
                response_format=judge_response_format,
            )
        )
    write_jsonl(output / "predictions.jsonl", records)
    write_metrics(output / "metrics.json", metrics)
    from reason2decide.training.model_card import add_evaluation

    try:
        card = add_evaluation(model_dir, metrics, metrics["test"])
    # A read-only model folder, or a README.md not of ours in another encoding: the metrics
    # are written all the same.
    except (OSError, UnicodeDecodeError) as exc:
        console.print(f"warning: could not update the model card: {exc}", highlight=False)
        card = None
    truncation = metrics["truncation"]
    for line in (
        describe_limits(truncation["limits"]),
        describe_counts(test.name, truncation["test"], truncation["limits"]),
    ):
        console.print(line, highlight=False, soft_wrap=True)
    console.print(metrics_table(metrics, title=f"{model_dir} on {test.name}"))
    if judge_base_url:
        console.print(judge_summary(metrics), highlight=False)
    console.print(f"Wrote {output / 'metrics.json'} and {output / 'predictions.jsonl'}.")
    if card is not None:
        console.print(f"Updated the model card {card}.")
