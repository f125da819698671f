"""Turning ``predict: x`` into a label: closed-set scoring or free greedy generation.

The methods decode labels this way while they train (validation, r2d's and r2dc's scheduled
sampling), and :class:`~reason2decide.inference.Predictor` does at inference, so it lives here,
in the methods layer, and the inference layer imports it from here.

A multiple-choice case (``Example.choices`` set) is scored over its own options instead of the
label set; a batch may mix such cases with cases scored over the label set, all in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from reason2decide.backbones import GREEDY, Backbone
from reason2decide.data.choices import option_index
from reason2decide.data.example import Example
from reason2decide.prompts import predict_prompt

#: Label decoding modes. ``score`` ranks every label of the closed set by its log-likelihood
#: in one batched pass; ``generate`` decodes free text greedily (open-ended labels).
DECODING_MODES = ("score", "generate")


@dataclass
class LabelPredictions:
    """Predicted labels and, when the label set was scored, per-label probabilities and the
    log-likelihoods they were normalised from."""

    labels: list[str]
    #: [N, C], rows sum to 1. With per-case candidates (``candidates`` set), column ``j`` of row
    #: ``i`` is ``candidates[i][j]``, ``C`` is the most any case has, and the rest are 0.
    probabilities: torch.Tensor | None = None
    #: [N, C]: each label's summed token log-probability (end-of-sequence included); ``-inf``
    #: past a case's own candidates. With the backbone's ``option_scoring`` "mean", a case's own
    #: options are ranked (and ``probabilities`` computed) by these over their token counts.
    scores: torch.Tensor | None = None
    #: Each case's candidates (its options, or the label set for a case without), when some
    #: case of the batch has options; ``None`` when every case was scored over the label set.
    candidates: list[tuple[str, ...]] | None = None

    def distribution(self, row: int, labels: Sequence[str]) -> dict[str, float]:
        """Row ``row``'s probabilities by candidate text (``labels`` when no case had options)."""
        if self.probabilities is None:
            raise ValueError("no probabilities: the labels were generated")
        names = self.candidates[row] if self.candidates is not None else tuple(labels)
        return {
            name: float(p)
            for name, p in zip(names, self.probabilities[row, : len(names)].tolist(), strict=True)
        }


def case_choices(examples: Sequence[Example]) -> list[tuple[str, ...] | None] | None:
    """Each example's own options, or ``None`` when no example has any."""
    found = [example.choices for example in examples]
    return found if any(c is not None for c in found) else None


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
    choices: Sequence[Sequence[str] | None] | None = None,
) -> LabelPredictions:
    """Labels for ``questions`` from the ``predict:`` prompt, in whatever mode ``model`` is in.

    ``choices`` (one entry per question, see :func:`case_choices`) gives a case's own options:
    it is scored over them and its label is one of them; a case whose entry is ``None`` is
    scored over ``labels``. Generated labels that name one of the case's options (its text or
    letter) become that option's text.

    The caller chooses train/eval mode: the reference code predicts with dropout on, we default
    to eval mode (see :func:`predict_labels_eval`).
    """
    prompts = [predict_prompt(q) for q in questions]
    if choices is not None and len(choices) != len(questions):
        raise ValueError(f"{len(questions)} questions but {len(choices)} option lists")
    if choices is not None and all(c is None for c in choices):
        choices = None
    if decoding == "score":
        if choices is None:
            if not labels:
                raise ValueError("closed-set scoring needs a label set")
            scores = backbone.score_candidates(model, prompts, list(labels)).float().cpu()
            probs = torch.softmax(scores, dim=-1)
            return LabelPredictions([labels[i] for i in probs.argmax(-1).tolist()], probs, scores)
        lists = [tuple(c) if c is not None else tuple(labels) for c in choices]
        if any(not candidates for candidates in lists):
            raise ValueError("a case without options needs a label set to be scored over")
        scores = backbone.score_candidate_lists(model, prompts, lists).float().cpu()
        ranking = scores
        if backbone.option_scoring == "mean":
            ranking = scores / _token_counts(backbone, lists, choices, scores.shape[1])
        probs = torch.softmax(ranking, dim=-1)
        best = probs.argmax(-1).tolist()
        return LabelPredictions(
            [candidates[i] for candidates, i in zip(lists, best, strict=True)], probs, scores, lists
        )
    if decoding == "generate":
        known = [*labels, *(text for c in choices or () if c is not None for text in c)]
        budget = max_new_tokens or label_token_budget(backbone, known)
        # Always plain greedy: label sampling during training must not pay for beams.
        labels_out = backbone.generate(model, prompts, max_new_tokens=budget, settings=GREEDY)
        if choices is not None:
            labels_out = [_as_option(text, c) for text, c in zip(labels_out, choices, strict=True)]
        return LabelPredictions(labels_out)
    raise ValueError(f"unknown label decoding '{decoding}' (choose from {DECODING_MODES})")


def _as_option(text: str, choices: Sequence[str] | None) -> str:
    """The option a generated label names, or the generated text when it names none."""
    if choices is None:
        return text
    position = option_index(text, choices)
    return text if position is None else choices[position]


def _token_counts(
    backbone: Backbone,
    lists: Sequence[Sequence[str]],
    choices: Sequence[Sequence[str] | None],
    width: int,
) -> torch.Tensor:
    """[N, width]: each option's scored token count (end-of-sequence included) for the cases
    with their own options; 1 elsewhere (label-set rows keep their summed scores, and positions
    past a case's options their ``-inf``)."""
    counts = torch.ones(len(lists), width)
    for row, candidates in enumerate(lists):
        if choices[row] is None:
            continue
        lengths = [len(ids) for ids in backbone.target_ids(list(candidates))]
        counts[row, : len(lengths)] = torch.tensor(lengths, dtype=torch.float)
    return counts


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
