"""The synthetic triage source: deterministic, balanced, and its labels follow its rules.

The rule checks re-derive the disposition from the vignette text alone (vital signs parsed with
regular expressions, findings looked up by their wording), independently of the generator's own
rule function.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from reason2decide.data.example import Example
from reason2decide.data.readers import read_examples
from reason2decide.data.sources import DATA_DIR_ENV, get_source, prepare, resolve_options
from reason2decide.data.sources.synth_triage import complaints, describe, generate
from reason2decide.data.sources.synth_triage.protocol import (
    LEVELS,
    PROTOCOLS_FILE,
    parse_protocols,
)
from reason2decide.errors import R2DError

EMERGENCY = "emergency now"
URGENT = "urgent care within 24 h"
DOCTOR = "see a family doctor"
SELF_CARE = "self-care at home"
FOUR = {EMERGENCY, URGENT, DOCTOR, SELF_CARE}
BY_NAME = {complaint.name: complaint for complaint in complaints()}

VITAL_PATTERNS = {
    "hr": r"(?:HR|heart rate|pulse) (\d+)",
    "sbp": r"(?:BP|blood pressure) (\d+)/\d+",
    "rr": r"(?:RR|respiratory rate|breathing) (\d+)",
    "temp": r"(?:T|temperature|temp) (\d+\.\d) °C",
    "spo2": r"(?:SpO2|oxygen saturation|sats) (\d+)%",
}


def write_splits(out: Path, n: int, seed: int, **options: float) -> dict[str, int]:
    """Prepare the source into ``out``; the number of cases in each split."""
    result = prepare("synth-triage", out, seed=seed, options={"n": n, **options})
    return {name: split["examples"] for name, split in result.metadata["splits"].items()}


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
    for name in ("train.jsonl", "val.jsonl", "test.jsonl", "dataset.json"):
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


# --- the registered source: same bytes as before, dataset.json, the shipped protocol table ------

#: sha256 of the files ``r2d data synth-triage`` wrote with these flags before synth-triage became
#: a registered source (commit 1555d5b, src/reason2decide/data/synth_triage.py): the source must
#: keep writing exactly these bytes.
BEFORE = {
    "seed 3, n 100": (
        {"seed": 3, "n": 100},
        {
            "train.jsonl": "7f49dabf7f9d0c4466d22802bfc5877e475a08d169d849b625c7c92e13ee94e1",
            "val.jsonl": "44191253752132be64f64a06d65659e285cd406bd7eb42a4968d3052e498d8c9",
            "test.jsonl": "8463ae57c08bf55542966dccc82caad8a092a7aa79d52bb7b82babaa69af0a7d",
        },
    ),
    "fractions, no noise": (
        {"seed": 7, "n": 60, "val_fraction": 0.25, "test_fraction": 0.2, "noise": 0.0},
        {
            "train.jsonl": "570ebdf14d8df72226d370d19ffdd27e4a91874a13e6471c76e1b23931bbb80f",
            "val.jsonl": "79be0e79eccedba0bf338f76cf85f2228436f7f8524af371ce302a1e8504b68c",
            "test.jsonl": "ed93823ee781b9f18cfae2b085516bbc064a3d04ca115f72f860587f7ea4a0c4",
        },
    ),
    "masked, noisy": (
        {"seed": 1, "n": 300, "noise": 0.3, "mask_label_in_rationale": True},
        {
            "train.jsonl": "3c740d1897174992ae186da82c1a0bd7f1b0924192f40e70f70dce6118ac1db1",
            "val.jsonl": "03e49cbc6206d556b75fa48c370a8e7510a04354b6294b279cc02b78f34f69c8",
            "test.jsonl": "c70a7980fdc8262b003736dab339fe0f20413ad494905e6c0574915f42754405",
        },
    ),
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", list(BEFORE))
def test_prepare_writes_the_same_bytes_as_before(tmp_path: Path, case: str) -> None:
    settings, expected = BEFORE[case]
    settings = dict(settings)
    seed, mask = settings.pop("seed"), settings.pop("mask_label_in_rationale", False)
    prepare("synth-triage", tmp_path, seed=seed, mask_label_in_rationale=mask, options=settings)
    assert {name: _sha256(tmp_path / name) for name in expected} == expected
    record = json.loads((tmp_path / "dataset.json").read_text(encoding="utf-8"))
    assert {split["file"]: split["sha256"] for split in record["splits"].values()} == expected


def test_dataset_json_records_options_leakage_and_counts(tmp_path: Path) -> None:
    meta = prepare("synth-triage", tmp_path / "plain", seed=2, options={"n": "120"}).metadata
    assert meta["source"] == "synth-triage" and meta["seed"] == 2 and meta["raw_files"] == []
    assert meta["options"] == {
        "mask_label_in_rationale": False,
        "n": 120,
        "noise": 0.05,
        "test_fraction": 0.1,
        "val_fraction": 0.1,
    }
    assert meta["rationale_constructed"] is True and meta["label_set"] == "closed"
    assert [s["examples"] for s in meta["splits"].values()] == [96, 12, 12]
    assert meta["splits"]["train"]["label_in_rationale"] > 0
    assert set(meta["splits"]["train"]["labels"]) == FOUR
    files = [tmp_path / "plain" / f"{split}.jsonl" for split in ("train", "val", "test")]
    examples = [e for path in files for e in read_examples(path)]
    noisy = sum(e.label != e.extra["protocol_label"] for e in examples)
    assert meta["counts"] == {"cases": 120, "labels_changed_by_noise": noisy}

    masked = prepare(
        "synth-triage",
        tmp_path / "masked",
        seed=2,
        mask_label_in_rationale=True,
        options={"n": 120},
    ).metadata
    assert all(split["label_in_rationale"] == 0 for split in masked["splits"].values())
    changed = sum(split["label_in_rationale"] for split in meta["splits"].values())
    assert masked["masking"] == {"placeholder": "[LABEL]", "rationales_changed": changed}


def test_needs_no_data_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "no-such-folder"))
    result = prepare("synth-triage", tmp_path / "out", seed=0, options={"n": 30})
    assert result.metadata["splits"]["train"]["examples"] == 24
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "dataset.json",
        "test.jsonl",
        "train.jsonl",
        "val.jsonl",
    ]


def test_numeric_options_are_checked(tmp_path: Path) -> None:
    source = get_source("synth-triage")
    assert resolve_options(source, {"n": "50", "noise": 0}) == {
        "n": 50,
        "noise": 0.0,
        "test_fraction": 0.1,
        "val_fraction": 0.1,
    }
    with pytest.raises(R2DError, match="--n must be a whole number, not '2.5'"):
        resolve_options(source, {"n": "2.5"})
    with pytest.raises(R2DError, match="--noise must be a number, not 'lots'"):
        resolve_options(source, {"noise": "lots"})
    with pytest.raises(R2DError, match="--noise applies to synth-triage only, not to 'pubmedqa'"):
        resolve_options(get_source("pubmedqa"), {"noise": 0.1})
    with pytest.raises(R2DError, match="--label-placeholder applies to medreason only"):
        resolve_options(source, {"label_placeholder": "keep"})


def test_protocol_table_is_a_data_file_shipped_with_the_package() -> None:
    table = resources.files("reason2decide.data.sources.synth_triage") / PROTOCOLS_FILE
    assert table.is_file()
    assert len(complaints()) == 13
    assert sum(len(getattr(c, level)) for c in complaints() for level in LEVELS) == 129
    assert all(f.negation for c in complaints() for f in c.red_flags)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("complaints: []", "non-empty list under 'complaints'"),
        ("complaints: [1]", "complaints\\[0\\]"),
        ("complaints:\n  - complaint: cough\n    phrases: [a cough]\n", "'red_flags' must be"),
        (
            "complaints:\n  - complaint: cough\n    phrases: [a cough]\n    red_flags:\n"
            "      - {text: a, term: b, concern: c}\n",
            "complaint 'cough': red_flags.*negation",
        ),
        ("complaints: [", "not valid YAML"),
    ],
)
def test_a_malformed_protocol_table_names_the_problem(text: str, message: str) -> None:
    with pytest.raises(R2DError, match=message) as error:
        parse_protocols(text, "protocols.yaml")
    assert str(error.value).startswith("protocols.yaml")
