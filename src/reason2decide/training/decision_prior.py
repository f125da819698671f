"""Choosing a trained model's decision prior correction (``--prior-correction val``) on its
validation cases; the rule itself is :mod:`reason2decide.methods.prior_correction`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from reason2decide.backbones import Backbone
from reason2decide.data.example import Example
from reason2decide.hardware import autocast, no_grad_context, resolve_precision
from reason2decide.methods.label_decoding import predict_labels_eval
from reason2decide.methods.prior_correction import choose_tau, label_log_prior


def label_counts(examples: Sequence[Example]) -> dict[str, int]:
    """How often each label occurs among the training cases scored over the label set."""
    return dict(Counter(e.label for e in examples if e.choices is None and e.label is not None))


def choose_prior_correction(
    backbone: Backbone,
    model: Any,
    val: Sequence[Example],
    labels: Sequence[str],
    counts: dict[str, int],
    *,
    precision: str = "auto",
    batch_size: int = 16,
) -> dict[str, Any]:
    """The record saved with the model: τ chosen on the validation cases scored over the label
    set (dividing by the training label ``counts``, which the model records beside it as
    ``label_counts``) and what each candidate τ scored. Every
    process of a multi-process run with whole parameters (DDP) computes the same record;
    sharded parameters are refused before training (``Run.start``)."""
    import torch

    known = set(labels)
    plain = [e for e in val if e.choices is None and e.label in known]
    if not plain:
        return {"tau": 0.0, "chosen_by": "no validation case scored over the label set: off"}
    resolved = resolve_precision(precision, backbone.device)
    rows = []
    with no_grad_context(resolved), autocast(resolved, backbone.device):
        for start in range(0, len(plain), batch_size):
            chunk = plain[start : start + batch_size]
            out = predict_labels_eval(backbone, model, [e.question for e in chunk], labels)
            rows.append(out.probabilities)
    probabilities = torch.cat(rows).float()
    choice = choose_tau(
        probabilities, [e.label for e in plain], list(labels), label_log_prior(labels, counts)
    )
    return {**choice.to_dict(), "validation_cases": len(plain)}
