"""Truncation is measured the way the backbones cut: lengths, per-example counts, limits."""

from __future__ import annotations

import pytest

from reason2decide.backbones import load_backbone
from reason2decide.backbones.truncation import (
    describe_counts,
    describe_limits,
    token_limits,
    truncation_counts,
)
from tiny_models import save_tiny_llama, save_tiny_t5

WORDS = "predict explain given label a man with chest pain and sweating mild cough emergency now"
SHORT = "predict: a man with chest pain"
LONG = "predict: " + " ".join(["chest pain and sweating"] * 10)  # 40+ tokens


@pytest.fixture(scope="module", params=["t5", "llama"])
def backbone(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(f"cut-{request.param}")
    (save_tiny_t5 if request.param == "t5" else save_tiny_llama)(directory, [WORDS])
    return load_backbone(str(directory), max_input_length=16, max_target_length=6)


def encoded_lengths(backbone, prompt: str, target: str) -> tuple[int, int]:
    """Prompt and target tokens that actually reach the model for one pair."""
    batch = backbone.encode_pairs([prompt], [target])
    target_tokens = int((batch["labels"] != -100).sum())
    if backbone.kind == "seq2seq":
        return int(batch["attention_mask"].sum()), target_tokens
    return int(batch["attention_mask"].sum()) - target_tokens, target_tokens


@pytest.mark.parametrize("prompt", [SHORT, LONG])
@pytest.mark.parametrize("target", ["emergency now", "a man with chest pain and sweating"])
def test_lengths_match_what_encoding_keeps(backbone, prompt, target):
    prompt_tokens, target_tokens = encoded_lengths(backbone, prompt, target)
    [full_prompt] = backbone.prompt_lengths([prompt])
    [full_target] = backbone.target_lengths([target])
    assert prompt_tokens == min(full_prompt, backbone.max_input_length)
    assert target_tokens == min(full_target, backbone.max_target_length)


def test_an_example_counts_once_whichever_of_its_texts_is_cut(backbone):
    counts = truncation_counts(
        backbone,
        [[SHORT], [SHORT, LONG], [LONG, LONG], [SHORT, SHORT]],
        [["emergency now"], ["emergency now", "a man with chest pain and sweating"], [], []],
    )
    assert counts == {
        "examples": 4,
        "prompts_cut": 2,
        "prompts_cut_share": 0.5,
        "targets_cut": 1,
        "targets_cut_share": 0.25,
    }
    line = describe_counts("train", counts, token_limits(backbone))
    assert line == (
        "train: 50.0% (2) of 4 examples have a prompt cut at 16 tokens, "
        "25.0% (1) a target cut at 6 tokens"
    )


def test_limits_clamped_to_the_position_limit_are_reported(tmp_path):
    save_tiny_llama(tmp_path, [WORDS])  # max_position_embeddings 512
    backbone = load_backbone(str(tmp_path), max_input_length=1024, max_target_length=256)
    limits = token_limits(backbone, 1024, 256)
    assert limits == {
        "max_input_length": 512,
        "max_target_length": 256,
        "requested_max_input_length": 1024,
        "requested_max_target_length": 256,
        "model_position_limit": 512,
    }
    assert describe_limits(limits) == (
        "token limits: prompts 512 (asked 1024; the model's position limit is 512), targets 256"
    )
