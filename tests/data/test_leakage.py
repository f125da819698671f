"""Label leakage: finding the label verbatim in a rationale and masking it."""

from __future__ import annotations

from reason2decide.data.example import Example
from reason2decide.data.leakage import (
    DEFAULT_PLACEHOLDER,
    contains_label,
    count_leaking,
    mask_examples,
    mask_label,
)


def test_contains_label_is_whole_phrase_and_case_insensitive() -> None:
    assert contains_label("No, it does not help.", "no")
    assert contains_label("the answer is YES", "yes")
    assert not contains_label("None of them; nobody knows.", "no")
    assert not contains_label("yesterday", "yes")
    assert contains_label("Given IL - 1\nantagonist therapy", "IL - 1 antagonist")
    assert contains_label("particles of 1-5 m size", "1-5 m")
    assert not contains_label("particles of 11-5 m size", "1-5 m")
    assert contains_label("(a) is right", "(a)")
    assert not contains_label(None, "yes") and not contains_label("", "yes")
    assert not contains_label("anything", "   ")


def test_mask_label_replaces_every_occurrence() -> None:
    text = "Tuberculosis meningitis fits; tuberculosis  Meningitis again, not meningitis alone."
    masked = mask_label(text, "Tuberculosis meningitis")
    assert masked == "[LABEL] fits; [LABEL] again, not meningitis alone."
    assert mask_label("No effect, no change.", "no", "<y>") == "<y> effect, <y> change."
    assert mask_label("Regex chars a+b (c)?", "a+b (c)") == "Regex chars [LABEL]?"
    assert mask_label("back\\slash \\1 stays", "stays") == "back\\slash \\1 [LABEL]"
    assert mask_label("nothing", "") == "nothing"


def test_mask_examples_and_count() -> None:
    examples = [
        Example("1", "q", "yes", "Yes, it works.", extra={"k": 1}),
        Example("2", "q", "no", None),
        Example("3", "q", "maybe", "Unclear."),
    ]
    assert count_leaking(examples) == (1, 2)
    masked = mask_examples(examples)
    assert masked[0].rationale == f"{DEFAULT_PLACEHOLDER}, it works." and masked[0].extra == {
        "k": 1
    }
    assert masked[1].rationale is None and masked[2].rationale == "Unclear."
    assert examples[0].rationale == "Yes, it works."  # the input is not changed
    assert count_leaking(masked) == (0, 2)


def test_mask_examples_keeps_the_case_options() -> None:
    example = Example(
        "m1", "Which?\n\nOptions:\nA. x\nB. y", "y", "It is y.", extra={"s": 1}, choices=("x", "y")
    )
    (masked,) = mask_examples([example])
    assert masked.rationale == "It is [LABEL]."
    assert masked.choices == ("x", "y") and masked.extra == {"s": 1}
