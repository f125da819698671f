"""MedReason (Reason2Decide-C files): val → train/val, test unchanged, the [LABEL] placeholder."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from reason2decide.data.sources import prepare
from reason2decide.errors import R2DError


def _row(i: int, placeholder: bool) -> dict:
    label = f"Drug {i}"
    rationale = "It is [LABEL], clearly." if placeholder else f"It is drug number {i}."
    return {
        "question": f"Which drug {i}? Answer Choices:\nA. Drug {i}\nB. Other",
        "label": label,
        "rationale": rationale,
    }


@pytest.fixture
def raw(tmp_path: Path, h) -> Path:
    h.write_lines(
        tmp_path / "medreason" / "r2dc_val.jsonl", [_row(i, i % 3 != 0) for i in range(20)]
    )
    with open(tmp_path / "medreason" / "r2dc_test.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["question", "label", "rationale"])
        writer.writeheader()
        for i in range(100, 106):
            writer.writerow(_row(i, i % 2 == 0))
    return tmp_path


def test_keep_is_the_default_and_splits_follow_the_files(raw: Path, tmp_path: Path, h) -> None:
    out = prepare("medreason", tmp_path / "out", data_dir=raw)
    train, val = h.read_jsonl(out.files["train"]), h.read_jsonl(out.files["val"])
    test = h.read_jsonl(out.files["test"])
    assert (len(train), len(val), len(test)) == (18, 2, 6)
    assert all(row["id"].startswith("medreason-val-") for row in train + val)
    assert [row["id"] for row in test] == [f"medreason-test-{i:05d}" for i in range(1, 7)]
    assert test[0]["question"] == "Which drug 100? Answer Choices:\nA. Drug 100\nB. Other"
    assert test[0]["rationale"] == "It is [LABEL], clearly."
    assert out.metadata["options"]["label_placeholder"] == "keep"
    assert out.metadata["counts"]["rationales_with_placeholder"] == 13 + 3
    assert out.metadata["label_set"] == "choices"
    assert test[0]["choices"] == ["Drug 100", "Other"]


def test_fill_and_drop(raw: Path, tmp_path: Path, h) -> None:
    filled = prepare(
        "medreason", tmp_path / "f", data_dir=raw, options={"label_placeholder": "fill"}
    )
    test = h.read_jsonl(filled.files["test"])
    assert test[0]["rationale"] == "It is Drug 100, clearly."
    assert all("[LABEL]" not in row["rationale"] for row in test)
    dropped = prepare(
        "medreason", tmp_path / "d", data_dir=raw, options={"label_placeholder": "drop"}
    )
    sizes = {name: split["examples"] for name, split in dropped.metadata["splits"].items()}
    assert sizes["train"] + sizes["val"] == 7 and sizes["test"] == 3


def test_malformed_line_names_file_and_line(raw: Path, h, tmp_path: Path) -> None:
    h.write_lines(raw / "medreason" / "r2dc_val.jsonl", [_row(0, False), '{"question": '])
    with pytest.raises(R2DError, match=r"r2dc_val\.jsonl:2: record 'line 2': not valid JSON"):
        prepare("medreason", tmp_path / "out", data_dir=raw)


def test_empty_label_names_the_record(raw: Path, h, tmp_path: Path) -> None:
    rows = [_row(0, False), {**_row(1, False), "label": " "}]
    h.write_lines(raw / "medreason" / "r2dc_val.jsonl", rows)
    with pytest.raises(R2DError, match="record 'medreason-val-00002': empty question or label"):
        prepare("medreason", tmp_path / "out", data_dir=raw)


@pytest.fixture(scope="module")
def shared_medreason(shared_data_dir: Path, tmp_path_factory, h) -> tuple[Path, Path]:
    h.require_files(shared_data_dir, "medreason/r2dc_val.jsonl", "medreason/r2dc_test.csv")
    first = tmp_path_factory.mktemp("medreason1")
    second = tmp_path_factory.mktemp("medreason2")
    prepare("medreason", first, data_dir=shared_data_dir)
    prepare("medreason", second, data_dir=shared_data_dir)
    return first, second


@pytest.mark.data
def test_shared_counts(shared_medreason: tuple[Path, Path], h) -> None:
    out, _ = shared_medreason
    splits = {name: h.read_jsonl(out / f"{name}.jsonl") for name in ("train", "val", "test")}
    assert {name: len(rows) for name, rows in splits.items()} == {
        "train": 1354,
        "val": 150,
        "test": 1503,  # one row's four options are all 'image_question': left out
    }
    placeholder = {
        name: sum("[LABEL]" in r["rationale"] for r in rows) for name, rows in splits.items()
    }
    assert placeholder["train"] + placeholder["val"] == 1032 and placeholder["test"] == 1031
    assert len({r["label"] for r in splits["test"]}) == 1452
    ids = [row["id"] for rows in splits.values() for row in rows]
    assert len(ids) == len(set(ids)) == 3007
    rows = [row for part in splits.values() for row in part]
    assert all(row["label"] in row["choices"] for row in rows)
    assert Counter(len(row["choices"]) for row in rows) == {4: 3000, 3: 6, 2: 1}


@pytest.mark.data
def test_shared_drop_counts(shared_data_dir: Path, tmp_path: Path, h) -> None:
    h.require_files(shared_data_dir, "medreason/r2dc_val.jsonl", "medreason/r2dc_test.csv")
    out = prepare(
        "medreason", tmp_path, data_dir=shared_data_dir, options={"label_placeholder": "drop"}
    )
    sizes = {name: split["examples"] for name, split in out.metadata["splits"].items()}
    assert sizes["train"] + sizes["val"] == 1504 - 1032 and sizes["test"] == 1504 - 1031 - 1


@pytest.mark.data
def test_shared_output_is_byte_identical(shared_medreason: tuple[Path, Path], h) -> None:
    first, second = shared_medreason
    assert h.tree_bytes(first) == h.tree_bytes(second)


def test_inline_options_are_parsed_repeats_dropped_and_the_answer_kept_as_labelled() -> None:
    from reason2decide.data.sources.medreason import parse_choices

    inline = "Stem? Answer Choices: A. Iron. B. Zinc C. iron D. Copper"
    # 'Iron.' names the answer 'Iron' up to the final period and is written as the label; the
    # repeat 'iron' is dropped
    assert parse_choices(inline, "Iron") == ("Iron", "Zinc", "Copper")
    lines = "Stem?. Answer Choices:\nA. Tuberculosis\nB. Viral meningitis.\nC. Other"
    assert parse_choices(lines, "Viral meningitis") == ("Tuberculosis", "Viral meningitis", "Other")
    assert parse_choices("Stem? Answer Choices: A. x B. x", "x") is None
    assert parse_choices("Stem without options", "x") is None
    assert parse_choices("Stem? Answer Choices: A. x B. y", "z") is None


def test_a_row_without_answerable_options_is_left_out_and_counted(raw: Path, tmp_path: Path, h):
    rows = [_row(i, False) for i in range(20)]
    rows[3] = {**rows[3], "question": "Q? Answer Choices: A. img B. img", "label": "img"}
    h.write_lines(raw / "medreason" / "r2dc_val.jsonl", rows)
    out = prepare("medreason", tmp_path / "out", data_dir=raw)
    assert out.metadata["counts"]["rows_without_options"] == 1
    sizes = {name: split["examples"] for name, split in out.metadata["splits"].items()}
    assert sizes["train"] + sizes["val"] == 19
