"""Turning ``predict: x`` into a label: closed-set scoring or free greedy generation.

The methods decode labels this way while they train (validation, r2d's and r2dc's scheduled
sampling), and :class:`~reason2decide.inference.Predictor` does at inference, so it lives here,
in the methods layer, and the inference layer imports it from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from reason2decide.backbones import GREEDY, Backbone
from reason2decide.prompts import predict_prompt

#: Label decoding modes. ``score`` ranks every label of the closed set by its log-likelihood
#: in one batched pass; ``generate`` decodes free text greedily (open-ended labels).
DECODING_MODES = ("score", "generate")


@dataclass
class LabelPredictions:
    """Predicted labels and, when the label set was scored, per-label probabilities and the
    log-likelihoods they were normalised from."""

    labels: list[str]
    probabilities: torch.Tensor | None = None  # [N, C], rows sum to 1
    #: [N, C]: each label's summed token log-probability (end-of-sequence included).
    scores: torch.Tensor | None = None


def label_token_budget(backbone: Backbone, labels: Sequence[str], slack: int = 4) -> int:
    """Enough new tokens to generate the longest label of the set, plus some slack."""
    if not labels:
        return 20
    longest = max(len(ids) for ids in backbone.target_ids(list(labels)))
    return longest + slack


@torch.no_grad()
def predict_labels(
    backbone: Backbone,
    model: nn.Module,
    questions: Sequence[str],
    labels: Sequence[str],
    *,
    decoding: str = "score",
    max_new_tokens: int | None = None,
) -> LabelPredictions:
    """Labels for ``questions`` from the ``predict:`` prompt, in whatever mode ``model`` is in.

    The caller chooses train/eval mode: the reference code predicts with dropout on, we default
    to eval mode (see :func:`predict_labels_eval`).
    """
    prompts = [predict_prompt(q) for q in questions]
    if decoding == "score":
        if not labels:
            raise ValueError("closed-set scoring needs a label set")
        scores = backbone.score_candidates(model, prompts, list(labels)).float().cpu()
        probs = torch.softmax(scores, dim=-1)
        return LabelPredictions([labels[i] for i in probs.argmax(-1).tolist()], probs, scores)
    if decoding == "generate":
        budget = max_new_tokens or label_token_budget(backbone, labels)
        # Always plain greedy: label sampling during training must not pay for beams.
        labels_out = backbone.generate(model, prompts, max_new_tokens=budget, settings=GREEDY)
        return LabelPredictions(labels_out)
    raise ValueError(f"unknown label decoding '{decoding}' (choose from {DECODING_MODES})")


def predict_labels_eval(
    backbone: Backbone,
    model: nn.Module,
    questions: Sequence[str],
    labels: Sequence[str],
    **kwargs: object,
) -> LabelPredictions:
    """:func:`predict_labels` with dropout off, restoring the model's previous mode after."""
    was_training = model.training
    model.eval()
    try:
        return predict_labels(backbone, model, questions, labels, **kwargs)  # type: ignore[arg-type]
    finally:
        model.train(was_training)
