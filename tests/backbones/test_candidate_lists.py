"""Scoring each prompt's own candidates (multiple-choice options) in one batched pass."""

from __future__ import annotations

import math

import pytest
import torch

from reason2decide.backbones import load_backbone
from reason2decide.backbones.candidates import build_forest, forest_scores, pad_pair_scores
from tiny_models import save_tiny_llama, save_tiny_t5

TEXTS = [
    "predict: a man with chest pain and sweating options a b c d",
    "explain: a child with a mild cough for two days and no fever",
    "aspirin heparin warfarin clopidogrel rest fluids antibiotics surgery now later never",
]
PROMPTS = [
    "predict: a man with chest pain",
    "predict: a child with a mild cough for two days and no fever",
    "predict: sweating",
]
# Different lists, different lengths, shared first tokens within and across lists.
LISTS = [
    ["aspirin", "heparin now", "heparin later", "warfarin"],
    ["rest", "fluids and rest", "antibiotics"],
    ["surgery now", "surgery later", "never", "rest", "aspirin"],
]


@pytest.fixture(scope="module", params=["t5", "llama"])
def backbone(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(request.param)
    (save_tiny_t5 if request.param == "t5" else save_tiny_llama)(directory, TEXTS)
    loaded = load_backbone(str(directory), max_input_length=64, max_target_length=16)
    loaded.model.eval()
    return loaded


def _each_alone(backbone, prompts, lists):
    return [
        backbone.score_candidates(backbone.model, [prompt], candidates)[0]
        for prompt, candidates in zip(prompts, lists, strict=True)
    ]


@torch.no_grad()
def test_each_row_scores_its_own_candidates_as_if_alone(backbone):
    together = backbone.score_candidate_lists(backbone.model, PROMPTS, LISTS)
    assert together.shape == (3, 5)
    for row, alone in enumerate(_each_alone(backbone, PROMPTS, LISTS)):
        n = len(LISTS[row])
        torch.testing.assert_close(together[row, :n], alone, atol=1e-4, rtol=1e-4)
        assert torch.all(together[row, n:] == -math.inf)
    plain = backbone.score_candidate_lists_unshared(backbone.model, PROMPTS, LISTS)
    torch.testing.assert_close(together, plain, atol=1e-4, rtol=1e-4)


@torch.no_grad()
def test_one_shared_list_is_todays_closed_set_scoring(backbone):
    same = [LISTS[0]] * 3
    together = backbone.score_candidate_lists(backbone.model, PROMPTS, same)
    shared = backbone.score_candidates(backbone.model, PROMPTS, LISTS[0])
    torch.testing.assert_close(together, shared)


@torch.no_grad()
def test_llama_lists_without_custom_masks_or_eager_agree(tmp_path, monkeypatch):
    from transformers import AutoModelForCausalLM

    import reason2decide.backbones.causal as causal

    save_tiny_llama(tmp_path, TEXTS)
    backbone = load_backbone(str(tmp_path), max_input_length=64, max_target_length=16)
    backbone.model.eval()
    plain = backbone.score_candidate_lists_unshared(backbone.model, PROMPTS, LISTS)
    backbone.model = AutoModelForCausalLM.from_pretrained(tmp_path, attn_implementation="eager")
    backbone.model.eval()
    eager = backbone.score_candidate_lists(backbone.model, PROMPTS, LISTS)
    monkeypatch.setattr(causal, "takes_custom_masks", lambda model: False)
    fallback = backbone.score_candidate_lists(backbone.model, PROMPTS, LISTS)
    torch.testing.assert_close(eager, plain, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(fallback, plain, atol=1e-4, rtol=1e-4)


@torch.no_grad()
def test_single_token_candidates_need_no_tree_pass(backbone):
    lists = [["aspirin", "rest"], ["never", "fluids", "surgery"], ["rest", "aspirin"]]
    together = backbone.score_candidate_lists(backbone.model, PROMPTS, lists)
    for row, alone in enumerate(_each_alone(backbone, PROMPTS, lists)):
        torch.testing.assert_close(together[row, : len(lists[row])], alone, atol=1e-4, rtol=1e-4)


def test_forest_scores_pick_each_rows_tokens():
    forest = build_forest([[[1, 2], [3]], [[2]]])
    logits = torch.randn(2, forest.width, 5)
    logprobs = torch.log_softmax(logits, -1)
    scores = forest_scores(logits, forest)
    torch.testing.assert_close(scores[0, 0], logprobs[0, 0, 1] + logprobs[0, 1, 2])
    torch.testing.assert_close(scores[0, 1], logprobs[0, 0, 3])
    torch.testing.assert_close(scores[1, 0], logprobs[1, 0, 2])
    assert scores[1, 1] == -math.inf
    # padding nodes see only themselves
    assert forest.visible()[1].tolist() == [[True, False], [False, True]]


def test_pair_scores_are_padded_per_row():
    scores = pad_pair_scores(torch.tensor([1.0, 2.0, 3.0]), [1, 2])
    assert scores.tolist() == [[1.0, -math.inf], [2.0, 3.0]]


@torch.no_grad()
def test_minilm_bert2bert_forest_equals_one_pass_per_pair():
    backbone = load_backbone("minilm-bert2bert", max_input_length=64, max_target_length=16)
    backbone.model.eval()
    shared = backbone.score_candidate_lists(backbone.model, PROMPTS, LISTS)
    plain = backbone.score_candidate_lists_unshared(backbone.model, PROMPTS, LISTS)
    torch.testing.assert_close(shared, plain, atol=1e-4, rtol=1e-5)
