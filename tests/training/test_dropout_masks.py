"""Dropout with masks from bulk random bits: the rate, the scaling, the gradient, the seed, the
attention path, and that the patch only lives inside its block."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from reason2decide.training import dropout_masks as dm


def test_mask_keeps_one_minus_the_rounded_rate():
    torch.manual_seed(0)
    keep, rate = dm.keep_mask((1000, 1000), 0.1)
    assert rate == 6554 / 65536
    assert keep.dtype == torch.bool and keep.shape == (1000, 1000)
    assert keep.float().mean().item() == pytest.approx(1 - rate, abs=0.002)
    # every 16-bit slice of the draws is used: rows are not copies of one another
    assert not torch.equal(keep[0], keep[1])


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_dropout_zeroes_or_scales_and_keeps_the_mean(p):
    torch.manual_seed(1)
    x = torch.full((400_000,), 3.0, requires_grad=True)
    out = dm.dropout(x, p)
    kept = out != 0
    rate = round(p * 65536) / 65536
    assert torch.all(out[kept] == torch.tensor(3.0) / (1 - rate))
    assert out.mean().item() == pytest.approx(3.0, rel=0.01)
    out.sum().backward()
    assert torch.equal(x.grad, kept.float() / (1 - rate))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_products_with_the_mask_give_the_values_of_scaling_where_kept(dtype):
    # the mask is applied by multiplying (torch.where on a boolean mask is several times
    # slower on CPUs); values and gradients must be those of where(keep, x * scale, 0)
    x = torch.randn(300, 700).to(dtype).requires_grad_()
    torch.manual_seed(3)
    out = dm.dropout(x, 0.1)
    torch.manual_seed(3)
    keep, rate = dm.keep_mask(x.shape, 0.1)
    scale = 1.0 / (1.0 - rate)
    expected = torch.where(keep, x.detach() * scale, torch.zeros((), dtype=dtype))
    assert out.dtype == dtype and torch.equal(out, expected)
    grad = torch.randn(300, 700).to(dtype)
    out.backward(grad)
    assert torch.equal(x.grad, torch.where(keep, grad * scale, torch.zeros((), dtype=dtype)))


def test_same_seed_same_masks_other_seed_other_masks():
    x = torch.ones(64, 64)
    torch.manual_seed(5)
    first = dm.dropout(x, 0.3)
    torch.manual_seed(5)
    again = dm.dropout(x, 0.3)
    torch.manual_seed(6)
    other = dm.dropout(x, 0.3)
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_edge_rates_and_eval_mode():
    x = torch.randn(10, 10)
    assert dm.dropout(x, 0.0) is x
    assert dm.dropout(x, 0.4, training=False) is x
    assert torch.equal(dm.dropout(x, 1.0), torch.zeros_like(x))


@pytest.mark.parametrize("mask", ["float", "bool", "causal", "gqa", "scale-one", "scale"])
def test_attention_path_equals_torch_without_drops(mask):
    # a rate below 1/131072 rounds to no drop at all: the step-by-step attention must then equal
    # torch's kernel
    torch.manual_seed(2)
    q = torch.randn(2, 4, 7, 8)
    heads = 2 if mask == "gqa" else 4
    k, v = torch.randn(2, heads, 9, 8), torch.randn(2, heads, 9, 8)
    options: dict = {}
    if mask == "float":
        options["attn_mask"] = torch.randn(1, 4, 7, 9)
    elif mask == "bool":
        options["attn_mask"] = torch.rand(2, 1, 7, 9) > 0.3
        options["attn_mask"][..., 0] = True  # no row without a visible key
    elif mask == "causal":
        k, v = k[:, :, :7], v[:, :, :7]
        options["is_causal"] = True
    elif mask == "gqa":
        options["enable_gqa"] = True
    else:  # T5 passes a scale of 1.0 (no multiplication then)
        options["scale"] = 1.0 if mask == "scale-one" else 0.3
    ours = dm._sdpa(q, k, v, dropout_p=1e-7, **options)
    expected = F.scaled_dot_product_attention(q, k, v, **options)
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-5)


def test_attention_weights_are_dropped_with_the_cheaper_masks():
    torch.manual_seed(3)
    q = k = v = torch.randn(1, 1, 50, 4)
    torch.manual_seed(4)
    dropped = dm._sdpa(q, k, v, dropout_p=0.5)
    torch.manual_seed(4)
    weights = torch.softmax(q @ k.transpose(-2, -1) / 2.0, dim=-1)
    expected = dm.dropout(weights, 0.5) @ v
    torch.testing.assert_close(dropped, expected)


def test_patch_lives_only_inside_the_block():
    layer = torch.nn.Dropout(0.2).train()
    before = (F.dropout, F.scaled_dot_product_attention)
    with dm.dropout_masks("torch"):
        assert F.dropout is before[0]
    with pytest.raises(RuntimeError), dm.dropout_masks("fast"):
        assert F.dropout is dm._dropout
        assert F.scaled_dot_product_attention is dm._sdpa
        with dm.dropout_masks("fast"):  # nested: still patched, not restored early
            pass
        assert F.dropout is dm._dropout
        torch.manual_seed(7)
        got = layer(torch.ones(1000))
        torch.manual_seed(7)
        assert torch.equal(got, dm.dropout(torch.ones(1000), 0.2))
        raise RuntimeError("restored even so")
    assert (F.dropout, F.scaled_dot_product_attention) == before
