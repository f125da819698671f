"""The synthetic triage demo set: deterministic, balanced, and its labels follow its rules.

The rule checks re-derive the disposition from the vignette text alone (vital signs parsed with
regular expressions, findings looked up by their wording), independently of the generator's own
rule function.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from reason2decide.data.example import Example
from reason2decide.data.readers import read_examples
from reason2decide.data.synth_triage import COMPLAINTS, describe, generate, write_splits
from reason2decide.errors import R2DError

EMERGENCY = "emergency now"
URGENT = "urgent care within 24 h"
DOCTOR = "see a family doctor"
SELF_CARE = "self-care at home"
FOUR = {EMERGENCY, URGENT, DOCTOR, SELF_CARE}
BY_NAME = {complaint.name: complaint for complaint in COMPLAINTS}

VITAL_PATTERNS = {
    "hr": r"(?:HR|heart rate|pulse) (\d+)",
    "sbp": r"(?:BP|blood pressure) (\d+)/\d+",
    "rr": r"(?:RR|respiratory rate|breathing) (\d+)",
    "temp": r"(?:T|temperature|temp) (\d+\.\d) °C",
    "spo2": r"(?:SpO2|oxygen saturation|sats) (\d+)%",
}


@pytest.fixture(scope="module")
def clean_cases() -> list[Example]:
    return generate(2000, seed=11, noise=0.0)


@pytest.fixture(scope="module")
def noisy_cases() -> list[Example]:
    return generate(2000, seed=0)


def _vitals(question: str) -> dict[str, float]:
    values = {}
    for name, pattern in VITAL_PATTERNS.items():
        found = re.findall(pattern, question)
        assert len(found) == 1, (name, question)
        values[name] = float(found[0])
    return values


def _critical(v: dict[str, float]) -> bool:
    return v["hr"] >= 130 or v["sbp"] < 90 or v["rr"] >= 30 or v["spo2"] <= 90


def _abnormal(v: dict[str, float]) -> bool:
    return (
        111 <= v["hr"] <= 129
        or v["sbp"] >= 180
        or 25 <= v["rr"] <= 29
        or 91 <= v["spo2"] <= 93
        or v["temp"] >= 39.0
    )


def _present(example: Example, level: str) -> list[str]:
    complaint = BY_NAME[example.extra["complaint"]]
    return [f.text for f in getattr(complaint, level) if f.text in example.question]


def _long(question: str) -> bool:
    first_sentence = question.split(". ")[0]
    return re.search(r"for \d+ weeks|for about \d+ months", first_sentence) is not None


def _expected(example: Example) -> str:
    """The disposition the documented rules give, read from the vignette text alone."""
    q = example.question
    v = _vitals(q)
    if _present(example, "red_flags") or _critical(v) or ("chemotherapy" in q and v["temp"] >= 38):
        return EMERGENCY
    pregnant_pain = "weeks pregnant" in q and example.extra["complaint"] == "abdominal pain"
    if _present(example, "urgent") or _abnormal(v) or pregnant_pain:
        return URGENT
    if _present(example, "persistent") or _long(q):
        return DOCTOR
    return SELF_CARE


def test_labels_are_exactly_the_four_dispositions(noisy_cases: list[Example]) -> None:
    assert {e.label for e in noisy_cases} == FOUR


def test_classes_are_balanced(noisy_cases: list[Example]) -> None:
    counts = Counter(e.label for e in noisy_cases)
    for label in FOUR:
        assert 0.15 <= counts[label] / len(noisy_cases) <= 0.35, counts


def test_many_complaints_are_used(noisy_cases: list[Example]) -> None:
    assert len({e.extra["complaint"] for e in noisy_cases}) >= 10


def test_without_noise_labels_follow_the_rules(clean_cases: list[Example]) -> None:
    wrong = [(e.id, e.label, _expected(e)) for e in clean_cases if e.label != _expected(e)]
    assert not wrong, wrong[:5]


def test_without_noise_every_red_flag_is_an_emergency(clean_cases: list[Example]) -> None:
    flagged = [e for e in clean_cases if _present(e, "red_flags")]
    assert len(flagged) > 200
    assert all(e.label == EMERGENCY for e in flagged)


def test_every_rule_is_exercised(clean_cases: list[Example]) -> None:
    vitals = [(_vitals(e.question), e) for e in clean_cases]
    assert sum(_critical(v) and not _present(e, "red_flags") for v, e in vitals) > 50
    assert sum(_abnormal(v) and e.label == URGENT for v, e in vitals) > 50
    assert any("chemotherapy" in e.question and v["temp"] >= 38 for v, e in vitals)
    assert any("chemotherapy" in e.question and e.label != EMERGENCY for _, e in vitals)
    assert any(_long(e.question) and e.label == DOCTOR for e in clean_cases)
    assert any("weeks pregnant" in e.question and e.label == URGENT for e in clean_cases)


def test_distractors_do_not_decide(clean_cases: list[Example]) -> None:
    """Grey-zone vitals and mild findings appear in cases of every label."""
    grey = Counter(
        e.label
        for e in clean_cases
        if 101 <= _vitals(e.question)["hr"] <= 110 or 37.8 <= _vitals(e.question)["temp"] < 39
    )
    assert set(grey) == FOUR
    assert {e.label for e in clean_cases if _present(e, "mild")} == FOUR


def test_noise_rate_is_about_what_was_asked(noisy_cases: list[Example]) -> None:
    changed = sum(e.label != e.extra["protocol_label"] for e in noisy_cases)
    assert 0.025 <= changed / len(noisy_cases) <= 0.08
    assert all(e.extra["protocol_label"] == _expected(e) for e in noisy_cases)


def test_rationale_states_the_assigned_label(noisy_cases: list[Example]) -> None:
    markers = {
        EMERGENCY: ("emergency care now", "an emergency now"),
        URGENT: ("urgent care within 24 h",),
        DOCTOR: ("see a family doctor",),
        SELF_CARE: ("self-care at home",),
    }
    for e in noisy_cases:
        stated = {
            label for label, ms in markers.items() if any(m in e.rationale.lower() for m in ms)
        }
        assert stated == {e.label}, (e.label, e.rationale)


def test_rationale_names_findings_of_its_own_vignette(noisy_cases: list[Example]) -> None:
    for e in noisy_cases:
        complaint = BY_NAME[e.extra["complaint"]]
        findings = [
            f
            for level in ("red_flags", "urgent", "persistent", "mild")
            for f in getattr(complaint, level)
        ]
        cited = [f for f in findings if f.term in e.rationale]
        for f in cited:  # nothing is made up
            assert f.text in e.question, (f.term, e.question, e.rationale)
        readings = re.findall(
            r"(?:heart rate|blood pressure|respiratory rate|temperature|oxygen saturation) of "
            r"([\d./]+)",
            e.rationale,
        )
        for value in readings:
            assert value in e.question, (value, e.question)
        durations = re.findall(r"for \d+ weeks|for about \d+ months", e.rationale)
        pregnancy = re.findall(r"(\d+) weeks of pregnancy|pregnancy of (\d+) weeks", e.rationale)
        assert cited or readings or durations or pregnancy, e.rationale
        assert all(d in e.question for d in durations)
        assert all(f"{a or b} weeks pregnant" in e.question for a, b in pregnancy)
        assert 1 <= len(re.findall(r"[.!?](?:\s|$)", e.rationale)) <= 3, e.rationale


def test_vignettes_are_short_and_have_all_vitals(noisy_cases: list[Example]) -> None:
    for e in noisy_cases:
        assert 40 <= len(e.question.split()) <= 90, e.question
        _vitals(e.question)
        assert re.search(r"\b(man|woman)\b", e.question) and re.search(r"\d+", e.question)


def test_ids_are_unique_and_formatted(noisy_cases: list[Example]) -> None:
    ids = [e.id for e in noisy_cases]
    assert len(set(ids)) == len(ids)
    assert ids[0] == "triage-000000" and ids[123] == "triage-000123"


def test_same_seed_same_cases_other_seed_different() -> None:
    first = generate(300, seed=5)
    assert [e.to_dict() for e in first] == [e.to_dict() for e in generate(300, seed=5)]
    other = generate(300, seed=6)
    assert [e.question for e in first] != [e.question for e in other]


def test_noise_parameter_changes_only_labels_and_rationales() -> None:
    clean, noisy = generate(400, 3, noise=0.0), generate(400, 3, noise=0.5)
    assert sum(a.label != b.label for a, b in zip(clean, noisy, strict=True)) > 100


def test_write_splits_is_byte_identical_for_a_seed(tmp_path: Path) -> None:
    sizes = write_splits(tmp_path / "a", n=200, seed=1)
    write_splits(tmp_path / "b", n=200, seed=1)
    write_splits(tmp_path / "c", n=200, seed=2)
    assert sizes == {"train": 160, "val": 20, "test": 20}
    for name in ("train.jsonl", "val.jsonl", "test.jsonl"):
        a = (tmp_path / "a" / name).read_bytes()
        assert a == (tmp_path / "b" / name).read_bytes()
        assert a != (tmp_path / "c" / name).read_bytes()


def test_splits_are_disjoint_and_readable(tmp_path: Path) -> None:
    sizes = write_splits(tmp_path, n=150, seed=4, val_fraction=0.2, test_fraction=0.1)
    ids: dict[str, set[str]] = {}
    for split, size in sizes.items():
        examples = read_examples(tmp_path / f"{split}.jsonl", require_rationale=True)
        assert len(examples) == size
        ids[split] = {e.id for e in examples}
        assert {e.extra["complaint"] for e in examples} <= set(BY_NAME)
    assert sum(sizes.values()) == 150 and sizes["val"] == 30 and sizes["test"] == 15
    assert not ids["train"] & ids["val"]
    assert not ids["train"] & ids["test"]
    assert not ids["val"] & ids["test"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": 5},
        {"n": 0},
        {"n": 100, "val_fraction": 0.0},
        {"n": 100, "val_fraction": 0.6, "test_fraction": 0.4},
        {"n": 100, "noise": 1.5},
    ],
)
def test_write_splits_rejects_bad_arguments(tmp_path: Path, kwargs: dict) -> None:
    args = {"seed": 0, **kwargs}
    with pytest.raises(R2DError):
        write_splits(tmp_path, **args)
    assert not list(tmp_path.iterdir())


def test_describe_explains_the_rules() -> None:
    text = describe()
    assert "not** a benchmark" in text
    for label in FOUR:
        assert label in text
