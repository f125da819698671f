"""BioASQ yes/no: latest batch year as test, snippets in the input, ideal answers as rationale."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from reason2decide.data.sources import prepare
from reason2decide.errors import R2DError


def _question(qid: str, answer: object, ideal: list[str], body: str | None = None) -> dict:
    return {
        "id": qid,
        "type": "yesno",
        "body": body or f"Is {qid} true?",
        "exact_answer": answer,
        "ideal_answer": ideal,
        "snippets": [{"text": f"Snippet A of {qid}."}, {"text": f"Snippet A of {qid}. "}],
    }


@pytest.fixture
def raw(tmp_path: Path, h) -> Path:
    golden = tmp_path / "bioasq" / "golden"
    for year in (7, 8):
        for batch in (1, 2):
            questions = [
                _question(f"q{year}{batch}{i}", "yes" if i % 3 else "no", [f"Yes {i}.", "Also."])
                for i in range(6)
            ]
            questions.append({"id": f"f{year}{batch}", "type": "factoid", "body": "What?"})
            h.write_json(
                golden / f"Task{year}BGoldenEnriched" / f"{year}B{batch}_golden.json",
                {"questions": questions},
            )
    return tmp_path


def test_latest_year_is_test_and_text_is_built(raw: Path, tmp_path: Path, h) -> None:
    out = prepare("bioasq", tmp_path / "out", data_dir=raw)
    test = h.read_jsonl(out.files["test"])
    assert len(test) == 12 and {row["batch"] for row in test} == {"8B1", "8B2"}
    train, val = h.read_jsonl(out.files["train"]), h.read_jsonl(out.files["val"])
    assert len(val) == 1 and len(train) == 11
    assert all(row["year"] == 7 for row in train + val)
    row = test[0]
    assert row["question"] == f"Is {row['id']} true?\n\nSnippets:\n- Snippet A of {row['id']}."
    assert row["rationale"].startswith("Yes ") and "references" not in row
    assert out.metadata["counts"]["test_year"] == "8B"


def test_all_ideal_answers_as_references(raw: Path, tmp_path: Path, h) -> None:
    out = prepare("bioasq", tmp_path / "out", data_dir=raw, options={"ideal_answers": "all"})
    row = h.read_jsonl(out.files["test"])[0]
    assert row["references"] == [row["rationale"], "Also."]
    assert out.metadata["options"]["ideal_answers"] == "all"


def test_list_exact_answer_and_case_are_accepted(raw: Path, tmp_path: Path, h) -> None:
    path = raw / "bioasq" / "golden" / "Task7BGoldenEnriched" / "7B1_golden.json"
    content = json.loads(path.read_text())
    content["questions"][0]["exact_answer"] = ["Yes"]
    h.write_json(path, content)
    out = prepare("bioasq", tmp_path / "out", data_dir=raw)
    rows = h.read_jsonl(out.files["train"]) + h.read_jsonl(out.files["val"])
    assert {r["id"]: r["label"] for r in rows}["q710"] == "yes"


def test_bad_exact_answer_names_file_and_question(raw: Path, tmp_path: Path, h) -> None:
    path = raw / "bioasq" / "golden" / "Task8BGoldenEnriched" / "8B2_golden.json"
    content = json.loads(path.read_text())
    content["questions"][2]["exact_answer"] = "perhaps"
    h.write_json(path, content)
    with pytest.raises(R2DError, match=r"8B2_golden\.json: record 'q822': exact_answer"):
        prepare("bioasq", tmp_path / "out", data_dir=raw)


def test_missing_golden_files(tmp_path: Path) -> None:
    with pytest.raises(R2DError, match="missing raw files 'bioasq/golden/"):
        prepare("bioasq", tmp_path / "out", data_dir=tmp_path)


@pytest.fixture(scope="module")
def shared_bioasq(shared_data_dir: Path, tmp_path_factory, h) -> tuple[Path, Path]:
    h.require_files(shared_data_dir, "bioasq/golden/Task12BGoldenEnriched/12B1_golden.json")
    first = tmp_path_factory.mktemp("bioasq1")
    second = tmp_path_factory.mktemp("bioasq2")
    prepare("bioasq", first, data_dir=shared_data_dir)
    prepare("bioasq", second, data_dir=shared_data_dir)
    return first, second


@pytest.mark.data
def test_shared_counts(shared_bioasq: tuple[Path, Path], h) -> None:
    out, _ = shared_bioasq
    splits = {name: h.read_jsonl(out / f"{name}.jsonl") for name in ("train", "val", "test")}
    assert {name: len(rows) for name, rows in splits.items()} == {
        "train": 556,
        "val": 62,
        "test": 102,
    }
    rows = [row for part in splits.values() for row in part]
    assert Counter(row["label"] for row in rows) == {"yes": 461, "no": 259}
    assert {row["batch"][:-1] for row in splits["test"]} == {"12B"}
    assert all(row["year"] < 12 for row in splits["train"] + splits["val"])
    assert len({row["id"] for row in rows}) == 720
    assert all(row["rationale"] for row in rows)
    meta = json.loads((out / "dataset.json").read_text())
    assert len(meta["raw_files"]) == 29 and meta["cross_split_duplicates"] == []


@pytest.mark.data
def test_shared_output_is_byte_identical(shared_bioasq: tuple[Path, Path], h) -> None:
    first, second = shared_bioasq
    assert h.tree_bytes(first) == h.tree_bytes(second)
