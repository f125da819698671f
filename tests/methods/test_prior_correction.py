"""The decision prior correction: log p(y|x) − τ·log π(y), τ chosen on validation macro-F1."""

from __future__ import annotations

import math

import pytest
import torch

from reason2decide.methods.prior_correction import (
    TAU_GRID,
    choose_tau,
    correct_probabilities,
    label_log_prior,
)

LABELS = ["yes", "no", "maybe"]


def test_log_prior_is_add_one_smoothed_and_normalised():
    log_prior = label_log_prior(LABELS, {"yes": 7, "no": 2})  # "maybe" never seen
    assert torch.exp(log_prior).sum().item() == pytest.approx(1.0)
    expected = [math.log(8 / 12), math.log(3 / 12), math.log(1 / 12)]
    assert log_prior.tolist() == pytest.approx(expected)


def test_tau_zero_changes_nothing_and_a_positive_tau_favours_rare_labels():
    probs = torch.tensor([[0.5, 0.3, 0.2]])
    log_prior = label_log_prior(LABELS, {"yes": 80, "no": 15, "maybe": 5})
    assert torch.equal(correct_probabilities(probs, log_prior, 0.0), probs)
    corrected = correct_probabilities(probs, log_prior, 1.0)
    assert corrected.sum().item() == pytest.approx(1.0)
    assert corrected.argmax().item() == 2  # 0.2 / 0.06 beats 0.5 / 0.80 and 0.3 / 0.15
    # the ratio of two labels' probabilities moves by exactly (π_a / π_b)^τ
    ratio = (corrected[0, 2] / corrected[0, 0]).item()
    assert ratio == pytest.approx((0.2 / 0.5) * (81 / 6), rel=1e-5)


def test_negative_tau_and_mismatched_shapes_are_refused():
    log_prior = label_log_prior(LABELS, {"yes": 1})
    with pytest.raises(ValueError, match="≥ 0"):
        correct_probabilities(torch.ones(1, 3) / 3, log_prior, -0.5)
    with pytest.raises(ValueError, match="priors"):
        correct_probabilities(torch.ones(1, 2) / 2, log_prior, 1.0)


def test_choose_tau_finds_the_correction_that_recovers_a_rare_label():
    # A model that leans on the majority: every "maybe" case gets maybe 0.3 against yes 0.45.
    gold = ["yes"] * 6 + ["no"] * 3 + ["maybe"] * 2
    rows = [[0.8, 0.1, 0.1]] * 6 + [[0.2, 0.7, 0.1]] * 3 + [[0.45, 0.25, 0.3]] * 2
    log_prior = label_log_prior(LABELS, {"yes": 60, "no": 30, "maybe": 10})
    choice = choose_tau(torch.tensor(rows), gold, LABELS, log_prior)
    assert choice.macro_f1[0.0] < 0.7  # "maybe" never predicted
    assert choice.tau > 0
    assert choice.macro_f1[choice.tau] == pytest.approx(1.0)
    assert set(choice.macro_f1) == set(TAU_GRID)
    record = choice.to_dict()
    assert record["tau"] == choice.tau and "validation_macro_f1" in record


def test_ties_keep_the_smallest_tau():
    gold = ["yes", "no"]
    probs = torch.tensor([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05]])  # right at every τ of the grid
    choice = choose_tau(probs, gold, LABELS, label_log_prior(LABELS, {"yes": 5, "no": 5}))
    assert choice.tau == 0.0


def test_choose_tau_needs_cases_and_matching_rows():
    log_prior = label_log_prior(LABELS, {})
    with pytest.raises(ValueError, match="no validation cases"):
        choose_tau(torch.empty(0, 3), [], LABELS, log_prior)
    with pytest.raises(ValueError, match="rows"):
        choose_tau(torch.ones(2, 3) / 3, ["yes"], LABELS, log_prior)
