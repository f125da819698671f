"""The resolved configuration of a training run: defaults < YAML file < command-line flags.

One file on purpose (a little over 400 lines): it is the one declaration of every training
option (type, default, help, published value, bounds), from which the ``r2d train`` and
``r2d bench`` flags and the YAML keys are derived, and the rules that merge and check them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reason2decide.data.column_help import COLUMN_HELP
from reason2decide.data.readers import ColumnMap
from reason2decide.errors import R2DError

#: Closed-set scoring ranks every label for every example at every step and validation: above
#: this many labels it is refused unless forced (``--force-label-scoring``).
MAX_SCORED_LABELS = 64


def option(
    default: Any,
    help: str,
    *,
    paper: Any = None,
    unset: str | None = None,
    short: str | None = None,
    **bounds: Any,
) -> Any:
    """A :class:`TrainConfig` field: its default, its help (``r2d train --help`` adds the
    default), the published value where there is one (``paper``), what a ``None`` default means
    (``unset``), a one-letter flag (``short``) and pydantic's bounds (``ge=0.0``, ...). The
    field's name is its YAML key and, with dashes, its flag."""
    extra = {"paper": paper, "unset": unset, "short": short}
    return Field(
        default,
        description=help,
        json_schema_extra={k: v for k, v in extra.items() if v is not None} or None,
        **bounds,
    )


def option_extra(name: str) -> dict[str, Any]:
    """The flag metadata of the option ``name`` (``paper``, ``unset``, ``short``)."""
    extra = TrainConfig.model_fields[name].json_schema_extra
    return dict(extra) if isinstance(extra, dict) else {}


class TrainConfig(BaseModel):
    """Everything a training run needs; written to ``run.json`` beside the model.

    Each option is declared here once, with its type, default, bounds, help and the published
    value (``paper``) where there is one: the YAML keys of ``r2d train --config`` are the field
    names, and the ``r2d train`` / ``r2d bench`` flags are built from the fields
    (:mod:`reason2decide.cli.train_options`). Defaults follow the Reason2Decide paper and
    reference code. The methods' own constants (``Stage2Config``, ...) repeat the paper
    defaults for standalone use; tests/training/test_config.py checks that they agree.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    method: str = option(
        "r2d", "Training method: r2d, r2d-no-stage1, r2d-no-sampling, r2dc, sft or dss."
    )
    train: Path = option(..., "Training data: .jsonl, .csv, .tsv or .parquet.")
    val: Path | None = option(
        None, "Validation data; without it a stratified share of --train is held out."
    )
    val_fraction: float = option(
        0.1, "Share of --train held out for validation when --val is absent.", gt=0.0, lt=1.0
    )
    output: Path = option(..., "Output folder of the run.", short="-o")
    # The column options' defaults are ColumnMap's; their flags are cli/columns.py's ColumnFlags,
    # shared by every command that reads data files; the help of both is COLUMN_HELP.
    question_col: str = option(ColumnMap.question, COLUMN_HELP["question_col"])
    label_col: str = option(ColumnMap.label, COLUMN_HELP["label_col"])
    rationale_col: str = option(str(ColumnMap.rationale), COLUMN_HELP["rationale_col"])
    question_template: str | None = option(None, COLUMN_HELP["question_template"])
    choices_cols: str | None = option(None, COLUMN_HELP["choices_cols"])
    choices_col: str | None = option(None, COLUMN_HELP["choices_col"])
    choices_sep: str | None = option(None, COLUMN_HELP["choices_sep"])
    answer_format: Literal["auto", "text", "letter", "index0", "index1"] | None = option(
        None, COLUMN_HELP["answer_format"]
    )
    stage1_rationale_col: str | None = option(
        None,
        "Stage 1 takes its rationales from this column of the same rows (e.g. LLM-written "
        "ones), Stage 2 from --rationale-col.",
        unset="--rationale-col",
    )
    stage1_train: Path | None = option(
        None,
        "Stage 1 trains on this file instead, validating on a held-out --val-fraction of it "
        "(not on --val).",
    )
    stage1_exclude_overlap: bool = option(
        False,
        "Drop the rows of --stage1-train / --stage1-rationale-col whose id or question also "
        "occurs in --val (or the bench's test set); without it they are counted in a warning.",
    )
    id_col: str | None = option(ColumnMap.id, COLUMN_HELP["id_col"])
    labels: str | None = option(
        None, "Label set: comma-separated, or a file (one per line / JSON list)."
    )
    model: str = option(
        "minilm-bert2bert",
        "Backbone: the built-in 'minilm-bert2bert' (offline), a hub name such as "
        "google/flan-t5-base, a local folder or a .gguf file.",
    )
    stage: Literal["all", "1", "2"] = option(
        "all", "'all', '1' (Stage 1 only) or '2' (Stage 2 only, with --init)."
    )
    init: str | None = option(
        None,
        "Stage 2 alone: start from this run folder's Stage-1 model, or from this model "
        "folder or name as it is (to start from a run's final model, give RUN/model).",
    )

    max_steps: int = option(
        30_000, "Stage-2 steps (single-stage methods: all steps).", paper=30_000, ge=1
    )
    stage1_max_steps: int = option(
        50_000, "Stage-1 steps of the two-stage methods.", paper=50_000, ge=1
    )
    batch_size: int = option(64, "Examples per device per step.", paper=64, ge=1)
    eval_batch_size: int | None = option(None, "Validation batch.", unset="--batch-size", ge=1)
    gradient_accumulation_steps: int = option(
        1, "Micro-batches whose gradients make one optimiser step.", ge=1
    )
    lr: float = option(5e-5, "Learning rate (AdamW, linear decay).", paper=5e-5, gt=0.0)
    stage1_lr: float | None = option(None, "Stage-1 learning rate.", unset="--lr", gt=0.0)
    fresh_lr_scale: float | None = option(
        None,
        "Learning-rate factor of parameters that were not pretrained (the cross-attention of "
        "minilm-bert2bert), until a training has saved them: a trained model has none.",
        unset="the backbone's: 10 for minilm-bert2bert, else 1",
        gt=0.0,
    )
    weight_decay: float = option(0.0, "AdamW weight decay.", ge=0.0)
    warmup_ratio: float = option(
        0.0,
        "Learning-rate warm-up share (not Stage 2's W, --alpha-warmup-fraction).",
        paper=0.0,
        ge=0.0,
        lt=1.0,
    )
    eval_steps: int = option(
        500, "Validate every N steps (and checkpoint, unless --save-steps).", paper=500, ge=1
    )
    stage1_eval_steps: int | None = option(
        None,
        "Stage 1's validation interval (the reference's Stage-1 script: 1000).",
        unset="--eval-steps",
        ge=1,
    )
    logging_steps: int = option(10, "Log (and plot) the training loss every N steps.", ge=1)
    seed: int = option(42, "Random seed of the split, the initialisation and the sampling.")
    max_input_length: int = option(1024, "Prompt tokens.", paper=1024, ge=8)
    max_target_length: int = option(256, "Label/rationale tokens.", paper=256, ge=4)
    input_truncation: Literal["end", "middle"] = option(
        "end",
        "Over-long prompts: 'end' (cut the end) or 'middle' (keep the first quarter and the "
        "last three quarters: the question and the end of a long context).",
    )
    prompt_format: Literal["plain", "chat"] = option(
        "plain",
        "Decoder-only models: 'plain' (prompt, newline, answer) or 'chat' (the prompt as the "
        "user turn of the tokenizer's chat template, the answer as the assistant's; for "
        "instruction-tuned models such as smollm2-135m).",
    )
    repeat_task: bool = option(
        False,
        "Decoder-only models: repeat the prompt's task instruction ('predict:', 'given label: "
        "y, explain:') after the input, next to where the answer starts, so that a long input "
        "does not bury it.",
    )
    option_scoring: Literal["sum", "mean"] = option(
        "sum",
        "Multiple choice: rank a case's own options by the sum of their tokens' "
        "log-probabilities ('sum', as the label set is scored; favours short options) or by "
        "the mean per token ('mean'). Saved with the model.",
    )
    label_decoding: Literal["score", "generate"] = option(
        "score",
        "'score' (closed label set) or 'generate' (free greedy text). Not given: generate when "
        "the dataset.json that r2d data prepare wrote beside --train marks the label set open.",
    )
    force_label_scoring: bool = option(
        False,
        f"Score the label set even when it has more than {MAX_SCORED_LABELS} labels (refused "
        "otherwise).",
    )
    prior_correction: Literal["none", "val"] = option(
        "none",
        "Decide by log p(y|x) − τ·log π(y), π the training label frequencies: 'val' chooses τ "
        "(0 to 1.5) on validation macro-F1 after training and saves it with the model, which "
        "then applies it to every prediction (rare labels predicted more often); 'none' keeps "
        "the plain arg-max. Closed label set only.",
    )

    # Reason2Decide Stage 2
    alpha: float = option(0.7, "Stage 2: final label-loss weight α.", paper=0.7, ge=0.0, le=1.0)
    alpha_warmup_fraction: float = option(
        0.05,
        "Stage 2: W, share of steps over which α rises from 0 and p stays 0 (not the "
        "learning-rate warm-up, --warmup-ratio).",
        paper=0.05,
        ge=0.0,
        le=1.0,
    )
    ramp_fraction: float = option(
        0.6, "Stage 2: M, share of steps over which p rises after W.", paper=0.6, ge=0.0, le=1.0
    )
    p_max: float = option(0.9, "Stage 2: cap of p.", paper=0.9, ge=0.0, le=1.0)
    sampling_dropout: bool = option(
        False, "Reference quirk: predict sampled labels with dropout on."
    )
    sampling_max_new_tokens: int | None = option(
        None, "Token limit of generated sampled labels (the reference uses 50).", ge=1
    )
    stage1_patience: int = option(
        3, "Stage 1: early-stopping patience, in validations.", paper=3, ge=0
    )
    stage2_patience: int = option(
        5,
        "Stage 2 (and sft, dss): early-stopping patience, in validations (Stage 2: counted "
        "from W+M; sft, dss: from the start).",
        paper=5,
        ge=0,
    )

    # DSS
    dss_alpha: float = option(0.5, "DSS: label-loss weight.", paper=0.5, ge=0.0, le=1.0)

    # Reason2Decide-C
    cycle_weight: float = option(
        0.1, "R2D-C: cycle-loss weight λ (the loss is added after step W).", paper=0.1, ge=0.0
    )
    gumbel_start: float = option(1.0, "R2D-C: Gumbel temperature at step 0.", paper=1.0, gt=0.0)
    gumbel_min: float = option(0.5, "R2D-C: its floor.", paper=0.5, gt=0.0)
    confidence_sharpness: float = option(10.0, "R2D-C: k in σ(k·(c − τ)).", paper=10.0, gt=0.0)
    tau_window_steps: int = option(
        1000, "R2D-C: steps between updates of the running threshold τ (not published).", ge=1
    )
    r2dc_confidence: Literal["token-geomean", "set-probability"] = option(
        "token-geomean",
        "R2D-C: confidence c of a predicted label: token-geomean (geometric-mean token "
        "probability, as published) or set-probability (its probability over the label set; "
        "needs --label-decoding score).",
        paper="token-geomean",
    )

    # engineering
    precision: Literal["auto", "fp32", "bf16", "fp16"] = option("auto", "Numeric precision.")
    num_workers: int = option(0, "Data-loader workers.", ge=0)
    dropout_masks: Literal["fast", "torch"] = option(
        "fast",
        "How dropout draws its random masks in training on a CPU: 'fast' (16 random bits per "
        "element from one bulk draw: about a third of the cost where torch samples serially, "
        "as on non-Intel CPUs; the rate rounded to a multiple of 1/65536) or 'torch' (torch's "
        "own dropout, as before: other masks, so other results for a seed). GPUs: torch's.",
    )
    vocab_projection: Literal["targets", "all"] = option(
        "targets",
        "Where an encoder-decoder's training loss projects decoder states onto the "
        "vocabulary: 'targets' (only positions inside a target; a batch's targets are padded "
        "to its longest: 2-6 % faster t5-small Stage-1 steps, the same loss up to rounding) or "
        "'all' (every position, as before: the results of earlier versions bit for bit).",
    )
    length_passes: Literal["auto", "one"] = option(
        "auto",
        "How an encoder-decoder's training loss runs a batch: 'auto' (on a CPU in fp32, the "
        "encoder and the decoder each in up to 4 passes over groups of rows of similar prompt "
        "or target length, so that short rows are not padded to the batch's longest: the same "
        "loss up to rounding, but dropout draws other masks, so other results for a seed; one "
        "pass under bf16/fp16 and on a GPU) or 'one' (one pass, as before: earlier versions' "
        "results bit for bit).",
    )
    host_memory: Literal["keep", "return"] = option(
        "keep",
        "What the C allocator does with memory a training step frees: 'keep' it for the next "
        "step (glibc on Linux, single-process training on a CPU: no page faults on fresh "
        "pages every step; 5-10 % faster on a 2-core CPU, numbers unchanged, a few % more "
        "peak memory) or 'return' it to the system (the allocator's default; always on a GPU).",
    )
    save_steps: int | None = option(
        None,
        "Save a resumable checkpoint every N steps, independent of validation; every "
        "validation that improves the selection metric is also saved, as the best model.",
        unset="every validation (--eval-steps)",
        ge=1,
    )
    save_total_limit: int = option(2, "Checkpoints kept per stage.", ge=1)
    keep_checkpoints: bool = option(False, "Keep the checkpoint-* folders.")
    report_to: str = option("none", "Experiment tracking: none, tensorboard, mlflow, ...")
    group_by_length: bool = option(
        False,
        "Batch examples of similar question length together (less padding; the batches "
        "differ from the plain shuffle, reproducibly for a seed).",
    )

    # LoRA (peft): adapters on a frozen backbone, merged into the saved model
    lora_r: int | None = option(
        None,
        "LoRA rank: train low-rank adapters (peft) instead of all weights.",
        unset="off: full fine-tuning",
        ge=1,
    )
    lora_alpha: float = option(16.0, "LoRA scaling alpha.", gt=0.0)
    lora_dropout: float = option(0.05, "LoRA dropout.", ge=0.0, lt=1.0)
    lora_target_modules: str | None = option(
        None,
        "Comma-separated layer names to adapt (e.g. q_proj,v_proj) or all-linear.",
        unset="peft's default for the model family: attention query and value",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_label_decoding(cls, values: Any) -> Any:
        given = isinstance(values, dict) and values.get("label_decoding") is not None
        if isinstance(values, dict) and not given and values.get("train"):
            values = {**values, "label_decoding": default_label_decoding(values["train"])}
        return values

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.stage == "2" and not self.init:
            raise ValueError("--stage 2 needs --init DIR (a Stage-1 model or any backbone)")
        if (
            self.method == "r2dc"
            and self.r2dc_confidence == "set-probability"
            and self.label_decoding != "score"
        ):
            raise ValueError(
                "--r2dc-confidence set-probability needs --label-decoding score (generated "
                "labels have no probability over the label set); use token-geomean"
            )
        if self.prior_correction != "none" and self.label_decoding != "score":
            raise ValueError(
                "--prior-correction needs --label-decoding score (generated labels have no "
                "probability over the label set to correct)"
            )
        if self.prior_correction != "none" and self.stage == "1":
            raise ValueError(
                "--prior-correction applies to a model that decides: Stage 1 alone writes "
                "rationales only (drop --stage 1, or the correction)"
            )
        self.columns()  # a bad template or options setting fails here, before any work
        return self

    def columns(self, rationale: str | None | Literal["config"] = "config") -> ColumnMap:
        """The column mapping the data is read with (question or template, label, options,
        id), with ``rationale`` as the rationale column (``"config"``: ``rationale_col``;
        ``None``: none read)."""
        return ColumnMap.from_flags(
            question_col=self.question_col,
            label_col=self.label_col,
            rationale_col=self.rationale_col if rationale == "config" else rationale,
            id_col=self.id_col,
            question_template=self.question_template,
            choices_cols=self.choices_cols,
            choices_col=self.choices_col,
            choices_sep=self.choices_sep,
            answer_format=self.answer_format,
        )

    @property
    def resolved_eval_batch_size(self) -> int:
        return self.eval_batch_size or self.batch_size

    def dump(self) -> dict[str, Any]:
        """JSON-ready dict of every field."""
        return self.model_dump(mode="json")


def default_label_decoding(train: str | Path) -> str:
    """``generate`` when ``train`` is a split of a prepared dataset whose ``dataset.json`` marks
    the label set open (one label per answer text), else ``score`` (also for a set whose cases
    carry their own options, ``label_set: choices``, such as MedMCQA and MedReason: each case is
    scored over its options)."""
    from reason2decide.data.sources.prepare import prepared_record

    record = prepared_record(train)
    return "generate" if record is not None and record.get("label_set") == "open" else "score"


def check_label_decoding(config: TrainConfig, n_labels: int) -> None:
    """Refuse closed-set scoring over more than :data:`MAX_SCORED_LABELS` labels unless forced."""
    if config.label_decoding != "score" or n_labels <= MAX_SCORED_LABELS:
        return
    if config.force_label_scoring:
        return
    raise R2DError(
        f"closed-set scoring of {n_labels} labels: every training step and validation would "
        f"score all {n_labels} for every example (more than {MAX_SCORED_LABELS})",
        path=config.train,
        field="label_decoding (--label-decoding)",
        hint="an open-ended label set wants --label-decoding generate; to score them anyway, "
        "pass --force-label-scoring",
    )


#: Old option names still accepted, with a FutureWarning, and the names that replace them.
RENAMED_OPTIONS: dict[str, str] = {
    # "--warmup-fraction" read like "--warmup-ratio" (the learning-rate warm-up)
    "warmup_fraction": "alpha_warmup_fraction",
}


def config_fields() -> list[str]:
    """Names accepted in a YAML config."""
    return list(TrainConfig.model_fields)


def current_option_name(name: str, source: str | Path | None = None) -> str:
    """``name``, or the name that replaced it (with a FutureWarning naming ``source``)."""
    new = RENAMED_OPTIONS.get(name)
    if new is None:
        return name
    where = f"{source}: " if source else ""
    warnings.warn(
        f"{where}option '{name}' (--{name.replace('_', '-')}) is deprecated and will be removed; "
        f"it is now '{new}' (--{new.replace('_', '-')})",
        FutureWarning,
        stacklevel=3,
    )
    return new


def upgrade_options(values: Mapping[str, Any], source: str | Path | None = None) -> dict[str, Any]:
    """``values`` with old option names (:data:`RENAMED_OPTIONS`) replaced by the current ones;
    unset (None) old names are dropped. Giving an option under both names is an R2DError."""
    upgraded = {k: v for k, v in values.items() if k not in RENAMED_OPTIONS}
    for old, new in RENAMED_OPTIONS.items():
        if values.get(old) is None:
            continue
        if values.get(new) is not None:
            raise R2DError(
                f"'{old}' is the old name of '{new}': give only '{new}'",
                path=source,
                field=f"{new} (--{new.replace('_', '-')})",
            )
        upgraded[current_option_name(old, source)] = values[old]
    return upgraded


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file into a dict (keys may use dashes or underscores)."""
    try:
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle) or {}
    except FileNotFoundError as exc:
        raise R2DError("config file not found", path=path) from exc
    except IsADirectoryError as exc:
        raise R2DError("is a folder, not a config file", path=path) from exc
    except OSError as exc:
        raise R2DError(f"cannot read the config file: {exc.strerror or exc}", path=path) from exc
    except UnicodeDecodeError as exc:
        raise R2DError(
            f"not UTF-8 text (byte {exc.start})", path=path, hint="save the config file as UTF-8"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise R2DError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}", path=path, line=line
        ) from exc
    if not isinstance(raw, dict):
        raise R2DError("a config file must be a mapping of option: value", path=path)
    return {str(k).replace("-", "_"): v for k, v in raw.items()}


def build_config(flags: dict[str, Any], config_file: str | Path | None = None) -> TrainConfig:
    """Merge defaults, an optional YAML file and the flags given (None = not given)."""
    values = upgrade_options(load_yaml(config_file), config_file) if config_file else {}
    unknown = sorted(set(values) - set(config_fields()))
    if unknown:
        raise R2DError(
            f"unknown option(s) {', '.join(unknown)}",
            path=config_file,
            hint=f"valid options: {', '.join(config_fields())}",
        )
    values.update({k: v for k, v in upgrade_options(flags).items() if v is not None})
    return validate_config(values, source=config_file)


def validate_config(values: dict[str, Any], source: str | Path | None = None) -> TrainConfig:
    """A :class:`TrainConfig` from a dict, with pydantic's errors turned into one R2DError."""
    try:
        return TrainConfig(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "config"
        flag = "--" + name.replace("_", "-")
        raise R2DError(f"{first['msg']}", path=source, field=f"{name} ({flag})") from exc
