"""LoRA (``peft``) for larger backbones: low-rank adapters train, the backbone stays frozen.

The adapters are merged into the weights when a stage's model is saved, so that the saved
model is a plain transformers model: ``r2d predict`` and ``r2d evaluate`` reload it with no
``peft`` and no network, and Stage 2 starts fresh adapters on the merged Stage-1 model.

Parameters the backbone marks as not pretrained (the cross-attention and LM-head transform of
``minilm-bert2bert``) would stay at their initial values under frozen weights; they train in
full instead (``modules_to_save``) and never receive adapters.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from reason2decide.backbones import Backbone
from reason2decide.errors import R2DError


def default_target_modules(model: nn.Module) -> list[str]:
    """peft's usual LoRA targets (attention query/value projections) for ``model``'s family."""
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as known

    config = model.config
    types = [getattr(config, "model_type", None)]
    if getattr(config, "is_encoder_decoder", False) and hasattr(config, "encoder"):
        types.append(getattr(config.encoder, "model_type", None))  # EncoderDecoderModel
    for model_type in types:
        if model_type in known:
            return list(known[model_type])
    raise R2DError(
        f"no default LoRA target modules for model type '{types[0]}'",
        field="lora_target_modules (--lora-target-modules)",
        hint="name the layers to adapt, e.g. q_proj,v_proj, or all-linear",
    )


def lora_targets(model: nn.Module, names: list[str], fresh: tuple[str, ...]) -> list[str]:
    """Full names of the linear layers whose last name part is in ``names`` ("all-linear":
    every linear layer but the output projection), outside the backbone's fresh modules."""
    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    chosen = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.Linear) or module is output:
            continue
        if any(fragment in name for fragment in fresh):
            continue
        if "all-linear" in names or name.rsplit(".", 1)[-1] in names:
            chosen.append(name)
    return chosen


def apply_lora(
    backbone: Backbone,
    *,
    r: int,
    alpha: float,
    dropout: float,
    target_modules: str | None = None,
) -> dict[str, Any]:
    """Wrap ``backbone.model`` in LoRA adapters in place; return what was adapted (for
    ``run.json``)."""
    from peft import LoraConfig, TaskType, get_peft_model

    model = backbone.model
    names = (
        [n.strip() for n in target_modules.split(",") if n.strip()]
        if target_modules
        else default_target_modules(model)
    )
    targets = lora_targets(model, names, backbone.fresh_parameters)
    if not targets:
        raise R2DError(
            f"no linear layer of {backbone.name} matches the LoRA targets {', '.join(names)}",
            field="lora_target_modules (--lora-target-modules)",
            hint="give the last part of the layers' names, e.g. q_proj,v_proj, or all-linear",
        )
    fresh_modules = sorted(
        {
            name
            for name, _ in model.named_modules()
            if any(name.endswith(fragment) for fragment in backbone.fresh_parameters)
        }
    )
    config = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=targets,
        modules_to_save=fresh_modules or None,
        task_type=TaskType.SEQ_2_SEQ_LM if backbone.kind == "seq2seq" else TaskType.CAUSAL_LM,
    )
    backbone.model = get_peft_model(model, config)
    trainable = sum(p.numel() for p in backbone.model.parameters() if p.requires_grad)
    return {
        "r": r,
        "alpha": alpha,
        "dropout": dropout,
        "target_modules": names,
        "adapted_layers": len(targets),
        "fully_trained_modules": len(fresh_modules),
        "trainable_parameters": trainable,
    }


def merge_lora(model: nn.Module) -> nn.Module:
    """The plain model with its LoRA adapters merged in (``model`` itself when it has none)."""
    from peft import PeftModel

    return model.merge_and_unload() if isinstance(model, PeftModel) else model
