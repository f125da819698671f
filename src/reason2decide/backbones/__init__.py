"""One interface over model families. :func:`load_backbone` takes a built-in name, a Hugging
Face hub name, a local folder (including a saved reason2decide model) or a ``.gguf`` file."""

from __future__ import annotations

from pathlib import Path

from reason2decide.backbones.base import Backbone, read_backbone_file
from reason2decide.backbones.builtin import BUILTIN, quiet_transformers
from reason2decide.backbones.causal import CausalBackbone
from reason2decide.backbones.folder import check_model_folder
from reason2decide.backbones.seq2seq import Seq2SeqBackbone, unwrap
from reason2decide.errors import R2DError
from reason2decide.generation import GREEDY, GenerationSettings

DEFAULT_BACKBONE = "minilm-bert2bert"

__all__ = [
    "BUILTIN",
    "DEFAULT_BACKBONE",
    "GREEDY",
    "Backbone",
    "CausalBackbone",
    "GenerationSettings",
    "Seq2SeqBackbone",
    "load_backbone",
    "quiet_transformers",
    "unwrap",
]


def load_backbone(
    name_or_path: str,
    *,
    max_input_length: int = 1024,
    max_target_length: int = 256,
    kind: str | None = None,
    input_truncation: str | None = None,
    prompt_format: str | None = None,
    repeat_task: bool | None = None,
    option_scoring: str | None = None,
) -> Backbone:
    """Load a backbone by built-in name, hub name, local folder or ``.gguf`` file.

    ``kind`` ("seq2seq" or "causal") overrides the family read from the model's config.
    ``input_truncation`` ("end" or "middle") overrides the one a saved model was trained with
    (default "end"); ``prompt_format`` ("plain" or "chat"), ``repeat_task`` and
    ``option_scoring`` ("sum" or "mean") the same.
    Saved reason2decide models reload with no network.
    """
    if name_or_path in BUILTIN:
        backbone = BUILTIN[name_or_path](
            max_input_length=max_input_length, max_target_length=max_target_length
        )
        backbone.input_truncation = input_truncation or "end"
        backbone.prompt_format = prompt_format or "plain"
        backbone.repeat_task = bool(repeat_task)
        backbone.option_scoring = option_scoring or "sum"
        return backbone
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    path = Path(name_or_path)
    source, extra = name_or_path, {"trust_remote_code": False}
    if path.suffix == ".gguf":
        # transformers refuses to fine-tune a model loaded from GGUF: train a dequantised copy.
        from reason2decide.backbones.gguf import dequantised

        path = dequantised(path)
        source = str(path)
        kind = kind or "causal"
    saved = read_backbone_file(path) if path.is_dir() else None
    if saved is not None:
        kind = kind or saved.get("kind")
    if kind not in (None, "seq2seq", "causal"):
        raise R2DError(f"unknown backbone kind '{kind}'", hint="use seq2seq or causal")
    if path.is_dir():
        check_model_folder(path)
    try:
        with quiet_transformers():
            if kind is None:
                config = AutoConfig.from_pretrained(source, **extra)
                kind = "seq2seq" if getattr(config, "is_encoder_decoder", False) else "causal"
            tokenizer = AutoTokenizer.from_pretrained(source, **extra)
            auto = AutoModelForSeq2SeqLM if kind == "seq2seq" else AutoModelForCausalLM
            # Weights only from safetensors (never unpickled), and never code shipped with a model.
            model = auto.from_pretrained(source, use_safetensors=True, **extra)
    except Exception as exc:  # every loading failure becomes one named line
        hint = (
            "give a local folder, a .gguf file, or a hub name on a machine with network; "
            f"built-in offline backbones: {', '.join(BUILTIN)}"
        )
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise R2DError(f"cannot load model '{name_or_path}': {first_line}", hint=hint) from exc
    cls = Seq2SeqBackbone if kind == "seq2seq" else CausalBackbone
    saved = saved or {}
    return cls(
        model,
        tokenizer,
        name=saved.get("name", name_or_path),
        max_input_length=max_input_length,
        max_target_length=max_target_length,
        fresh_parameters=tuple(saved.get("fresh_parameters", ())),
        fresh_lr_scale=float(saved.get("fresh_lr_scale", 1.0)),
        input_truncation=input_truncation or saved.get("input_truncation", "end"),
        prompt_format=prompt_format or saved.get("prompt_format", "plain"),
        repeat_task=saved.get("repeat_task", False) if repeat_task is None else repeat_task,
        option_scoring=option_scoring or saved.get("option_scoring", "sum"),
    )
