"""Backbone contract on tiny T5 and Llama models: losses, scoring, padding, save/load."""

from __future__ import annotations

import pytest
import torch

from reason2decide.backbones import CausalBackbone, Seq2SeqBackbone, load_backbone
from reason2decide.errors import R2DError
from tiny_models import save_tiny_llama, save_tiny_t5

TEXTS = [
    "predict: a man with chest pain and sweating",
    "explain: a child with a mild cough for two days and no fever",
    "given label: emergency now, explain: sudden weakness of one arm",
    "emergency now urgent care within 24 h see a family doctor self-care at home",
]
CANDIDATES = [
    "emergency now",
    "urgent care within 24 h",
    "see a family doctor",
    "self-care at home",
]
PROMPTS = ["predict: a man with chest pain and sweating", "predict: mild cough"]


@pytest.fixture(scope="module", params=["t5", "llama"])
def backbone(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(request.param)
    (save_tiny_t5 if request.param == "t5" else save_tiny_llama)(directory, TEXTS)
    loaded = load_backbone(str(directory), max_input_length=64, max_target_length=16)
    loaded.model.eval()
    return loaded


def test_family_is_read_from_the_config(backbone):
    expected = Seq2SeqBackbone if backbone.model.config.is_encoder_decoder else CausalBackbone
    assert isinstance(backbone, expected)


def test_loss_is_finite_and_differentiable(backbone):
    backbone.model.zero_grad()
    loss = backbone.loss(backbone.model, PROMPTS, ["emergency now", "self-care at home"])
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    grads = [p.grad for p in backbone.model.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)
    backbone.model.zero_grad()


def test_loss_counts_only_target_tokens(backbone):
    batch = backbone.encode_pairs(PROMPTS, ["emergency now", "see a family doctor"])
    _, labels = backbone.forward_logits(backbone.model, batch)
    # "emergency now" + eos = 3 tokens, "see a family doctor" + eos = 5 tokens
    assert int((labels != -100).sum()) == 8


@torch.no_grad()
def test_scores_equal_summed_token_logprobs(backbone):
    scores = backbone.score_candidates(backbone.model, PROMPTS, CANDIDATES)
    assert scores.shape == (2, 4)
    for i, prompt in enumerate(PROMPTS):
        logprobs, _ = backbone.token_logprobs(backbone.model, [prompt] * 4, CANDIDATES)
        torch.testing.assert_close(scores[i], logprobs.sum(-1), atol=1e-4, rtol=1e-4)


SCORING_PROMPTS = [*PROMPTS, "predict: sudden weakness of one arm and a mild cough for two days"]
CANDIDATE_SETS = [
    CANDIDATES,
    ["now", "emergency now", "urgent care within 24 h"],  # a one-token candidate
    ["emergency", "emergency now", "emergency now at home", "now"],  # shared prefixes
    ["now", "home"],
]


@torch.no_grad()
@pytest.mark.parametrize("candidates", CANDIDATE_SETS)
def test_shared_scoring_equals_one_pass_per_candidate(backbone, candidates):
    shared = backbone.score_candidates(backbone.model, SCORING_PROMPTS, candidates)
    plain = backbone.score_candidates_unshared(backbone.model, SCORING_PROMPTS, candidates)
    assert shared.shape == (3, len(candidates))
    torch.testing.assert_close(shared, plain, atol=1e-5, rtol=1e-5)


@torch.no_grad()
@pytest.mark.parametrize("candidates", CANDIDATE_SETS[1:3])
def test_llama_scoring_paths_agree_with_eager_attention_and_without_tree(
    tmp_path, monkeypatch, candidates
):
    from transformers import AutoModelForCausalLM

    import reason2decide.backbones.causal as causal

    save_tiny_llama(tmp_path, TEXTS)
    backbone = load_backbone(str(tmp_path), max_input_length=64, max_target_length=16)
    plain = backbone.score_candidates_unshared(backbone.model, SCORING_PROMPTS, candidates)
    backbone.model = AutoModelForCausalLM.from_pretrained(tmp_path, attn_implementation="eager")
    backbone.model.eval()
    eager = backbone.score_candidates(backbone.model, SCORING_PROMPTS, candidates)
    monkeypatch.setattr(causal, "takes_custom_masks", lambda model: False)
    repeated = backbone.score_candidates(backbone.model, SCORING_PROMPTS, candidates)
    torch.testing.assert_close(eager, plain, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(repeated, plain, atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_minilm_bert2bert_tree_scoring_equals_one_pass_per_candidate():
    backbone = load_backbone("minilm-bert2bert", max_input_length=64, max_target_length=16)
    backbone.model.eval()
    for candidates in CANDIDATE_SETS[:3]:
        shared = backbone.score_candidates(backbone.model, SCORING_PROMPTS, candidates)
        plain = backbone.score_candidates_unshared(backbone.model, SCORING_PROMPTS, candidates)
        torch.testing.assert_close(shared, plain, atol=1e-4, rtol=1e-5)


@torch.no_grad()
def test_scores_do_not_depend_on_padding(backbone):
    together = backbone.score_candidates(backbone.model, PROMPTS, CANDIDATES)
    alone = backbone.score_candidates(backbone.model, PROMPTS[1:], CANDIDATES)
    torch.testing.assert_close(together[1], alone[0], atol=1e-4, rtol=1e-4)
    assert torch.all(together < 0)


@torch.no_grad()
def test_generate_returns_one_string_per_prompt(backbone):
    out = backbone.generate(backbone.model, PROMPTS, max_new_tokens=5)
    assert len(out) == 2 and all(isinstance(t, str) for t in out)


@torch.no_grad()
def test_save_and_reload_give_the_same_scores(backbone, tmp_path):
    backbone.save(tmp_path / "saved")
    again = load_backbone(str(tmp_path / "saved"), max_input_length=64, max_target_length=16)
    again.model.eval()
    assert again.kind == backbone.kind
    torch.testing.assert_close(
        again.score_candidates(again.model, PROMPTS, CANDIDATES),
        backbone.score_candidates(backbone.model, PROMPTS, CANDIDATES),
    )


def test_unknown_model_is_a_user_error(tmp_path):
    with pytest.raises(R2DError, match="cannot load model"):
        load_backbone(str(tmp_path / "no-such-model"))


def test_missing_gguf_file_is_a_user_error(tmp_path):
    with pytest.raises(R2DError, match="GGUF file not found"):
        load_backbone(str(tmp_path / "model.gguf"))


def test_minilm_bert2bert_targets_start_after_cls_and_end_with_sep():
    backbone = load_backbone("minilm-bert2bert", max_input_length=2048, max_target_length=32)
    tok = backbone.tokenizer
    assert backbone.max_input_length == 512  # clipped to BERT's position table
    assert backbone.model.generation_config.decoder_start_token_id == tok.cls_token_id
    ids = backbone.target_ids(["emergency now"])[0]
    assert ids[0] != tok.cls_token_id and ids[-1] == tok.sep_token_id
    long = backbone.target_ids(["word " * 100])[0]
    assert len(long) == 32 and long[-1] == tok.sep_token_id
    # cross-attention starts as a copy of the same layer's self-attention, and is "fresh"
    layer = backbone.model.decoder.bert.encoder.layer[2]
    torch.testing.assert_close(
        layer.crossattention.self.query.weight, layer.attention.self.query.weight
    )
    assert backbone.fresh_lr_scale == 10.0
    assert backbone.is_fresh("decoder.bert.encoder.layer.2.crossattention.self.query.weight")
    assert not backbone.is_fresh("encoder.encoder.layer.2.attention.self.query.weight")


def test_soft_prompt_of_one_hot_tokens_equals_the_hard_prompt(backbone):
    words = "mild cough"
    ids = backbone.tokenizer(words, add_special_tokens=False)["input_ids"]
    vocab = backbone.model.get_input_embeddings().weight.size(0)
    soft = torch.nn.functional.one_hot(torch.tensor([ids, ids]), vocab).float()
    mask = torch.ones(2, len(ids), dtype=torch.bool)
    targets = ["yes", "see a family doctor"]
    with torch.no_grad():
        soft_loss = backbone.soft_prompt_loss(backbone.model, "predict: ", soft, mask, targets)
        hard_loss = backbone.loss(backbone.model, [f"predict: {words}"] * 2, targets)
    torch.testing.assert_close(soft_loss, hard_loss, atol=1e-5, rtol=1e-5)
