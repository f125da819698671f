"""Faithfulness metrics and rationale lengths on hand-made predictions."""

import pytest

from reason2decide.evaluation.faithfulness import faithfulness_metrics, rationale_length_stats


def test_agreement_rates_by_hand():
    gold = ["yes", "no", "no", "maybe"]
    predicted = ["yes", "yes", "no", "maybe"]
    from_rationale = ["Yes", "yes", "maybe", None]  # the last model wrote no rationale
    from_gold = ["yes", "no", "yes", "maybe"]
    m = faithfulness_metrics(gold, predicted, from_rationale, from_gold)
    # compared over the 3 with a rationale: P2==P1 for 1st, 2nd; P2==gold for 1st only
    assert m["consistency"] == pytest.approx(2 / 3)
    assert m["sufficiency"] == pytest.approx(1 / 3)
    assert m["gold_robustness"] == pytest.approx(3 / 4)


def test_no_rationales_gives_none():
    m = faithfulness_metrics(["a"], ["a"], [None], [None])
    assert m == {"consistency": None, "sufficiency": None, "gold_robustness": None}


def test_rationale_lengths():
    stats = rationale_length_stats(["one two three", " ", "a b"], ["x y", None, "z"])
    assert stats["generated_words"]["mean"] == pytest.approx(5 / 3)
    assert stats["generated_words"]["max"] == 3
    assert stats["gold_words"]["median"] == 1.5
    assert stats["empty_generated"] == pytest.approx(1 / 3)
    assert rationale_length_stats([None], [None])["generated_words"] is None
