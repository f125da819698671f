"""MedMCQA dev: options in the input, correct option text as label, rows without explanation."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from reason2decide.data.sources import prepare
from reason2decide.errors import R2DError


def _row(i: int, exp: str | None, subject: str = "Anatomy") -> dict:
    return {
        "id": f"m{i:03d}",
        "question": f"Which nerve {i}?",
        "opa": f"Ulnar {i}",
        "opb": "Radial",
        "opc": "Median",
        "opd": "Axillary",
        "cop": 1 + i % 4,
        "exp": exp,
        "subject_name": subject,
        "topic_name": None,
        "choice_type": "single",
    }


@pytest.fixture
def raw(tmp_path: Path, h) -> Path:
    rows = [
        _row(i, f"Because {i}." if i % 2 else None, "Anatomy" if i < 20 else "Surgery")
        for i in range(30)
    ]
    h.write_lines(tmp_path / "medmcqa" / "dev.json", rows)
    return tmp_path


def test_builds_input_label_and_flags_missing_explanations(raw: Path, tmp_path: Path, h) -> None:
    out = prepare("medmcqa", tmp_path / "out", data_dir=raw)
    rows = {r["id"]: r for name in ("train", "val", "test") for r in h.read_jsonl(out.files[name])}
    assert len(rows) == 30
    assert rows["m000"]["question"] == (
        "Which nerve 0?\nAnswer Choices:\nA. Ulnar 0\nB. Radial\nC. Median\nD. Axillary"
    )
    assert rows["m000"]["label"] == "Ulnar 0" and rows["m001"]["label"] == "Radial"
    assert rows["m000"]["rationale"] is None and rows["m000"]["has_rationale"] is False
    assert rows["m001"]["rationale"] == "Because 1." and rows["m001"]["has_rationale"] is True
    assert rows["m003"]["answer_letter"] == "D"
    sizes = {name: split["examples"] for name, split in out.metadata["splits"].items()}
    assert sizes == {"train": 24, "val": 3, "test": 3}
    assert out.metadata["counts"]["without_rationale"] == 15
    assert rows["m000"]["choices"] == ["Ulnar 0", "Radial", "Median", "Axillary"]
    assert out.metadata["label_set"] == "choices"
    assert out.metadata["counts"]["rows_with_repeated_option"] == 0


def test_a_repeated_option_is_dropped_and_a_row_without_two_options_left_out(
    raw: Path, tmp_path: Path, h
) -> None:
    rows = [_row(i, None) for i in range(30)]
    rows[1] = {**rows[1], "opc": "radial ", "cop": 3}  # the repeat of opb is the answer
    rows[2] = {**rows[2], "opa": "Radial", "opc": "Radial", "opd": "Radial"}
    h.write_lines(raw / "medmcqa" / "dev.json", rows)
    out = prepare("medmcqa", tmp_path / "out", data_dir=raw)
    found = {r["id"]: r for name in ("train", "val", "test") for r in h.read_jsonl(out.files[name])}
    assert found["m001"]["choices"] == ["Ulnar 1", "Radial", "Axillary"]
    assert found["m001"]["label"] == "Radial" and found["m001"]["answer_letter"] == "B"
    assert found["m001"]["question"].endswith("A. Ulnar 1\nB. Radial\nC. Axillary")
    assert "m002" not in found and len(found) == 29
    assert out.metadata["counts"]["rows_with_repeated_option"] == 1
    assert out.metadata["counts"]["rows_without_options"] == 1


def test_bad_cop_names_the_record(raw: Path, tmp_path: Path, h) -> None:
    h.write_lines(raw / "medmcqa" / "dev.json", [_row(0, None), {**_row(1, None), "cop": 5}])
    with pytest.raises(R2DError, match=r"dev\.json:2: record 'm001': 'cop' 5"):
        prepare("medmcqa", tmp_path / "out", data_dir=raw)
    h.write_lines(raw / "medmcqa" / "dev.json", [_row(0, None), {**_row(1, None), "opb": ""}])
    with pytest.raises(R2DError, match=r"dev\.json:2: record 'm001': the correct option 'opb'"):
        prepare("medmcqa", tmp_path / "out", data_dir=raw)


def test_a_raw_file_that_is_not_utf8_is_a_user_error(raw: Path, tmp_path: Path) -> None:
    # Regression: a bare UnicodeDecodeError traceback from `r2d data prepare medmcqa`.
    path = raw / "medmcqa" / "dev.json"
    path.write_bytes(path.read_bytes() + b'{"id": "caf\xe9"}\n')
    with pytest.raises(R2DError, match=r"dev\.json: not valid UTF-8 text"):
        prepare("medmcqa", tmp_path / "out", data_dir=raw)


@pytest.fixture(scope="module")
def shared_medmcqa(shared_data_dir: Path, tmp_path_factory, h) -> tuple[Path, Path]:
    h.require_files(shared_data_dir, "medmcqa/dev.json")
    first = tmp_path_factory.mktemp("medmcqa1")
    second = tmp_path_factory.mktemp("medmcqa2")
    prepare("medmcqa", first, data_dir=shared_data_dir)
    prepare("medmcqa", second, data_dir=shared_data_dir)
    return first, second


@pytest.mark.data
def test_shared_counts(shared_medmcqa: tuple[Path, Path], h) -> None:
    out, _ = shared_medmcqa
    splits = {name: h.read_jsonl(out / f"{name}.jsonl") for name in ("train", "val", "test")}
    assert {name: len(rows) for name, rows in splits.items()} == {
        "train": 3346,
        "val": 418,
        "test": 418,
    }
    rows = [row for part in splits.values() for row in part]
    assert sum(row["rationale"] is not None for row in rows) == 2205
    # letters as shown once repeated options are dropped
    assert Counter(row["answer_letter"] for row in rows) == {
        "A": 1347,
        "B": 1089,
        "C": 925,
        "D": 821,
    }
    assert len({row["id"] for row in rows}) == 4182
    # 21 raw rows repeat an option: 20 keep three options, one (four times the same) is left out
    assert Counter(len(row["choices"]) for row in rows) == {4: 4162, 3: 20}
    assert all(row["label"] in row["choices"] for row in rows)
    metadata = json.loads((out / "dataset.json").read_text())
    assert metadata["counts"]["rows_with_repeated_option"] == 20
    assert metadata["counts"]["rows_without_options"] == 1
    assert metadata["label_set"] == "choices"


@pytest.mark.data
def test_shared_output_is_byte_identical(shared_medmcqa: tuple[Path, Path], h) -> None:
    first, second = shared_medmcqa
    assert h.tree_bytes(first) == h.tree_bytes(second)


def test_only_with_rationale_keeps_each_splits_explained_rows(raw: Path, tmp_path: Path, h) -> None:
    full = prepare("medmcqa", tmp_path / "full", data_dir=raw)
    kept = prepare("medmcqa", tmp_path / "kept", data_dir=raw, only_with_rationale=True)
    for name in ("train", "val", "test"):
        everything = h.read_jsonl(full.files[name])
        rows = h.read_jsonl(kept.files[name])
        assert rows == [r for r in everything if r["rationale"]]  # same split, same order
        dropped = kept.metadata["without_rationale_dropped"][name]
        assert dropped == len(everything) - len(rows)
    assert sum(kept.metadata["without_rationale_dropped"].values()) == 15
    assert kept.metadata["options"]["only_with_rationale"] is True
    assert "only_with_rationale" not in full.metadata["options"]
    assert any("15 rows without a rationale left out" in n for n in kept.metadata["notes"])
