"""Decision-time prior correction: rank the labels by ``log p(y|x) − τ·log π(y)``.

A small model trained on imbalanced labels learns their frequencies π too well: on PubMedQA
(yes 55 %, no 34 %, maybe 11 % of training rows) it almost never answers "maybe" (and is never
right when it does), and macro-F1 stays
low however well it ranks the cases. Dividing its probabilities by π^τ before the arg-max (post-hoc
logit adjustment, Menon et al., ICLR 2021) trades a little accuracy for recall on the rare labels:
τ = 0 is the plain model, τ = 1 the decision that is optimal for balanced error when the model is
calibrated. The training recipe can choose τ on validation macro-F1 (``--prior-correction val``);
the model then records τ and the training label counts, and every prediction uses them.

Pure functions of tensors and counts; they apply to the closed label set only (a case scored
over its own options, or a generated label, is left as it is).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch

from reason2decide.label_metrics import label_metrics

#: The strengths ``--prior-correction val`` chooses from, weakest first.
TAU_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)


def label_log_prior(labels: Sequence[str], counts: Mapping[str, int]) -> torch.Tensor:
    """``log π`` over ``labels`` from training counts, add-one smoothed (a label never seen in
    training gets a small prior, not ``-inf``)."""
    if not labels:
        raise ValueError("the label set is empty")
    smoothed = [counts.get(label, 0) + 1 for label in labels]
    if any(c < 1 for c in smoothed):
        raise ValueError("label counts must not be negative")
    total = sum(smoothed)
    return torch.tensor([math.log(c / total) for c in smoothed])


def correct_probabilities(
    probabilities: torch.Tensor, log_prior: torch.Tensor, tau: float
) -> torch.Tensor:
    """[N, C] probabilities ∝ ``p(y|x) / π(y)^τ`` (rows sum to 1); ``tau`` 0 returns them as
    they are."""
    if not (math.isfinite(tau) and tau >= 0):
        raise ValueError(f"the prior correction τ must be a finite number ≥ 0, not {tau}")
    if tau == 0:
        return probabilities
    if probabilities.shape[-1] != log_prior.shape[-1]:
        raise ValueError(
            f"{probabilities.shape[-1]} label probabilities but {log_prior.shape[-1]} priors"
        )
    logits = torch.log(probabilities.clamp_min(1e-30)) - tau * log_prior.to(probabilities)
    return torch.softmax(logits, dim=-1)


@dataclass
class PriorChoice:
    """The τ chosen on validation and the macro-F1 and accuracy each candidate τ scored."""

    tau: float
    macro_f1: dict[float, float] = field(default_factory=dict)
    accuracy: dict[float, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "tau": self.tau,
            "chosen_by": "validation macro-F1 (ties: the smallest τ)",
            "validation_macro_f1": {str(t): round(f, 6) for t, f in self.macro_f1.items()},
            "validation_accuracy": {str(t): round(a, 6) for t, a in self.accuracy.items()},
        }


def choose_tau(
    probabilities: torch.Tensor,
    gold: Sequence[str],
    labels: Sequence[str],
    log_prior: torch.Tensor,
    grid: Sequence[float] = TAU_GRID,
) -> PriorChoice:
    """The τ of ``grid`` whose corrected decisions score the best macro-F1 against ``gold``
    (ties go to the smallest τ, the least change to the model)."""
    if len(gold) != probabilities.shape[0]:
        raise ValueError(f"{probabilities.shape[0]} rows of probabilities but {len(gold)} labels")
    if not gold:
        raise ValueError("no validation cases to choose the prior correction on")
    choice = PriorChoice(tau=0.0)
    best = -1.0
    for tau in sorted(grid):
        corrected = correct_probabilities(probabilities, log_prior, tau)
        predicted = [labels[i] for i in corrected.argmax(-1).tolist()]
        metrics = label_metrics(gold, predicted, labels)
        choice.macro_f1[tau] = metrics["macro_f1"]
        choice.accuracy[tau] = metrics["accuracy"]
        if metrics["macro_f1"] > best + 1e-12:
            best, choice.tau = metrics["macro_f1"], tau
    return choice
