import math

import pytest
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from reason2decide.evaluation import bleu_tokenize, example_bleu, rationale_bleu


def test_tokenizer_needs_no_nltk_data_and_lowercases():
    assert bleu_tokenize("The Beta-blocker dose was 2.5 mg, per day. Stop.") == [
        "the", "beta-blocker", "dose", "was", "2.5", "mg", ",", "per", "day", ".", "stop", ".",
    ]  # fmt: skip


def test_identical_is_one():
    text = "Metformin lowers hepatic glucose output in type 2 diabetes."
    assert rationale_bleu([text], [text]) == pytest.approx(1.0)


def test_hand_computed_value():
    # Unigram 5/6, bigram 3/5, trigram 1/4, 4-gram 0/3 -> method 4 gives (ln 6 / (2*5)) / 3.
    # Equal lengths: no brevity penalty.
    p4 = math.log(6) / 10 / 3
    expected = math.exp(0.25 * (math.log(5 / 6) + math.log(3 / 5) + math.log(1 / 4) + math.log(p4)))
    got = rationale_bleu(["the cat is on the mat"], ["the cat sat on the mat"])
    assert got == pytest.approx(expected)
    direct = sentence_bleu(
        [["the", "cat", "is", "on", "the", "mat"]],
        ["the", "cat", "sat", "on", "the", "mat"],
        weights=(0.25, 0.25, 0.25, 0.25),
        smoothing_function=SmoothingFunction().method4,
    )
    assert got == pytest.approx(direct)


def test_case_insensitive():
    assert rationale_bleu(["The Cat is on the Mat"], ["THE CAT sat ON the mat"]) == pytest.approx(
        rationale_bleu(["the cat is on the mat"], ["the cat sat on the mat"])
    )


def test_empty_hypothesis_scores_zero_and_counts_in_mean():
    text = "aspirin inhibits platelet aggregation irreversibly"
    assert example_bleu(text, "") == 0.0
    assert example_bleu(text, "   ") == 0.0
    assert rationale_bleu([text, text], [text, ""]) == pytest.approx(0.5)


def test_several_references_per_example():
    hyp = "the cat sat on the mat"
    single = rationale_bleu(["a dog ran in the park"], [hyp])
    multi = rationale_bleu([["a dog ran in the park", "the cat sat on the mat"]], [hyp])
    assert multi == pytest.approx(1.0)
    assert single < multi
    # An empty reference in the group is ignored rather than scored against.
    assert rationale_bleu([["", hyp]], [hyp]) == pytest.approx(1.0)


def test_length_mismatch_raises():
    with pytest.raises(ValueError):
        rationale_bleu(["a"], ["a", "b"])
