"""The paired bootstrap: intervals that must exclude zero do, ones that must not do not, the
statistics equal the evaluation's own metrics, and draws are reproducible."""

from __future__ import annotations

import random

import numpy as np
import pytest

from reason2decide.bench.significance import (
    case_weights,
    macro_f1_statistic,
    mean_statistic,
    paired_bootstrap,
)
from reason2decide.label_metrics import label_metrics


def test_a_clear_difference_excludes_zero():
    # a is right on 90 of 100 cases, b on 50 (the same 50 plus none): a - b = 0.4
    a = [1.0] * 90 + [0.0] * 10
    b = [1.0] * 50 + [0.0] * 50
    interval = paired_bootstrap(mean_statistic(a), mean_statistic(b), list(range(100)))
    assert interval.difference == pytest.approx(0.4)
    assert interval.low > 0.25 and interval.high < 0.55
    assert interval.low <= interval.difference <= interval.high
    assert interval.excludes_zero
    assert (interval.n_units, interval.n_cases, interval.n_resamples) == (100, 100, 1000)


def test_no_difference_keeps_zero_inside():
    # each is right on half the cases, different halves: a - b = 0, with a wide interval
    a = [1.0, 0.0] * 50
    b = [0.0, 1.0] * 50
    interval = paired_bootstrap(mean_statistic(a), mean_statistic(b), list(range(100)))
    assert interval.difference == pytest.approx(0.0)
    assert interval.low < -0.1 and interval.high > 0.1
    assert not interval.excludes_zero


def test_pairing_matters_a_constant_shift_is_certain():
    # noisy scores, but b is a shifted by 0.01 on every case: the paired interval is exact
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 1, 200)
    interval = paired_bootstrap(mean_statistic(a), mean_statistic(a - 0.01), list(range(200)))
    assert interval.low == pytest.approx(0.01) and interval.high == pytest.approx(0.01)
    assert interval.excludes_zero


def test_negative_difference_excludes_zero_below():
    a = [0.0] * 80 + [1.0] * 20
    b = [1.0] * 100
    interval = paired_bootstrap(mean_statistic(a), mean_statistic(b), list(range(100)))
    assert interval.high < 0 and interval.excludes_zero


def test_units_of_one_case_are_drawn_together():
    # 3 seeds per case; a - b is +1 on every unit of case 0..9 and -1 on the rest (case-level)
    cases = [c for c in range(20) for _ in range(3)]
    d = [1.0 if c < 10 else -1.0 for c in cases]
    interval = paired_bootstrap(mean_statistic(d), mean_statistic([0.0] * 60), cases)
    assert interval.n_units == 60 and interval.n_cases == 20
    # resampling cases: the difference is a mean of 20 ±1 draws, not 60
    independent = paired_bootstrap(mean_statistic(d), mean_statistic([0.0] * 60), range(60))
    assert interval.high - interval.low > 1.4 * (independent.high - independent.low)


def test_same_seed_same_interval_and_other_seed_differs():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(size=50), rng.uniform(size=50)
    one = paired_bootstrap(mean_statistic(a), mean_statistic(b), [f"c{i}" for i in range(50)])
    two = paired_bootstrap(mean_statistic(a), mean_statistic(b), [f"c{i}" for i in range(50)])
    other = paired_bootstrap(mean_statistic(a), mean_statistic(b), range(50), seed=7)
    assert one == two
    assert (other.low, other.high) != (one.low, one.high)
    assert paired_bootstrap(mean_statistic(a), mean_statistic(b), range(50), n_resamples=10)


def test_case_weights_draw_as_many_cases_as_there_are():
    weights = case_weights(7, 30, seed=3)
    assert weights.shape == (30, 7)
    assert (weights.sum(axis=1) == 7).all()


@pytest.mark.parametrize("seed", range(5))
def test_macro_f1_statistic_equals_label_metrics(seed):
    rnd = random.Random(seed)
    labels = ["yes", "no", "maybe"]
    gold = [rnd.choice(labels + ["other"]) for _ in range(40)]  # a gold label outside the set
    predicted = [rnd.choice(labels + ["<unmapped>"]) for _ in range(40)]
    predicted[0] = "maybe"
    expected = label_metrics(gold, predicted, labels)["macro_f1"]
    assert macro_f1_statistic(gold, predicted, labels).value() == pytest.approx(expected)
    # and on a resample (a subset with repeats), as recomputing label_metrics would give
    picks = [rnd.randrange(40) for _ in range(40)]
    resampled = label_metrics([gold[i] for i in picks], [predicted[i] for i in picks], labels)
    statistic = macro_f1_statistic([gold[i] for i in picks], [predicted[i] for i in picks], labels)
    assert statistic.value() == pytest.approx(resampled["macro_f1"])


def test_macro_f1_of_a_class_never_seen_counts_zero():
    statistic = macro_f1_statistic(["yes", "yes"], ["yes", "yes"], ["yes", "no"])
    assert statistic.value() == pytest.approx(0.5)
    assert label_metrics(["yes", "yes"], ["yes", "yes"], ["yes", "no"])["macro_f1"] == 0.5


def test_macro_f1_difference_is_recomputed_not_averaged():
    labels = ["yes", "no"]
    gold = ["yes"] * 90 + ["no"] * 10
    majority = ["yes"] * 100
    balanced = ["yes"] * 85 + ["no"] * 5 + ["no"] * 8 + ["yes"] * 2
    interval = paired_bootstrap(
        macro_f1_statistic(gold, balanced, labels),
        macro_f1_statistic(gold, majority, labels),
        range(100),
    )
    expected = (
        label_metrics(gold, balanced, labels)["macro_f1"]
        - label_metrics(gold, majority, labels)["macro_f1"]
    )
    assert interval.difference == pytest.approx(expected)
    assert interval.excludes_zero and interval.low > 0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="units"):
        paired_bootstrap(mean_statistic([1.0]), mean_statistic([1.0, 0.0]), [0])
    with pytest.raises(ValueError, match="at least one"):
        paired_bootstrap(mean_statistic([]), mean_statistic([]), [])
