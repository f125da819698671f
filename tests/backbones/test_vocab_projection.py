"""An encoder-decoder's training loss (T5, BART, BERT-to-BERT) projects onto the vocabulary
only inside the targets: the same loss and gradients as over every padded position, with fewer
rows in the head."""

from __future__ import annotations

import pytest
import torch

from reason2decide.backbones import load_backbone
from reason2decide.backbones.base import Backbone
from tiny_models import save_tiny_bart, save_tiny_bert2bert, save_tiny_t5

TEXTS = [
    "explain: a man with chest pain and sweating",
    "explain: a child with a mild cough for two days and no fever at all",
    "the pain spread to the left arm so this is an emergency",
    "a mild cough",
]
PROMPTS = ["explain: a man with chest pain and sweating", "explain: a child with a mild cough"]
# targets of different lengths: the shorter one is padded in the batch
TARGETS = ["the pain spread to the left arm so this is an emergency", "a mild cough"]


SAVERS = {"t5": save_tiny_t5, "bart": save_tiny_bart, "bert2bert": save_tiny_bert2bert}


@pytest.fixture(scope="module", params=list(SAVERS))
def seq2seq(request, tmp_path_factory):
    save = SAVERS[request.param]
    directory = save(tmp_path_factory.mktemp(request.param), TEXTS)
    backbone = load_backbone(str(directory), max_input_length=64, max_target_length=32)
    backbone.model.eval()
    return backbone


def _loss_and_grads(backbone, loss_fn):
    backbone.model.zero_grad()
    loss = loss_fn(backbone, backbone.model, PROMPTS, TARGETS)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in backbone.model.named_parameters() if p.grad is not None}
    return loss.detach(), grads


def test_head_sees_only_target_positions_and_the_loss_is_unchanged(seq2seq):
    rows: list[int] = []
    head = seq2seq.model.get_output_embeddings()
    handle = head.register_forward_hook(lambda m, args, out: rows.append(args[0].shape[0]))
    try:
        ours, ours_grads = _loss_and_grads(seq2seq, type(seq2seq).loss)
    finally:
        handle.remove()
    lengths = seq2seq.target_lengths(TARGETS)
    assert lengths[0] != lengths[1]
    assert rows == [sum(lengths)]  # one call, one row per target token, no padding
    every, every_grads = _loss_and_grads(seq2seq, Backbone.loss)
    torch.testing.assert_close(ours, every)
    assert ours_grads.keys() == every_grads.keys()
    for name, grad in ours_grads.items():
        torch.testing.assert_close(grad, every_grads[name], msg=name)


def test_all_positions_is_the_earlier_computation_bit_for_bit(seq2seq, monkeypatch):
    monkeypatch.setattr(seq2seq, "vocab_projection", "all")
    ours, _ = _loss_and_grads(seq2seq, type(seq2seq).loss)
    every, _ = _loss_and_grads(seq2seq, Backbone.loss)
    assert torch.equal(ours, every)


def test_a_head_the_hook_cannot_reach_still_gives_the_target_loss(seq2seq, monkeypatch):
    monkeypatch.setattr(type(seq2seq.model), "get_output_embeddings", lambda self: None)
    ours, _ = _loss_and_grads(seq2seq, type(seq2seq).loss)
    every, _ = _loss_and_grads(seq2seq, Backbone.loss)
    torch.testing.assert_close(ours, every)
