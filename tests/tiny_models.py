"""Tiny randomly initialised models with tokenizers built on the spot, for fast offline tests."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    T5Config,
    T5ForConditionalGeneration,
)

SPECIALS = ["<pad>", "</s>", "<unk>"]


def build_tokenizer(texts: Iterable[str]) -> PreTrainedTokenizerFast:
    """A word-level tokenizer whose vocabulary is every word of ``texts``."""
    core = Tokenizer(models.WordLevel(unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation()]
    )
    core.train_from_iterator(
        [t.lower() for t in texts], trainers.WordLevelTrainer(special_tokens=SPECIALS)
    )
    core.normalizer = normalizers.Lowercase()
    return PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )


def save_tiny_t5(directory: Path, texts: Iterable[str], seed: int = 0) -> Path:
    """Save a two-layer T5 (d_model 32) and its tokenizer to ``directory``."""
    import torch

    torch.manual_seed(seed)
    tokenizer = build_tokenizer(texts)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_ff=64,
        d_kv=8,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        dropout_rate=0.0,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    model = T5ForConditionalGeneration(config)
    model.generation_config.decoder_start_token_id = tokenizer.pad_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def save_tiny_llama(directory: Path, texts: Iterable[str], seed: int = 0) -> Path:
    """Save a two-layer Llama-style causal LM (hidden 32) and its tokenizer to ``directory``."""
    import torch

    torch.manual_seed(seed)
    tokenizer = build_tokenizer(texts)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


#: A minimal chat template: ``role: content`` turns, then ``assistant:`` to answer.
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }} {% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)
#: Forty numbered words, then every word the prompts and the chat frame use.
CHAT_WORDS = [f"w{i}" for i in range(40)]
CHAT_TEXTS = [" ".join(CHAT_WORDS), "predict: explain: given label: , user assistant yes no maybe"]


def save_tiny_chat_llama(directory: Path) -> Path:
    """:func:`save_tiny_llama` over :data:`CHAT_TEXTS`, its tokenizer given
    :data:`CHAT_TEMPLATE`."""
    from transformers import AutoTokenizer

    save_tiny_llama(directory, CHAT_TEXTS)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(directory)
    return directory


def decoded_words(backbone, ids) -> list[str]:  # noqa: ANN001  (any Backbone, any token ids)
    """The words of ``ids`` decoded by ``backbone``'s tokenizer."""
    return backbone.tokenizer.decode(ids).split()


def write_toy_dataset(
    directory: Path, n_train: int = 48, n_val: int = 16, seed: int = 0
) -> list[str]:
    """Write ``train.jsonl``/``val.jsonl`` of a two-label task a tiny model learns in a few
    dozen steps; return every text, for building a tokenizer's vocabulary."""
    import json
    import random

    rng = random.Random(seed)
    findings = {"yes": ["fever", "rash", "vomiting"], "no": ["tiredness", "itch", "yawning"]}
    rows = []
    for i in range(n_train + n_val):
        label = ["yes", "no"][i % 2]
        finding = rng.choice(findings[label])
        other = rng.choice(["today", "since monday", "at night"])
        rows.append(
            {
                "id": f"case-{i}",
                "question": f"does a child with {finding} {other} need a doctor",
                "label": label,
                "rationale": f"{finding} means {label}",
            }
        )
    directory.mkdir(parents=True, exist_ok=True)
    for name, part in (("train", rows[:n_train]), ("val", rows[n_train:])):
        with open(directory / f"{name}.jsonl", "w", encoding="utf-8") as handle:
            handle.write("\n".join(json.dumps(r) for r in part) + "\n")
    prompts = "predict : explain : given label : , yes no"
    return [r["question"] + " " + r["rationale"] for r in rows] + [prompts]


#: The right treatment for each finding of :func:`write_choices_dataset`.
CHOICE_ANSWERS = {
    "fever": "paracetamol",
    "rash": "antihistamine",
    "wheeze": "inhaler",
    "wound": "bandage",
    "cough": "syrup",
    "pain": "ibuprofen",
}


def write_choices_dataset(
    directory: Path, n_train: int = 48, n_val: int = 16, seed: int = 0
) -> list[str]:
    """Write ``train.csv``/``val.csv`` of four-option cases (columns ``opa``-``opd``, the answer
    as a letter in ``cop``, findings and ages in their own columns for a question template);
    return every text, for building a tokenizer's vocabulary."""
    import csv
    import random

    rng = random.Random(seed)
    treatments = sorted(CHOICE_ANSWERS.values())
    rows = []
    for i in range(n_train + n_val):
        finding = rng.choice(sorted(CHOICE_ANSWERS))
        answer = CHOICE_ANSWERS[finding]
        options = [answer, *rng.sample([t for t in treatments if t != answer], 3)]
        rng.shuffle(options)
        rows.append(
            {
                "id": f"mc-{i}",
                "finding": finding,
                "age": rng.choice(["child", "adult"]),
                "opa": options[0],
                "opb": options[1],
                "opc": options[2],
                "opd": options[3],
                "cop": "ABCD"[options.index(answer)],
                "rationale": f"{finding} needs {answer}",
            }
        )
    directory.mkdir(parents=True, exist_ok=True)
    for name, part in (("train", rows[:n_train]), ("val", rows[n_train:])):
        with open(directory / f"{name}.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(part)
    words = "predict : explain : given label : , options a b c d . which treatment for a with"
    return [f"{r['finding']} {r['age']} {r['rationale']}" for r in rows] + treatments + [words]


def save_tiny_bart(directory: Path, texts: Iterable[str], seed: int = 0) -> Path:
    """Save a two-layer BART (d_model 32, a final logits bias) and its tokenizer."""
    import torch
    from transformers import BartConfig, BartForConditionalGeneration

    torch.manual_seed(seed)
    tokenizer = build_tokenizer(texts)
    config = BartConfig(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        dropout=0.0,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        forced_eos_token_id=None,
    )
    model = BartForConditionalGeneration(config)
    with torch.no_grad():  # a non-zero bias, so that the test sees it added to every row
        model.final_logits_bias.normal_()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def save_tiny_bert2bert(directory: Path, texts: Iterable[str], seed: int = 0) -> Path:
    """Save a BERT-to-BERT ``EncoderDecoderModel`` (two layers each, hidden 32; the shape of
    the built-in minilm-bert2bert) and its tokenizer."""
    import torch
    from transformers import BertConfig, EncoderDecoderConfig, EncoderDecoderModel

    torch.manual_seed(seed)
    tokenizer = build_tokenizer(texts)
    shape = {
        "vocab_size": len(tokenizer),
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 64,
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "pad_token_id": tokenizer.pad_token_id,
    }
    decoder = BertConfig(**shape, is_decoder=True, add_cross_attention=True)
    config = EncoderDecoderConfig.from_encoder_decoder_configs(BertConfig(**shape), decoder)
    config.decoder_start_token_id = tokenizer.eos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    config.eos_token_id = tokenizer.eos_token_id
    model = EncoderDecoderModel(config=config)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
