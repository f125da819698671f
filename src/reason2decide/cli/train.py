"""``r2d train``: train a method from flags or a YAML config."""

from __future__ import annotations

from pathlib import Path

import typer

from reason2decide.cli.app import app, console, user_errors
from reason2decide.cli.columns import ColumnFlags, column_options


@app.command()
@user_errors
@column_options()
def train(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="YAML file of options (keys as the flags, - or _)."
    ),
    method: str | None = typer.Option(
        None,
        help="r2d (default), r2d-no-stage1, r2d-no-sampling, r2dc, sft or dss.",
    ),
    train_file: Path | None = typer.Option(
        None, "--train", help="Training data: .jsonl, .csv, .tsv or .parquet."
    ),
    val: Path | None = typer.Option(
        None, help="Validation data; without it a stratified share of --train is held out."
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="Output folder of the run."),
    model: str | None = typer.Option(
        None,
        help="Backbone: built-in 'minilm-bert2bert' (offline default), a hub name such as "
        "google/flan-t5-base, a local folder or a .gguf file.",
    ),
    stage: str | None = typer.Option(
        None, help="'all' (default), '1' (Stage 1 only) or '2' (Stage 2 only, with --init)."
    ),
    init: str | None = typer.Option(
        None,
        help="Stage 2 alone: start from this run folder's Stage-1 model, or from this model "
        "folder or name as it is (to start from a run's final model, give RUN/model).",
    ),
    max_steps: int | None = typer.Option(
        None, "--max-steps", help="Stage-2 steps (single-stage methods: all steps). [30000]"
    ),
    stage1_max_steps: int | None = typer.Option(None, help="Stage-1 steps. [50000]"),
    batch_size: int | None = typer.Option(None, help="Examples per device per step. [64]"),
    eval_batch_size: int | None = typer.Option(None, help="Validation batch. [batch size]"),
    gradient_accumulation_steps: int | None = typer.Option(None, help="[1]"),
    lr: float | None = typer.Option(None, help="Learning rate (AdamW, linear decay). [5e-5]"),
    stage1_lr: float | None = typer.Option(None, help="Stage-1 learning rate. [--lr]"),
    fresh_lr_scale: float | None = typer.Option(
        None,
        help="Learning-rate factor of parameters that were not pretrained (the cross-attention "
        "of minilm-bert2bert), until a training has saved them: a trained model has none. "
        "[the backbone's: 10 for minilm-bert2bert, else 1]",
    ),
    warmup_ratio: float | None = typer.Option(None, help="Learning-rate warm-up share. [0]"),
    weight_decay: float | None = typer.Option(None, help="[0]"),
    eval_steps: int | None = typer.Option(None, help="Validate + checkpoint every N steps. [500]"),
    stage1_eval_steps: int | None = typer.Option(None, help="Stage 1's. [--eval-steps]"),
    logging_steps: int | None = typer.Option(None, help="Log every N steps. [10]"),
    seed: int | None = typer.Option(None, help="[42]"),
    max_input_length: int | None = typer.Option(None, help="Prompt tokens. [1024]"),
    max_target_length: int | None = typer.Option(None, help="Label/rationale tokens. [256]"),
    input_truncation: str | None = typer.Option(
        None,
        help="Over-long prompts: 'end' (cut the end; default) or 'middle' (keep the first "
        "quarter and the last three quarters: the question and the end of a long context).",
    ),
    prompt_format: str | None = typer.Option(
        None,
        help="Decoder-only models: 'plain' (prompt, newline, answer; default) or 'chat' (the "
        "prompt as the user turn of the tokenizer's chat template, the answer as the "
        "assistant's; for instruction-tuned models such as smollm2-135m).",
    ),
    repeat_task: bool | None = typer.Option(
        None,
        "--repeat-task/--no-repeat-task",
        help="Decoder-only models: repeat the prompt's task instruction ('predict:', "
        "'given label: y, explain:') after the input, next to where the answer starts, so that "
        "a long input does not bury it. [off]",
    ),
    label_decoding: str | None = typer.Option(
        None,
        help="'score' (closed label set) or 'generate' (free greedy text). [score; generate "
        "when the dataset.json that r2d data prepare wrote beside --train marks the label set "
        "open]",
    ),
    force_label_scoring: bool | None = typer.Option(
        None,
        "--force-label-scoring/--no-force-label-scoring",
        help="Score the label set even when it has more than 64 labels (refused otherwise).",
    ),
    labels: str | None = typer.Option(
        None, help="Label set: comma-separated, or a file (one per line / JSON list)."
    ),
    stage1_rationale_col: str | None = typer.Option(
        None,
        help="Stage 1 takes its rationales from this column of the same rows (e.g. LLM-written "
        "ones), Stage 2 from --rationale-col. [--rationale-col]",
    ),
    stage1_train: Path | None = typer.Option(
        None,
        help="Stage 1 trains on this file instead, validating on a held-out --val-fraction of it "
        "(not on --val).",
    ),
    stage1_exclude_overlap: bool | None = typer.Option(
        None,
        "--stage1-exclude-overlap/--no-stage1-exclude-overlap",
        help="Drop the rows of --stage1-train / --stage1-rationale-col whose id or question also "
        "occurs in --val (or the bench's test set); without it they are counted in a warning. "
        "[off]",
    ),
    alpha: float | None = typer.Option(None, help="Stage 2: final label-loss weight α. [0.7]"),
    alpha_warmup_fraction: float | None = typer.Option(
        None,
        help="Stage 2: W, share of steps over which α rises from 0 and p stays 0 (not the "
        "learning-rate warm-up, --warmup-ratio). [0.05]",
    ),
    old_warmup_fraction: float | None = typer.Option(
        None, "--warmup-fraction", hidden=True, help="Deprecated: --alpha-warmup-fraction."
    ),
    ramp_fraction: float | None = typer.Option(
        None, help="Stage 2: M, share of steps over which p rises after W. [0.6]"
    ),
    p_max: float | None = typer.Option(None, help="Stage 2: cap of p. [0.9]"),
    sampling_dropout: bool | None = typer.Option(
        None,
        "--sampling-dropout/--no-sampling-dropout",
        help="Reference quirk: predict sampled labels with dropout on. [off]",
    ),
    sampling_max_new_tokens: int | None = typer.Option(
        None, help="Token limit of generated sampled labels (the reference uses 50)."
    ),
    dss_alpha: float | None = typer.Option(None, help="DSS: label-loss weight. [0.5]"),
    cycle_weight: float | None = typer.Option(None, help="R2D-C: cycle-loss weight λ. [0.1]"),
    gumbel_start: float | None = typer.Option(None, help="R2D-C: Gumbel temperature at 0. [1.0]"),
    gumbel_min: float | None = typer.Option(None, help="R2D-C: its floor. [0.5]"),
    confidence_sharpness: float | None = typer.Option(None, help="R2D-C: k in σ(k·(c − τ)). [10]"),
    tau_window_steps: int | None = typer.Option(
        None, help="R2D-C: steps between updates of the running threshold τ. [1000]"
    ),
    r2dc_confidence: str | None = typer.Option(
        None,
        help="R2D-C: confidence c of a predicted label: token-geomean (geometric-mean token "
        "probability, as published) or set-probability (its probability over the label set; "
        "needs --label-decoding score). [token-geomean]",
    ),
    val_fraction: float | None = typer.Option(
        None, help="Share of --train held out for validation when --val is absent. [0.1]"
    ),
    stage1_patience: int | None = typer.Option(None, help="Early-stopping patience. [3]"),
    stage2_patience: int | None = typer.Option(
        None, help="Early-stopping patience, counted from W+M. [5]"
    ),
    precision: str | None = typer.Option(None, help="auto, fp32, bf16 or fp16. [auto]"),
    num_workers: int | None = typer.Option(None, help="Data-loader workers. [0]"),
    save_total_limit: int | None = typer.Option(None, help="Checkpoints kept per stage. [2]"),
    keep_checkpoints: bool | None = typer.Option(
        None, "--keep-checkpoints/--no-keep-checkpoints", help="Keep checkpoint-* folders."
    ),
    report_to: str | None = typer.Option(None, help="none, tensorboard, mlflow, ... [none]"),
    group_by_length: bool | None = typer.Option(
        None,
        "--group-by-length/--no-group-by-length",
        help="Batch examples of similar question length together (less padding; the batches "
        "differ from the plain shuffle, reproducibly for a seed). [off]",
    ),
    lora_r: int | None = typer.Option(
        None, help="LoRA rank: train low-rank adapters (peft) instead of all weights. [off]"
    ),
    lora_alpha: float | None = typer.Option(None, help="LoRA scaling alpha. [16]"),
    lora_dropout: float | None = typer.Option(None, help="LoRA dropout. [0.05]"),
    lora_target_modules: str | None = typer.Option(
        None,
        help="Comma-separated layer names to adapt (e.g. q_proj,v_proj) or all-linear. "
        "[peft's default for the model family: attention query and value]",
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --output."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run in --output."),
    *,
    column_flags: ColumnFlags,  # from the flags column_options adds
) -> None:
    """Train a model: Reason2Decide Stage 1 then Stage 2 by default."""
    from reason2decide.distributed import is_main_process
    from reason2decide.errors import R2DError
    from reason2decide.training.config import build_config, upgrade_options
    from reason2decide.training.runner import resume_config, run_training

    flags = {
        "method": method,
        "train": train_file,
        "val": val,
        "output": output,
        "model": model,
        "stage": stage,
        "init": init,
        "max_steps": max_steps,
        "stage1_max_steps": stage1_max_steps,
        "batch_size": batch_size,
        "eval_batch_size": eval_batch_size,
        "gradient_accumulation_steps": gradient_accumulation_steps,
        "lr": lr,
        "stage1_lr": stage1_lr,
        "fresh_lr_scale": fresh_lr_scale,
        "warmup_ratio": warmup_ratio,
        "weight_decay": weight_decay,
        "eval_steps": eval_steps,
        "stage1_eval_steps": stage1_eval_steps,
        "logging_steps": logging_steps,
        "seed": seed,
        "max_input_length": max_input_length,
        "max_target_length": max_target_length,
        "input_truncation": input_truncation,
        "prompt_format": prompt_format,
        "repeat_task": repeat_task,
        "label_decoding": label_decoding,
        "force_label_scoring": force_label_scoring,
        "labels": labels,
        **column_flags.given(),
        "stage1_rationale_col": stage1_rationale_col,
        "stage1_train": stage1_train,
        "stage1_exclude_overlap": stage1_exclude_overlap,
        "alpha": alpha,
        "alpha_warmup_fraction": alpha_warmup_fraction,
        "warmup_fraction": old_warmup_fraction,
        "ramp_fraction": ramp_fraction,
        "p_max": p_max,
        "sampling_dropout": sampling_dropout,
        "sampling_max_new_tokens": sampling_max_new_tokens,
        "dss_alpha": dss_alpha,
        "cycle_weight": cycle_weight,
        "gumbel_start": gumbel_start,
        "gumbel_min": gumbel_min,
        "confidence_sharpness": confidence_sharpness,
        "tau_window_steps": tau_window_steps,
        "r2dc_confidence": r2dc_confidence,
        "val_fraction": val_fraction,
        "stage1_patience": stage1_patience,
        "stage2_patience": stage2_patience,
        "precision": precision,
        "num_workers": num_workers,
        "save_total_limit": save_total_limit,
        "keep_checkpoints": keep_checkpoints,
        "report_to": report_to,
        "group_by_length": group_by_length,
        "lora_r": lora_r,
        "lora_alpha": lora_alpha,
        "lora_dropout": lora_dropout,
        "lora_target_modules": lora_target_modules,
    }
    flags = upgrade_options(flags, source="command line")
    if resume and output is None and config is None:
        raise R2DError("--resume needs --output (the folder of the run to continue)")
    if resume:
        out_dir = output
        if out_dir is None:
            from reason2decide.training.config import load_yaml

            out_dir = Path(load_yaml(config).get("output", ""))
        resolved = resume_config(
            out_dir, {k: v for k, v in flags.items() if k != "output"}, config_file=config
        )
    else:
        resolved = build_config(flags, config)
    manifest = run_training(resolved, resume=resume, overwrite=overwrite, say=console.print)
    if not is_main_process():
        return
    out = resolved.output
    console.print(
        f"[bold green]done[/] in {manifest['wall_time_s']:.0f} s of training. "
        f"Model: {out / 'model'}\n"
        f"Next: r2d evaluate {out} --test TEST_FILE --output {out / 'eval'}"
    )
