"""PubMedQA PQA-L: official test split, stratified train/val, errors, the shared raw files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from reason2decide.data.sources import prepare
from reason2decide.errors import R2DError


def _record(pmid: str, label: str) -> dict:
    return {
        "QUESTION": f"Does treatment {pmid} help?",
        "CONTEXTS": [f"Background of {pmid}.", f"Results of {pmid}."],
        "LABELS": ["BACKGROUND", "RESULTS"],
        "YEAR": "2001",
        "final_decision": label,
        "LONG_ANSWER": f"Treatment {pmid} helps somewhat.",
    }


@pytest.fixture
def raw(h, tmp_path: Path) -> Path:
    labels = ["yes"] * 12 + ["no"] * 6 + ["maybe"] * 2
    records = {str(1000 + i): _record(str(1000 + i), label) for i, label in enumerate(labels)}
    h.write_json(tmp_path / "pubmedqa" / "ori_pqal.json", records)
    truth = {pmid: r["final_decision"] for pmid, r in list(records.items())[::2]}
    h.write_json(tmp_path / "pubmedqa" / "test_ground_truth.json", truth)
    return tmp_path


def test_builds_question_label_rationale_and_official_test(h, raw: Path, tmp_path: Path) -> None:
    out = prepare("pubmedqa", tmp_path / "out", data_dir=raw)
    test = h.read_jsonl(out.files["test"])
    truth = json.loads((raw / "pubmedqa" / "test_ground_truth.json").read_text())
    assert sorted(row["id"] for row in test) == sorted(truth)
    row = test[0]
    assert row["question"] == (
        f"Does treatment {row['id']} help?\n\nContext:\n"
        f"BACKGROUND: Background of {row['id']}.\nRESULTS: Results of {row['id']}."
    )
    assert row["label"] == truth[row["id"]]
    assert row["rationale"] == f"Treatment {row['id']} helps somewhat."
    train, val = h.read_jsonl(out.files["train"]), h.read_jsonl(out.files["val"])
    assert len(train) + len(val) == 10
    assert not {r["id"] for r in train + val} & set(truth)
    meta = json.loads(out.files["dataset"].read_text())
    assert meta["splits"]["test"]["labels"] == {"yes": 6, "no": 3, "maybe": 1}
    assert [f["path"] for f in meta["raw_files"]] == [
        "pubmedqa/ori_pqal.json",
        "pubmedqa/test_ground_truth.json",
    ]
    assert all(len(f["sha256"]) == 64 for f in meta["raw_files"])
    assert meta["rationale_constructed"] is False


def test_mask_label_in_rationale(h, raw: Path, tmp_path: Path) -> None:
    records = json.loads((raw / "pubmedqa" / "ori_pqal.json").read_text())
    records["1001"]["LONG_ANSWER"] = "Yes, it helps; YES again but not yesterday."
    h.write_json(raw / "pubmedqa" / "ori_pqal.json", records)
    out = prepare("pubmedqa", tmp_path / "out", data_dir=raw, mask_label_in_rationale=True)
    rows = {r["id"]: r for name in ("train", "val", "test") for r in h.read_jsonl(out.files[name])}
    assert rows["1001"]["rationale"] == "[LABEL], it helps; [LABEL] again but not yesterday."
    meta = out.metadata
    assert meta["options"]["mask_label_in_rationale"] is True
    assert meta["masking"]["rationales_changed"] == 1
    assert all(split["label_in_rationale"] == 0 for split in meta["splits"].values())


def test_bad_record_names_file_and_record(h, raw: Path, tmp_path: Path) -> None:
    records = json.loads((raw / "pubmedqa" / "ori_pqal.json").read_text())
    records["1003"]["final_decision"] = "perhaps"
    h.write_json(raw / "pubmedqa" / "ori_pqal.json", records)
    with pytest.raises(R2DError, match=r"ori_pqal\.json: record '1003': final_decision"):
        prepare("pubmedqa", tmp_path / "out", data_dir=raw)


def test_test_id_missing_from_raw(h, raw: Path, tmp_path: Path) -> None:
    h.write_json(raw / "pubmedqa" / "test_ground_truth.json", {"999": "yes"})
    with pytest.raises(R2DError, match="record '999': test id not found"):
        prepare("pubmedqa", tmp_path / "out", data_dir=raw)


def test_missing_raw_file_is_named_with_its_place(raw: Path, tmp_path: Path) -> None:
    (raw / "pubmedqa" / "test_ground_truth.json").unlink()
    with pytest.raises(R2DError) as error:
        prepare("pubmedqa", tmp_path / "out", data_dir=raw)
    message = str(error.value)
    assert "missing raw file 'pubmedqa/test_ground_truth.json'" in message
    assert str(raw / "pubmedqa" / "test_ground_truth.json") in message


def test_invalid_json_is_reported_with_its_line(raw: Path, tmp_path: Path) -> None:
    (raw / "pubmedqa" / "ori_pqal.json").write_text('{\n"1": {\n', encoding="utf-8")
    with pytest.raises(R2DError, match=r"ori_pqal\.json:3: not valid JSON"):
        prepare("pubmedqa", tmp_path / "out", data_dir=raw)


@pytest.fixture(scope="module")
def shared_pubmedqa(h, shared_data_dir: Path, tmp_path_factory) -> tuple[Path, Path]:
    h.require_files(shared_data_dir, "pubmedqa/ori_pqal.json", "pubmedqa/test_ground_truth.json")
    first = tmp_path_factory.mktemp("pubmedqa1")
    second = tmp_path_factory.mktemp("pubmedqa2")
    prepare("pubmedqa", first, data_dir=shared_data_dir)
    prepare("pubmedqa", second, data_dir=shared_data_dir)
    return first, second


@pytest.mark.data
def test_shared_counts_and_official_test_split(
    h, shared_pubmedqa: tuple[Path, Path], shared_data_dir: Path
) -> None:
    out, _ = shared_pubmedqa
    splits = {name: h.read_jsonl(out / f"{name}.jsonl") for name in ("train", "val", "test")}
    assert {name: len(rows) for name, rows in splits.items()} == {
        "train": 450,
        "val": 50,
        "test": 500,
    }
    truth = json.loads((shared_data_dir / "pubmedqa" / "test_ground_truth.json").read_text())
    assert {row["id"] for row in splits["test"]} == set(truth)
    assert Counter(row["label"] for row in splits["test"]) == {"yes": 276, "no": 169, "maybe": 55}
    pool = Counter(row["label"] for row in splits["train"] + splits["val"])
    assert pool == {"yes": 276, "no": 169, "maybe": 55}
    assert Counter(row["label"] for row in splits["val"]) == {"yes": 28, "no": 17, "maybe": 5}
    ids = [row["id"] for rows in splits.values() for row in rows]
    assert len(ids) == len(set(ids)) == 1000
    meta = json.loads((out / "dataset.json").read_text())
    sha = {f["path"]: f["sha256"] for f in meta["raw_files"]}
    assert sha["pubmedqa/ori_pqal.json"].startswith("8b3276be")
    assert sha["pubmedqa/test_ground_truth.json"].startswith("939fe566")
    assert meta["cross_split_duplicates"] == []


@pytest.mark.data
def test_shared_output_is_byte_identical(h, shared_pubmedqa: tuple[Path, Path]) -> None:
    first, second = shared_pubmedqa
    assert h.tree_bytes(first) == h.tree_bytes(second)
