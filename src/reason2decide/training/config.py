"""The resolved configuration of a training run: defaults < YAML file < command-line flags."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reason2decide.errors import R2DError

if TYPE_CHECKING:
    from reason2decide.data.readers import ColumnMap


class TrainConfig(BaseModel):
    """Everything a training run needs; written to ``run.json`` beside the model.

    Defaults follow the Reason2Decide paper and reference code (batch 64, lr 5e-5,
    Stage 1 up to 50k steps, Stage 2 up to 30k steps, α 0.7, W 5%, M 60%, p ≤ 0.9).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    method: str = "r2d"
    train: Path
    val: Path | None = None
    val_fraction: float = Field(0.1, gt=0.0, lt=1.0)
    output: Path
    question_col: str = "question"
    label_col: str = "label"
    rationale_col: str = "rationale"
    question_template: str | None = Field(
        None, description="build the input text from columns, e.g. '{complaint}. {vitals}'"
    )
    choices_cols: str | None = Field(
        None, description="multiple choice: one column per option, comma-separated"
    )
    choices_col: str | None = Field(
        None, description="multiple choice: one column holding each case's list of options"
    )
    choices_sep: str | None = Field(
        None, description="separator of --choices-col's options in a CSV/TSV cell"
    )
    answer_format: Literal["auto", "text", "letter", "index0", "index1"] | None = Field(
        None, description="how the label names its option (with --choices-cols/--choices-col)"
    )
    stage1_rationale_col: str | None = None
    stage1_train: Path | None = None
    stage1_exclude_overlap: bool = False
    id_col: str | None = "id"
    labels: str | None = None
    model: str = "minilm-bert2bert"
    stage: Literal["all", "1", "2"] = "all"
    init: str | None = None

    max_steps: int = Field(30_000, ge=1, description="Stage-2 (or single-stage method) steps")
    stage1_max_steps: int = Field(50_000, ge=1)
    batch_size: int = Field(64, ge=1)
    eval_batch_size: int | None = Field(None, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    lr: float = Field(5e-5, gt=0.0)
    stage1_lr: float | None = Field(None, gt=0.0)
    fresh_lr_scale: float | None = Field(
        None, gt=0.0, description="lr factor of non-pretrained parameters; None = backbone's"
    )
    weight_decay: float = Field(0.0, ge=0.0)
    warmup_ratio: float = Field(0.0, ge=0.0, lt=1.0)
    eval_steps: int = Field(500, ge=1)
    stage1_eval_steps: int | None = Field(None, ge=1)
    logging_steps: int = Field(10, ge=1)
    seed: int = 42
    max_input_length: int = Field(1024, ge=8)
    max_target_length: int = Field(256, ge=4)
    input_truncation: Literal["end", "middle"] = Field(
        "end",
        description="over-long prompts: cut the end, or keep the first quarter and the end",
    )
    prompt_format: Literal["plain", "chat"] = Field(
        "plain",
        description="decoder-only models: plain text prompts, or the user turn of the "
        "tokenizer's chat template",
    )
    repeat_task: bool = Field(
        False,
        description="decoder-only models: repeat the prompt's task instruction after the "
        "input, next to the answer",
    )
    label_decoding: Literal["score", "generate"] = Field(
        "score",
        description="not given: generate when the prepared dataset.json beside --train marks "
        "the label set open, else score",
    )
    force_label_scoring: bool = False

    # Reason2Decide Stage 2
    alpha: float = Field(0.7, ge=0.0, le=1.0)
    alpha_warmup_fraction: float = Field(
        0.05, ge=0.0, le=1.0, description="W: share of Stage-2 steps over which α rises"
    )
    ramp_fraction: float = Field(0.6, ge=0.0, le=1.0)
    p_max: float = Field(0.9, ge=0.0, le=1.0)
    sampling_dropout: bool = False
    sampling_max_new_tokens: int | None = Field(None, ge=1)
    stage1_patience: int = Field(3, ge=0)
    stage2_patience: int = Field(5, ge=0, description="also SFT's and DSS's patience")

    # DSS
    dss_alpha: float = Field(0.5, ge=0.0, le=1.0)

    # Reason2Decide-C
    cycle_weight: float = Field(0.1, ge=0.0)
    gumbel_start: float = Field(1.0, gt=0.0)
    gumbel_min: float = Field(0.5, gt=0.0)
    confidence_sharpness: float = Field(10.0, gt=0.0)
    tau_window_steps: int = Field(1000, ge=1)
    r2dc_confidence: Literal["token-geomean", "set-probability"] = Field(
        "token-geomean",
        description="c: geometric-mean token probability of the predicted label (published), "
        "or its probability over the label set (closed-set scoring only)",
    )

    # engineering
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    num_workers: int = Field(0, ge=0)
    save_total_limit: int = Field(2, ge=1)
    keep_checkpoints: bool = False
    report_to: str = "none"
    group_by_length: bool = False

    # LoRA (peft): adapters on a frozen backbone, merged into the saved model
    lora_r: int | None = Field(None, ge=1, description="LoRA rank; None = full fine-tuning")
    lora_alpha: float = Field(16.0, gt=0.0)
    lora_dropout: float = Field(0.05, ge=0.0, lt=1.0)
    lora_target_modules: str | None = None

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
        self.columns()  # a bad template or options setting fails here, before any work
        return self

    def columns(self, rationale: str | None | Literal["config"] = "config") -> ColumnMap:
        """The column mapping the data is read with (question or template, label, options,
        id), with ``rationale`` as the rationale column (``"config"``: ``rationale_col``;
        ``None``: none read)."""
        from reason2decide.data.readers import ColumnMap

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


#: Closed-set scoring ranks every label for every example at every step and validation: above
#: this many labels it is refused unless forced (``--force-label-scoring``).
MAX_SCORED_LABELS = 64


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
