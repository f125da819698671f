"""DDXPlus: readable patient descriptions from evidence codes, templated rationales, splits."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from reason2decide.data.sources import prepare
from reason2decide.errors import R2DError

EVIDENCES = {
    "E_1": {
        "name": "E_1",
        "code_question": "E_1",
        "question_en": "Do you have a cough?",
        "is_antecedent": False,
        "default_value": 0,
        "value_meaning": {},
        "data_type": "B",
    },
    "E_2": {
        "name": "E_2",
        "code_question": "E_2",
        "question_en": "Do you have pain somewhere?",
        "is_antecedent": False,
        "default_value": 0,
        "value_meaning": {},
        "data_type": "B",
    },
    "E_3": {
        "name": "E_3",
        "code_question": "E_2",
        "question_en": "How intense is the pain?",
        "is_antecedent": False,
        "default_value": 0,
        "value_meaning": {},
        "data_type": "C",
    },
    "E_4": {
        "name": "E_4",
        "code_question": "E_2",
        "question_en": "Characterize your pain:",
        "is_antecedent": False,
        "default_value": "V_11",
        "value_meaning": {
            "V_11": {"en": "NA"},
            "V_1": {"en": "sharp"},
            "V_2": {"en": "burning"},
        },
        "data_type": "M",
    },
    "E_5": {
        "name": "E_5",
        "code_question": "E_5",
        "question_en": "Have you traveled out of the country in the last 4 weeks?",
        "is_antecedent": True,
        "default_value": "V_10",
        "value_meaning": {"V_10": {"en": "N"}, "V_6": {"en": "Asia"}},
        "data_type": "M",
    },
    "E_6": {
        "name": "E_6",
        "code_question": "E_6",
        "question_en": "Do you smoke cigarettes?",
        "is_antecedent": True,
        "default_value": 0,
        "value_meaning": {},
        "data_type": "B",
    },
}
CONDITIONS = {
    "Bronchitis": {
        "condition_name": "Bronchitis",
        "symptoms": {"E_1": {}, "E_2": {}, "E_3": {}},
        "antecedents": {"E_5": {}, "E_6": {}},
    },
    "GERD": {"condition_name": "GERD", "symptoms": {"E_2": {}, "E_4": {}}, "antecedents": {}},
}
PATIENT = ["E_1", "E_2", "E_3_@_7", "E_4_@_V_1", "E_4_@_V_2", "E_5_@_V_10", "E_6"]


def _write_patients(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        columns = ["age", "top5_diagnoses", "sex", "diagnosis", "features", "feature_id"]
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _patient(label: str, features: list[str] = PATIENT, age: object = 40) -> dict:
    return {
        "age": age,
        "top5_diagnoses": "[]",
        "sex": "F",
        "diagnosis": label,
        "features": str(features),
        "feature_id": "E_2",
    }


@pytest.fixture
def raw(tmp_path: Path, h) -> Path:
    h.write_json(tmp_path / "ddxplus" / "release_evidences.json", EVIDENCES)
    h.write_json(tmp_path / "ddxplus" / "release_conditions.json", CONDITIONS)
    rows = [_patient("Bronchitis")] + [
        _patient(label, ["E_1", "E_2", f"E_3_@_{i % 10}"], age=i)
        for i, label in enumerate(["Bronchitis"] * 12 + ["GERD"] * 8)
    ]
    _write_patients(tmp_path / "ddxplus" / "test_patients_subset.csv", rows)
    return tmp_path


def test_description_and_constructed_rationale(raw: Path, tmp_path: Path, h) -> None:
    out = prepare("ddxplus", tmp_path / "out", data_dir=raw)
    rows = {r["id"]: r for name in ("train", "val", "test") for r in h.read_jsonl(out.files[name])}
    first = rows["ddxplus-00001"]
    assert first["question"] == (
        "Patient: 40-year-old female.\n"
        "Chief complaint: Do you have pain somewhere? Yes.\n"
        "Symptoms:\n"
        "- Do you have a cough? Yes.\n"
        "- How intense is the pain? 7 on a scale of 0 to 10.\n"
        "- Characterize your pain: sharp, burning.\n"
        "History and risk factors:\n"
        "- Have you traveled out of the country in the last 4 weeks? No.\n"
        "- Do you smoke cigarettes? Yes."
    )
    # E_1 is listed by one condition, E_2 by two; E_3 is a follow-up question; the travel
    # answer is the default ("no") so it is not a risk factor.
    assert first["rationale"] == (
        "The answers point to Bronchitis. Decisive findings for Bronchitis: "
        "Do you have a cough? Yes; Do you have pain somewhere? Yes. "
        "Risk factors: Do you smoke cigarettes? Yes."
    )
    assert first["label"] == "Bronchitis" and first["age"] == 40 and first["sex"] == "F"
    meta = out.metadata
    assert meta["rationale_constructed"] is True
    assert meta["rationale_origin"].startswith("constructed")
    assert {f["path"] for f in meta["raw_files"]} == {
        "ddxplus/test_patients_subset.csv",
        "ddxplus/release_evidences.json",
        "ddxplus/release_conditions.json",
    }


def test_rationale_without_profile_findings(raw: Path, tmp_path: Path, h) -> None:
    _write_patients(
        raw / "ddxplus" / "test_patients_subset.csv",
        [_patient("GERD", ["E_1", "E_6"]), *[_patient("GERD", age=i) for i in range(9)]],
    )
    out = prepare("ddxplus", tmp_path / "out", data_dir=raw)
    rows = {r["id"]: r for name in ("train", "val", "test") for r in h.read_jsonl(out.files[name])}
    rationale = rows["ddxplus-00001"]["rationale"]
    assert "None of the reported symptoms is in the usual profile of GERD." in rationale


def test_unknown_evidence_names_the_patient(raw: Path, tmp_path: Path) -> None:
    _write_patients(
        raw / "ddxplus" / "test_patients_subset.csv",
        [_patient("GERD"), _patient("GERD", ["E_1", "E_99"])],
    )
    with pytest.raises(R2DError, match=r"csv:3: record 'ddxplus-00002': evidence 'E_99'"):
        prepare("ddxplus", tmp_path / "out", data_dir=raw)


def test_unparsable_features_and_age(raw: Path, tmp_path: Path) -> None:
    path = raw / "ddxplus" / "test_patients_subset.csv"
    _write_patients(path, [{**_patient("GERD"), "features": "['E_1'"}])
    with pytest.raises(R2DError, match="record 'ddxplus-00001': 'features' is not a list"):
        prepare("ddxplus", tmp_path / "out", data_dir=raw)
    _write_patients(path, [_patient("GERD", age="forty")])
    with pytest.raises(R2DError, match="age 'forty' is not a whole number"):
        prepare("ddxplus", tmp_path / "out", data_dir=raw)


@pytest.fixture(scope="module")
def shared_ddxplus(shared_data_dir: Path, tmp_path_factory, h) -> tuple[Path, Path]:
    h.require_files(
        shared_data_dir,
        "ddxplus/test_patients_subset.csv",
        "ddxplus/release_evidences.json",
        "ddxplus/release_conditions.json",
    )
    first = tmp_path_factory.mktemp("ddxplus1")
    second = tmp_path_factory.mktemp("ddxplus2")
    prepare("ddxplus", first, data_dir=shared_data_dir)
    prepare("ddxplus", second, data_dir=shared_data_dir)
    return first, second


@pytest.mark.data
def test_shared_counts(shared_ddxplus: tuple[Path, Path], h) -> None:
    out, _ = shared_ddxplus
    splits = {name: h.read_jsonl(out / f"{name}.jsonl") for name in ("train", "val", "test")}
    assert {name: len(rows) for name, rows in splits.items()} == {
        "train": 2089,
        "val": 261,
        "test": 261,
    }
    rows = [row for part in splits.values() for row in part]
    labels = Counter(row["label"] for row in rows)
    assert len(labels) == 49 and labels["URTI"] == 179 and labels["Viral pharyngitis"] == 165
    assert labels["Ebola"] == labels["Bronchiolitis"] == 1
    train_labels = {row["label"] for row in splits["train"]}
    assert {"Ebola", "Bronchiolitis"} <= train_labels
    assert Counter(row["sex"] for row in rows) == {"F": 1398, "M": 1213}
    assert all(row["rationale"].startswith(f"The answers point to {row['label']}.") for row in rows)
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["rationale_constructed"] is True


@pytest.mark.data
def test_shared_output_is_byte_identical(shared_ddxplus: tuple[Path, Path], h) -> None:
    first, second = shared_ddxplus
    assert h.tree_bytes(first) == h.tree_bytes(second)
