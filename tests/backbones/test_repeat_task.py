"""The task instruction repeated after a decoder-only prompt: placed after the (cut) input, inside
the chat frame, counted in the budget, the same by every scoring path, saved with the model."""

from __future__ import annotations

import pytest
import torch

from reason2decide.backbones import load_backbone
from reason2decide.errors import R2DError
from reason2decide.prompts import (
    conditioned_explain_prompt,
    explain_prompt,
    predict_prompt,
    task_instruction,
)
from tiny_models import CHAT_TEXTS as TEXTS
from tiny_models import CHAT_WORDS as WORDS
from tiny_models import decoded_words as _words
from tiny_models import save_tiny_chat_llama, save_tiny_t5


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return save_tiny_chat_llama(tmp_path_factory.mktemp("cue"))


def test_task_instruction_of_each_prompt():
    assert task_instruction(predict_prompt("a, explain: b")) == "predict:"
    assert task_instruction(explain_prompt("a")) == "explain:"
    assert task_instruction(conditioned_explain_prompt("no", "a, explain: b")) == (
        "given label: no, explain:"
    )
    assert task_instruction("free text") == ""


def test_the_instruction_follows_the_cut_input_inside_the_frame(folder):
    chat = load_backbone(
        str(folder),
        max_input_length=14,
        prompt_format="chat",
        input_truncation="middle",
        repeat_task=True,
    )
    text = predict_prompt(" ".join(WORDS))
    ids = chat.prompt_ids([text])[0]
    assert len(ids) == 14
    words = _words(chat, ids)
    assert words[:4] == ["user", ":", "predict", ":"]
    assert words[-4:] == ["predict", ":", "assistant", ":"]
    assert "w39" in words
    plain = load_backbone(str(folder), repeat_task=True)
    conditioned = conditioned_explain_prompt("yes", "w1")
    tail = _words(plain, plain.prompt_ids([conditioned])[0])
    assert tail[-8:] == ["w1", "given", "label", ":", "yes", ",", "explain", ":"]
    assert chat.prompt_lengths([text]) == [len(WORDS) + 8]
    assert plain.prompt_ids(["free text"]) == load_backbone(str(folder)).prompt_ids(["free text"])


def test_scores_agree_across_paths_and_the_soft_prompt_equals_the_hard_one(folder):
    chat = load_backbone(str(folder), prompt_format="chat", repeat_task=True)
    prompts, candidates = [predict_prompt("w1 w2 w3"), predict_prompt("w4")], ["yes", "no"]
    with torch.no_grad():
        shared = chat.score_candidates(chat.model, prompts, candidates)
        unshared = chat.score_candidates_unshared(chat.model, prompts, candidates)
        torch.testing.assert_close(shared, unshared, atol=1e-5, rtol=1e-5)
        plain_scores = load_backbone(str(folder), prompt_format="chat").score_candidates(
            chat.model, prompts, candidates
        )
        assert not torch.allclose(shared, plain_scores)
        ids = chat.tokenizer("w5 w6", add_special_tokens=False)["input_ids"]
        vocab = chat.model.get_input_embeddings().weight.size(0)
        soft = torch.nn.functional.one_hot(torch.tensor([ids, ids]), vocab).float()
        mask = torch.ones(2, len(ids), dtype=torch.bool)
        soft_loss = chat.soft_prompt_loss(chat.model, "predict: ", soft, mask, ["yes", "no"])
        hard_loss = chat.loss(chat.model, [predict_prompt("w5 w6")] * 2, ["yes", "no"])
    torch.testing.assert_close(soft_loss, hard_loss, atol=1e-5, rtol=1e-5)


def test_saved_with_the_model_and_refused_for_encoder_decoders(folder, tmp_path):
    backbone = load_backbone(str(folder), repeat_task=True)
    backbone.save(tmp_path / "saved")
    assert load_backbone(str(tmp_path / "saved")).repeat_task is True
    assert load_backbone(str(tmp_path / "saved"), repeat_task=False).repeat_task is False
    t5 = save_tiny_t5(tmp_path / "t5", TEXTS)
    with pytest.raises(R2DError, match="decoder-only"):
        load_backbone(str(t5), repeat_task=True)
