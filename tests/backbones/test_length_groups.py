"""Rows grouped by target length for decoder passes: the least padded positions plus passes."""

from __future__ import annotations

import itertools
import random

import pytest

from reason2decide.backbones.length_groups import length_groups


def _cost(lengths, groups, pass_cost):
    return sum(len(g) * max(lengths[i] for i in g) + pass_cost for g in groups)


def _brute_force(lengths, max_groups, pass_cost):
    """Least cost over every assignment of rows to at most ``max_groups`` groups."""
    n, best = len(lengths), None
    for labels in itertools.product(range(max_groups), repeat=n):
        groups = [[i for i in range(n) if labels[i] == g] for g in range(max_groups)]
        cost = _cost(lengths, [g for g in groups if g], pass_cost)
        best = cost if best is None else min(best, cost)
    return best


def test_no_rows_no_groups():
    assert length_groups([]) == []


def test_similar_lengths_stay_one_group_in_input_order():
    assert length_groups([30, 28, 31, 29]) == [[0, 1, 2, 3]]


def test_one_long_target_among_short_ones_gets_its_own_pass():
    groups = length_groups([10, 90, 12, 11], pass_cost=16)
    assert groups == [[1], [2, 3, 0]]


def test_every_row_in_exactly_one_group_and_at_most_max_groups():
    rng = random.Random(0)
    for _ in range(50):
        lengths = [rng.randint(1, 120) for _ in range(rng.randint(1, 16))]
        groups = length_groups(lengths, max_groups=3, pass_cost=8)
        assert 1 <= len(groups) <= 3
        assert sorted(i for g in groups for i in g) == list(range(len(lengths)))


@pytest.mark.parametrize("pass_cost", [0, 5, 16, 40])
def test_the_groups_cost_no_more_than_any_other_split(pass_cost):
    rng = random.Random(pass_cost)
    for _ in range(20):
        lengths = [rng.randint(1, 60) for _ in range(rng.randint(1, 6))]
        groups = length_groups(lengths, max_groups=3, pass_cost=pass_cost)
        assert _cost(lengths, groups, pass_cost) == _brute_force(lengths, 3, pass_cost)


def test_a_pass_that_saves_less_than_it_costs_is_not_made():
    # splitting [20] from [10, 10] saves 20 positions: worth a pass of 16, not one of 24
    assert len(length_groups([20, 10, 10], pass_cost=16)) == 2
    assert length_groups([20, 10, 10], pass_cost=24) == [[0, 1, 2]]


def test_max_groups_below_one_is_refused():
    with pytest.raises(ValueError, match="max_groups"):
        length_groups([1, 2], max_groups=0)
