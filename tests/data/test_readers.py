"""Readers: every format, column mapping, extra columns, and one clear error per problem."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reason2decide.data.example import Example
from reason2decide.data.fingerprint import fingerprint
from reason2decide.data.readers import ColumnMap, read_examples, write_examples
from reason2decide.errors import R2DError

ROWS = [
    {"id": "a1", "question": "Is it raining?", "label": "yes", "rationale": "Clouds.", "n": 1},
    {"id": "a2", "question": "Is it sunny?", "label": "no", "rationale": "Night.", "n": 2},
    {"id": "a3", "question": "Is it cold?", "label": "maybe", "rationale": "Wind.", "n": 3},
]


def _jsonl(path: Path, rows: list[dict] | list[str]) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _csv(path: Path, header: list[str], rows: list[list[object]], delimiter: str = ",") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _parquet(path: Path, columns: dict[str, list]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def _error(path: Path, **kwargs) -> R2DError:
    with pytest.raises(R2DError) as info:
        read_examples(path, **kwargs)
    return info.value


# --- round trips ------------------------------------------------------------------------------


def test_jsonl_reads_standard_fields_and_keeps_extra_columns(tmp_path: Path) -> None:
    examples = read_examples(_jsonl(tmp_path / "d.jsonl", ROWS))
    assert [e.id for e in examples] == ["a1", "a2", "a3"]
    assert [e.label for e in examples] == ["yes", "no", "maybe"]
    assert examples[1].rationale == "Night."
    assert examples[2].extra == {"n": 3}


def test_jsonl_skips_blank_lines_and_strips_values(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "d.jsonl",
        ["", json.dumps({"question": "  Q1 ", "label": " yes\n"}), "   ", json.dumps(ROWS[1])],
    )
    examples = read_examples(path)
    assert [e.question for e in examples] == ["Q1", "Is it sunny?"]
    assert examples[0].label == "yes"
    assert examples[0].rationale is None


def test_ids_are_generated_from_stem_and_row_when_absent(tmp_path: Path) -> None:
    rows = [{"question": "q1", "label": "x"}, {"question": "q2", "label": "y"}]
    examples = read_examples(_jsonl(tmp_path / "cases.jsonl", rows))
    assert [e.id for e in examples] == ["cases-1", "cases-2"]


def test_numeric_ids_and_labels_become_strings(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "d.jsonl", [{"id": 7, "question": "q", "label": 1}])
    (example,) = read_examples(path)
    assert example.id == "7"
    assert example.label == "1"


def test_csv_with_column_mapping_keeps_other_columns(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "d.csv",
        ["pmid", "text", "answer", "why", "llm_rationale"],
        [["11", "Q one", "yes", "gold one", "llm one"], ["12", "Q two", "no", "gold two", "llm 2"]],
    )
    columns = ColumnMap(question="text", label="answer", rationale="why", id="pmid")
    examples = read_examples(path, columns)
    assert examples[0] == Example(id="11", question="Q one", label="yes", rationale="gold one")
    assert examples[1].extra == {"llm_rationale": "llm 2"}


def test_tsv_is_read_with_tabs(tmp_path: Path) -> None:
    path = _csv(tmp_path / "d.tsv", ["question", "label"], [["a, b", "yes"]], delimiter="\t")
    (example,) = read_examples(path)
    assert example.question == "a, b"


def test_csv_multiline_field_is_one_row(tmp_path: Path) -> None:
    path = _csv(tmp_path / "d.csv", ["question", "label"], [["line one\nline two", "yes"]])
    (example,) = read_examples(path)
    assert example.question == "line one\nline two"


def test_parquet_with_column_mapping(tmp_path: Path) -> None:
    path = _parquet(
        tmp_path / "d.parquet",
        {"q": ["Q1", "Q2"], "y": ["a", "b"], "r": ["R1", None], "score": [0.5, 0.25]},
    )
    examples = read_examples(path, ColumnMap(question="q", label="y", rationale="r", id=None))
    assert [e.id for e in examples] == ["d-1", "d-2"]
    assert examples[0].rationale == "R1"
    assert examples[1].rationale is None
    assert examples[1].extra == {"score": 0.25}


def test_remapped_rationale_keeps_the_other_rationale_column(tmp_path: Path) -> None:
    rows = [{"question": "q", "label": "y", "rationale": "clinician", "llm_rationale": "llm"}]
    path = _jsonl(tmp_path / "d.jsonl", rows)
    (example,) = read_examples(path, ColumnMap(rationale="llm_rationale"))
    assert example.rationale == "llm"
    assert example.extra == {"original_rationale": "clinician"}
    out = tmp_path / "out.jsonl"
    write_examples(out, [example])
    assert json.loads(out.read_text())["original_rationale"] == "clinician"


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_write_then_read_round_trips(tmp_path: Path, suffix: str) -> None:
    source = tmp_path / f"in{suffix}"
    if suffix == ".jsonl":
        _jsonl(source, ROWS)
    elif suffix == ".csv":
        _csv(source, list(ROWS[0]), [list(row.values()) for row in ROWS])
    else:
        _parquet(source, {key: [row[key] for row in ROWS] for key in ROWS[0]})
    examples = read_examples(source)
    out = tmp_path / "out.jsonl"
    assert write_examples(out, examples) == len(ROWS)
    again = read_examples(out)
    assert again == examples
    assert [e.extra for e in again] == [e.extra for e in examples]
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert list(first)[:4] == ["id", "question", "label", "rationale"]


def test_json_array_file_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(ROWS[:2]), encoding="utf-8")
    assert [e.id for e in read_examples(path)] == ["a1", "a2"]


def test_unlabelled_file_reads_when_labels_not_required(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "d.jsonl", [{"question": "q1"}, {"question": "q2", "label": ""}])
    assert [e.label for e in read_examples(path, require_label=False)] == ["", ""]


# --- errors -----------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    err = _error(tmp_path / "nope.jsonl")
    assert "nope.jsonl" in str(err) and "not found" in str(err)


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "d.xlsx"
    path.write_text("x")
    err = _error(path)
    assert "d.xlsx" in str(err) and ".jsonl" in str(err)


def test_invalid_json_line_names_line(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "d.jsonl", [ROWS[0], "", '{"question": "q", "label": }'])
    err = _error(path)
    assert err.path == str(path) and err.line == 3
    assert f"{path}:3:" in str(err) and "not valid JSON" in str(err)


def test_non_object_line_names_line(tmp_path: Path) -> None:
    err = _error(_jsonl(tmp_path / "d.jsonl", [ROWS[0], "[1, 2]"]))
    assert err.line == 2 and "JSON object" in str(err)


def test_invalid_utf8_names_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(json.dumps(ROWS[0]).encode() + b'\n{"question": "\xff", "label": "x"}\n')
    err = _error(path)
    assert err.line == 2 and "UTF-8" in str(err)


def test_missing_column_jsonl_lists_columns_and_flags(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "d.jsonl", [ROWS[0], {"text": "q", "label": "y"}])
    err = _error(path)
    assert err.line == 2 and err.field == "question"
    assert "'text'" in str(err) and "--question-col" in str(err)


def test_missing_column_csv_reported_at_header(tmp_path: Path) -> None:
    path = _csv(tmp_path / "d.csv", ["question", "answer"], [["q", "y"]])
    err = _error(path)
    assert err.line == 1 and err.field == "label"
    assert "'answer'" in str(err) and "--label-col" in str(err)


def test_missing_column_parquet(tmp_path: Path) -> None:
    err = _error(_parquet(tmp_path / "d.parquet", {"q": ["a"], "label": ["y"]}))
    assert err.path.endswith("d.parquet") and err.field == "question" and "'q'" in str(err)


def test_explicitly_named_columns_must_exist(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "d.jsonl", [{"question": "q", "label": "y"}])
    assert _error(path, columns=ColumnMap(id="pmid")).field == "pmid"
    assert _error(path, columns=ColumnMap(rationale="why")).field == "why"


def test_empty_question_names_line_and_field(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "d.jsonl", [ROWS[0], ROWS[1], {"question": "  ", "label": "y"}])
    err = _error(path)
    assert (err.line, err.field) == (3, "question") and "empty question" in str(err)


def test_null_question_is_empty(tmp_path: Path) -> None:
    err = _error(_jsonl(tmp_path / "d.jsonl", [{"question": None, "label": "y"}]))
    assert (err.line, err.field) == (1, "question")


def test_empty_label_csv_names_file_line(tmp_path: Path) -> None:
    path = _csv(tmp_path / "d.csv", ["question", "label"], [["q1", "a"], ["q2", "b"], ["q3", ""]])
    err = _error(path)
    assert (err.line, err.field) == (4, "label")
    assert str(err).startswith(f"{path}:4: field 'label'")


def test_csv_line_counts_multiline_rows(tmp_path: Path) -> None:
    path = _csv(tmp_path / "d.csv", ["question", "label"], [["a\nb\nc", "x"], ["q", ""]])
    err = _error(path)
    assert err.line == 5  # header 1, first row lines 2-4


def test_csv_wrong_field_count(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("question,label\nq1,yes\nq2,no,extra\n", encoding="utf-8")
    err = _error(path)
    assert err.line == 3 and "3 fields" in str(err)


def test_empty_label_parquet_names_row_index(tmp_path: Path) -> None:
    err = _error(_parquet(tmp_path / "d.parquet", {"question": ["a", "b"], "label": ["x", None]}))
    assert (err.line, err.field) == (1, "label") and "row index 1" in str(err)


def test_rationale_required(tmp_path: Path) -> None:
    rows = [ROWS[0], {"question": "q", "label": "y", "rationale": ""}]
    path = _jsonl(tmp_path / "d.jsonl", rows)
    assert read_examples(path)[1].rationale is None
    err = _error(path, require_rationale=True)
    assert (err.line, err.field) == (2, "rationale")


def test_rationale_column_required(tmp_path: Path) -> None:
    path = _csv(tmp_path / "d.csv", ["question", "label"], [["q", "y"]])
    err = _error(path, require_rationale=True)
    assert err.field == "rationale" and err.line == 1


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "d.jsonl", [ROWS[0], ROWS[1], {**ROWS[2], "id": "a1"}])
    err = _error(path)
    assert (err.line, err.field) == (3, "id") and "'a1'" in str(err) and "line 1" in str(err)


@pytest.mark.parametrize(
    ("name", "content"), [("d.jsonl", "\n\n  \n"), ("d.csv", "question,label\n"), ("d.csv", "")]
)
def test_empty_file(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    err = _error(path)
    assert err.path == str(path)
    assert "empty" in str(err) or "no examples" in str(err)


def test_first_problem_is_reported(tmp_path: Path) -> None:
    rows = [ROWS[0], {"question": "", "label": ""}, {"question": "q", "label": ""}]
    err = _error(_jsonl(tmp_path / "d.jsonl", rows))
    assert (err.line, err.field) == (2, "question")


# --- fingerprint ------------------------------------------------------------------------------


def test_fingerprint_changes_with_content(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "d.jsonl", ROWS)
    first = fingerprint(path)
    assert first["path"] == str(path.resolve())
    assert first["bytes"] == path.stat().st_size and first["rows"] == 3
    assert len(first["sha256"]) == 64
    _jsonl(path, ROWS[:2])
    second = fingerprint(path)
    assert second["rows"] == 2 and second["sha256"] != first["sha256"]


def test_fingerprint_rows_for_csv_and_parquet(tmp_path: Path) -> None:
    csv_path = _csv(tmp_path / "d.csv", ["question", "label"], [["a\nb", "x"], ["c", "y"]])
    assert fingerprint(csv_path)["rows"] == 2
    pq_path = _parquet(tmp_path / "d.parquet", {"question": ["a", "b", "c"]})
    assert fingerprint(pq_path)["rows"] == 3


def test_fingerprint_without_rows_for_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "d.bin"
    path.write_bytes(b"\x00\x01")
    assert "rows" not in fingerprint(path)
    with pytest.raises(R2DError):
        fingerprint(tmp_path / "missing.jsonl")
