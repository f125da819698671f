"""Decoder-only prompts framed as a chat turn: the template's frame around every prompt, the
budget counted with it, the same scores by every path, the choice saved with the model."""

from __future__ import annotations

import pytest
import torch

from reason2decide.backbones import load_backbone
from reason2decide.errors import R2DError
from tiny_models import CHAT_TEXTS as TEXTS
from tiny_models import CHAT_WORDS as WORDS
from tiny_models import decoded_words as _words
from tiny_models import save_tiny_chat_llama, save_tiny_llama, save_tiny_t5


@pytest.fixture(scope="module")
def chat_folder(tmp_path_factory):
    return save_tiny_chat_llama(tmp_path_factory.mktemp("chat"))


def test_chat_prompts_are_the_user_turn_and_plain_prompts_end_with_the_separator(chat_folder):
    chat = load_backbone(str(chat_folder), prompt_format="chat")
    plain = load_backbone(str(chat_folder))
    assert plain.prompt_format == "plain"
    assert _words(chat, chat.prompt_ids(["predict: w1 w2"])[0]) == [
        "user",
        ":",
        "predict",
        ":",
        "w1",
        "w2",
        "assistant",
        ":",
    ]
    assert _words(plain, plain.prompt_ids(["predict: w1 w2"])[0]) == ["predict", ":", "w1", "w2"]
    # the answer follows the frame and ends with end-of-sequence, as in plain prompts
    batch = chat.encode_pairs(["predict: w1"], ["yes"])
    kept = batch["labels"][0][batch["labels"][0] != -100].tolist()
    assert kept == [chat.tokenizer.convert_tokens_to_ids("yes"), chat.tokenizer.eos_token_id]


def test_the_frame_counts_against_the_input_budget(chat_folder):
    chat = load_backbone(
        str(chat_folder), max_input_length=12, prompt_format="chat", input_truncation="middle"
    )
    text = " ".join(WORDS)
    ids = chat.prompt_ids([text])[0]
    assert len(ids) == 12
    words = _words(chat, ids)
    assert words[:2] == ["user", ":"] and words[-2:] == ["assistant", ":"]
    assert "w39" in words  # middle truncation inside the frame keeps the end of the text
    assert chat.prompt_lengths([text]) == [len(WORDS) + 4]


def test_scores_agree_across_paths_and_the_soft_prompt_equals_the_hard_one(chat_folder):
    chat = load_backbone(str(chat_folder), prompt_format="chat")
    prompts, candidates = ["predict: w1 w2 w3", "predict: w4"], ["yes", "no", "maybe"]
    with torch.no_grad():
        shared = chat.score_candidates(chat.model, prompts, candidates)
        unshared = chat.score_candidates_unshared(chat.model, prompts, candidates)
        torch.testing.assert_close(shared, unshared, atol=1e-5, rtol=1e-5)
        ids = chat.tokenizer("w5 w6", add_special_tokens=False)["input_ids"]
        vocab = chat.model.get_input_embeddings().weight.size(0)
        soft = torch.nn.functional.one_hot(torch.tensor([ids, ids]), vocab).float()
        mask = torch.ones(2, len(ids), dtype=torch.bool)
        soft_loss = chat.soft_prompt_loss(chat.model, "predict: ", soft, mask, ["yes", "no"])
        hard_loss = chat.loss(chat.model, ["predict: w5 w6"] * 2, ["yes", "no"])
    torch.testing.assert_close(soft_loss, hard_loss, atol=1e-5, rtol=1e-5)
    generated = chat.generate(chat.model, prompts, max_new_tokens=3)
    assert len(generated) == 2


def test_saved_model_keeps_its_prompt_format(chat_folder, tmp_path):
    chat = load_backbone(str(chat_folder), prompt_format="chat")
    chat.save(tmp_path / "saved")
    assert load_backbone(str(tmp_path / "saved")).prompt_format == "chat"


def test_chat_needs_a_template_and_a_decoder_only_model(tmp_path):
    llama = save_tiny_llama(tmp_path / "llama", TEXTS)
    with pytest.raises(R2DError, match="chat template"):
        load_backbone(str(llama), prompt_format="chat")
    t5 = save_tiny_t5(tmp_path / "t5", TEXTS)
    with pytest.raises(R2DError, match="decoder-only"):
        load_backbone(str(t5), prompt_format="chat")
