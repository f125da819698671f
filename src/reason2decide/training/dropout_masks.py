"""Dropout whose random masks cost less on CPUs.

torch draws a dropout mask with one Bernoulli sample per element; on CPUs where it cannot use
MKL's sampler (every non-Intel CPU) that loop runs on one core, and in a training step of a
small model on such a machine it takes a quarter of the time (t5-small shape, 2-core AMD EPYC:
27 ms for a mask of 4 M elements, as long as a matrix product of the same input). Here each
64-bit draw of torch's generator yields the masks of four elements (16 random bits each), which
costs a third. The drop rate is rounded to a multiple of 1/65536 (0.1 -> 0.1000061) and the
kept values are scaled by 1/(1 - that rate), so the expectation is unchanged.

The masks come from torch's default generator, so a run is reproducible for a seed and resumes
exactly; they differ from torch's own, so results for a seed differ from runs with
``--dropout-masks torch``. On other devices torch's dropout is used unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F

#: Random bits per element's mask: four masks per 64-bit draw.
_BITS = 16
_LEVELS = 1 << _BITS


def keep_mask(shape: torch.Size | tuple[int, ...], p: float) -> tuple[torch.Tensor, float]:
    """A boolean mask of ``shape`` (CPU) keeping each element with probability ``1 - p'``, and
    ``p'``, the drop rate ``p`` rounded to a multiple of 1/65536."""
    n = math.prod(shape)
    draws = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-(2**63), 2**63 - 1)
    bits = draws.view(torch.int16)[:n].view(shape)
    dropped = round(p * _LEVELS)
    return bits >= dropped - _LEVELS // 2, dropped / _LEVELS


def _apply(x: torch.Tensor, keep: torch.Tensor, scale: float) -> torch.Tensor:
    """``x * scale`` where ``keep``, zero elsewhere.

    As two products with the mask as 0/1 in ``x``'s dtype: ``torch.where`` on a boolean mask
    takes 5-10 times as long on CPUs (4 M elements, 2-core EPYC: 2.3-5.5 ms against 0.5-1 ms),
    and a boolean tensor converts to floats several times slower than its bytes do. Multiplying
    by exactly 1 or 0 first and by ``scale`` after gives the same kept values as ``x * scale``
    (and zero, of either sign, for the dropped ones; an infinite or NaN value at a dropped
    position gives NaN, as in torch's own dropout, where ``where`` gave 0).

    In float32 and float64 the scale goes into the mask instead, ``x * (mask * scale)``: one
    pass over an ``x``-sized tensor less (4 M elements: 1.4 ms against 1.9 ms), and the same
    values, since a tensor times a Python float multiplies by the float rounded to the
    tensor's dtype either way. Not in bfloat16 or float16, where the rounded scale would
    differ from the scale the product is computed with."""
    mask = keep.view(torch.uint8).to(x.dtype)
    if x.dtype in (torch.float32, torch.float64):
        return x * mask.mul_(scale)
    return (x * mask).mul_(scale)


class _Masked(torch.autograd.Function):
    """``x * scale`` where ``keep``, zero elsewhere; only the boolean mask is kept for the
    backward pass."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, keep: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return _apply(x, keep, scale)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (keep,) = ctx.saved_tensors
        return _apply(grad, keep, ctx.scale), None, None


def dropout(x: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """Dropout of ``x`` with the cheaper masks (CPU tensors)."""
    if not training or p == 0.0:
        return x
    if p >= 1.0:
        return x * 0.0
    keep, rate = keep_mask(x.shape, p)
    return _Masked.apply(x, keep, 1.0 / (1.0 - rate))


_torch_dropout = F.dropout
_torch_sdpa = F.scaled_dot_product_attention


def _dropout(
    input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> torch.Tensor:
    if input.device.type != "cpu" or not training or p == 0.0:
        return _torch_dropout(input, p, training, inplace)
    out = dropout(input, p, training)
    return input.copy_(out) if inplace else out


def _sdpa(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attn_mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> torch.Tensor:
    """Scaled dot-product attention; with dropout on a CPU, computed step by step (as torch
    does it then) with the cheaper mask on the attention weights."""
    if dropout_p == 0.0 or query.device.type != "cpu":
        return _torch_sdpa(
            query, key, value, attn_mask, dropout_p, is_causal, scale=scale, enable_gqa=enable_gqa
        )
    if enable_gqa and key.size(-3) != query.size(-3):
        repeat = query.size(-3) // key.size(-3)
        key, value = key.repeat_interleave(repeat, -3), value.repeat_interleave(repeat, -3)
    factor = 1.0 / math.sqrt(query.size(-1)) if scale is None else scale
    scores = torch.matmul(query, key.transpose(-2, -1))
    if factor != 1.0:  # T5 passes 1.0: no pass over the scores (and none back) for nothing
        scores = scores * factor
    if is_causal:
        length, source = query.size(-2), key.size(-2)
        allowed = torch.ones(length, source, dtype=torch.bool, device=query.device).tril()
        scores = scores.masked_fill(~allowed, float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    weights = torch.softmax(scores, dim=-1)
    return torch.matmul(dropout(weights, dropout_p), value)


@contextmanager
def dropout_masks(kind: str) -> Iterator[None]:
    """Within the block, dropout (``torch.nn.functional.dropout``, which ``nn.Dropout`` calls,
    and the attention-weight dropout of ``scaled_dot_product_attention``) draws its masks the
    ``kind`` way: ``fast`` (this module) or ``torch`` (unchanged)."""
    if kind == "torch" or F.dropout is _dropout:  # torch's, or already inside a block
        yield
        return
    F.dropout, F.scaled_dot_product_attention = _dropout, _sdpa
    try:
        yield
    finally:
        F.dropout, F.scaled_dot_product_attention = _torch_dropout, _torch_sdpa
