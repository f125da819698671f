"""An encoder-decoder's training loss runs its encoder and its decoder once per group of rows of
similar prompt or target length (``length_passes``): the same loss and gradients as one pass
over the padded batch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import reason2decide.backbones.seq2seq as seq2seq_module
from reason2decide.backbones import load_backbone
from reason2decide.backbones.length_groups import length_groups
from reason2decide.training.lora import apply_lora
from tiny_models import save_tiny_bart, save_tiny_bert2bert, save_tiny_t5

TEXTS = [
    "explain: a man with chest pain and sweating",
    "explain: a child with a mild cough for two days and no fever at all",
    "the pain spread to the left arm and down to the jaw with sweating so this is an emergency",
    "a mild cough",
    "no fever",
]
PROMPTS = [
    "explain: a man with chest pain and sweating",
    "explain: a child with a mild cough",
    "explain: a child with no fever",
]
TARGETS = [
    "the pain spread to the left arm and down to the jaw with sweating so this is an emergency",
    "a mild cough",
    "no fever",
]
SAVERS = {"t5": save_tiny_t5, "bart": save_tiny_bart, "bert2bert": save_tiny_bert2bert}


@pytest.fixture(scope="module", params=list(SAVERS))
def seq2seq(request, tmp_path_factory):
    directory = SAVERS[request.param](tmp_path_factory.mktemp(request.param), TEXTS)
    backbone = load_backbone(str(directory), max_input_length=64, max_target_length=32)
    backbone.model.eval()  # no dropout: both ways compute the same function
    return backbone


@pytest.fixture
def split_freely(monkeypatch):
    """The first row (the longest prompt and target) gets a pass of its own, the others share
    one, in the encoder and in the decoder."""

    def groups(lengths, **_):
        assert length_groups(lengths, pass_cost=0)[0] == [0]  # it is the longest
        return [[0], list(range(1, len(lengths)))]

    monkeypatch.setattr(seq2seq_module, "length_groups", groups)


def _calls(module: nn.Module) -> list[int]:
    calls: list[int] = []
    module.register_forward_hook(lambda m, args, kwargs, out: calls.append(1), with_kwargs=True)
    return calls


def _loss_and_grads(backbone, model, passes):
    backbone.length_passes = passes
    model.zero_grad()
    loss = backbone.loss(model, PROMPTS, TARGETS)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return loss.detach(), grads


def _assert_same(a, b):
    (loss_a, grads_a), (loss_b, grads_b) = a, b
    torch.testing.assert_close(loss_a, loss_b)
    assert grads_a.keys() == grads_b.keys() and grads_a
    for name, grad in grads_a.items():
        torch.testing.assert_close(grad, grads_b[name], msg=name)


def test_groups_give_the_loss_and_gradients_of_one_pass(seq2seq, split_freely):
    model = seq2seq.model
    encoder, decoder = _calls(model.get_encoder()), _calls(model.get_decoder())
    grouped = _loss_and_grads(seq2seq, model, "auto")
    assert len(encoder) == 2  # the long prompt alone, the two short ones together
    assert len(decoder) == 2  # the same for the targets
    encoder.clear(), decoder.clear()
    one = _loss_and_grads(seq2seq, model, "one")
    assert (len(encoder), len(decoder)) == (1, 1)
    _assert_same(grouped, one)


def test_each_group_is_cut_to_its_own_longest_row(seq2seq, split_freely):
    widths: dict[str, list[tuple[int, ...]]] = {"encoder": [], "decoder": []}

    def record(part):
        def hook(module, args, kwargs):
            shapes = [kwargs["input_ids"].shape[1]]
            if part == "decoder":
                shapes.append(kwargs["encoder_hidden_states"].shape[1])
            widths[part].append(tuple(shapes))

        return hook

    model = seq2seq.model
    handles = [
        model.get_encoder().register_forward_pre_hook(record("encoder"), with_kwargs=True),
        model.get_decoder().register_forward_pre_hook(record("decoder"), with_kwargs=True),
    ]
    try:
        seq2seq.length_passes = "auto"
        seq2seq.loss(model, PROMPTS, TARGETS)
    finally:
        for handle in handles:
            handle.remove()
    batch = seq2seq.encode_pairs(PROMPTS, TARGETS)
    prompts = batch["attention_mask"].sum(1).tolist()
    targets = seq2seq.target_lengths(TARGETS)
    assert widths["encoder"] == [(prompts[0],), (max(prompts[1:]),)]
    # the decoder's cross-attention sees its own rows' prompts only, cut the same way
    assert widths["decoder"] == [(targets[0], prompts[0]), (max(targets[1:]), max(prompts[1:]))]


def test_similar_lengths_run_one_pass_by_default(seq2seq):
    decoder = _calls(seq2seq.model.get_decoder())
    seq2seq.length_passes = "auto"
    seq2seq.loss(seq2seq.model, PROMPTS[1:], TARGETS[1:])
    assert len(decoder) == 1


def test_a_data_parallel_wrapper_gets_one_pass(seq2seq, split_freely):
    class Wrapper(nn.Module):  # stands for DistributedDataParallel: the model is .module
        def __init__(self, module):
            super().__init__()
            self.module = module

        def forward(self, *args, **kwargs):
            return self.module(*args, **kwargs)

    decoder = _calls(seq2seq.model.get_decoder())
    seq2seq.length_passes = "auto"
    seq2seq.loss(Wrapper(seq2seq.model), PROMPTS, TARGETS)
    assert len(decoder) == 1


def test_lora_adapters_get_the_gradients_of_one_pass(tmp_path, split_freely):
    directory = save_tiny_t5(tmp_path / "t5", TEXTS)
    backbone = load_backbone(str(directory), max_input_length=64, max_target_length=32)
    apply_lora(backbone, r=4, alpha=8, dropout=0.0, target_modules="q,v")
    backbone.model.eval()
    encoder, decoder = _calls(backbone.model.get_encoder()), _calls(backbone.model.get_decoder())
    grouped = _loss_and_grads(backbone, backbone.model, "auto")
    assert len(encoder) == len(decoder) == 2
    _assert_same(grouped, _loss_and_grads(backbone, backbone.model, "one"))


@pytest.mark.parametrize("split", ["encoder", "decoder"])
def test_one_side_in_groups_and_the_other_in_one_pass(seq2seq, monkeypatch, split):
    calls: list[int] = []

    def groups(lengths, **_):  # asked for the prompts first, then for the targets
        calls.append(1)
        side = "encoder" if len(calls) % 2 else "decoder"
        return [[0], [1, 2]] if side == split else [[0, 1, 2]]

    monkeypatch.setattr(seq2seq_module, "length_groups", groups)
    model = seq2seq.model
    encoder, decoder = _calls(model.get_encoder()), _calls(model.get_decoder())
    grouped = _loss_and_grads(seq2seq, model, "auto")
    expected = {"encoder": (2, 1), "decoder": (1, 2)}[split]
    assert (len(encoder), len(decoder)) == expected
    _assert_same(grouped, _loss_and_grads(seq2seq, model, "one"))


def test_a_tokenizer_that_pads_on_the_left_gets_one_pass(seq2seq, split_freely, monkeypatch):
    monkeypatch.setattr(seq2seq.tokenizer, "padding_side", "left")
    encoder, decoder = _calls(seq2seq.model.get_encoder()), _calls(seq2seq.model.get_decoder())
    seq2seq.length_passes = "auto"
    seq2seq.loss(seq2seq.model, PROMPTS, TARGETS)
    assert (len(encoder), len(decoder)) == (1, 1)


def test_autocast_gets_one_pass(seq2seq, split_freely):
    encoder, decoder = _calls(seq2seq.model.get_encoder()), _calls(seq2seq.model.get_decoder())
    seq2seq.length_passes = "auto"
    with torch.autocast("cpu", dtype=torch.bfloat16):
        seq2seq.loss(seq2seq.model, PROMPTS, TARGETS)
    assert (len(encoder), len(decoder)) == (1, 1)
