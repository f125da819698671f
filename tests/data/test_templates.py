"""Question templates: the input text built from several columns, and one named error per
problem (malformed template, missing column, empty required field)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from reason2decide.data.choices import ChoiceColumns
from reason2decide.data.readers import ColumnMap, read_examples
from reason2decide.data.templates import TemplateField, parse_template
from reason2decide.errors import R2DError

TEMPLATE = "{complaint}. Vitals: {vitals}. History: {history}"
HEADER = ["id", "complaint", "vitals", "history", "label", "site"]
ROWS = [
    ["t1", "Chest pain", "HR 120", "smoker", "urgent", "north"],
    ["t2", "Sore throat", "HR 80", "none", "routine", "south"],
]


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def _error(path: Path, columns: ColumnMap) -> R2DError:
    with pytest.raises(R2DError) as info:
        read_examples(path, columns)
    return info.value


def test_template_builds_the_question_from_columns(tmp_path: Path) -> None:
    path = _csv(tmp_path / "triage.csv", HEADER, ROWS)
    examples = read_examples(path, ColumnMap(template=TEMPLATE))
    assert examples[0].question == "Chest pain. Vitals: HR 120. History: smoker"
    assert [e.label for e in examples] == ["urgent", "routine"]
    # the template's columns are consumed; the others stay
    assert examples[1].extra == {"site": "south"}


def test_template_renders_numbers_and_literal_braces(tmp_path: Path) -> None:
    rows = [{"age": 71, "temp": 38.5, "label": "x"}, {"age": 3, "temp": 36, "label": "y"}]
    columns = ColumnMap(template="{{age}} {age} years, temp {temp}")
    examples = read_examples(_jsonl(tmp_path / "d.jsonl", rows), columns)
    assert examples[0].question == "{age} 71 years, temp 38.5"


def test_column_names_with_spaces_and_dots(tmp_path: Path) -> None:
    rows = [{"chief complaint": "cough", "vitals.hr": 90, "label": "x"}]
    columns = ColumnMap(template="{ chief complaint } (HR {vitals.hr})")
    (example,) = read_examples(_jsonl(tmp_path / "d.jsonl", rows), columns)
    assert example.question == "cough (HR 90)"


def test_missing_template_column_csv_is_reported_at_the_header(tmp_path: Path) -> None:
    path = _csv(tmp_path / "t.csv", ["complaint", "vitals", "label"], [["a", "b", "c"]])
    err = _error(path, ColumnMap(template=TEMPLATE))
    assert (err.path, err.line, err.field) == (str(path), 1, "history")
    assert "no column named in the question template 'history'" in str(err)
    assert "'complaint', 'vitals', 'label'" in str(err)


def test_missing_template_column_jsonl_names_the_line(tmp_path: Path) -> None:
    rows = [
        {"complaint": "a", "vitals": "b", "history": "c", "label": "x"},
        {"complaint": "a", "vitals": "b", "label": "x"},
    ]
    err = _error(_jsonl(tmp_path / "t.jsonl", rows), ColumnMap(template=TEMPLATE))
    assert (err.line, err.field) == (2, "history")


def test_empty_required_field_names_line_and_column(tmp_path: Path) -> None:
    rows = [ROWS[0], ["t2", "Sore throat", "  ", "none", "routine", "south"]]
    path = _csv(tmp_path / "t.csv", HEADER, rows)
    err = _error(path, ColumnMap(template=TEMPLATE))
    assert (err.path, err.line, err.field) == (str(path), 3, "vitals")
    assert str(err).startswith(f"{path}:3: field 'vitals': empty 'vitals'")
    assert "{vitals:optional}" in str(err)


def test_optional_field_may_be_empty_but_not_missing(tmp_path: Path) -> None:
    rows = [
        {"complaint": "cough", "history": None, "label": "x"},
        {"complaint": "fever", "history": "asthma", "label": "y"},
    ]
    columns = ColumnMap(template="{complaint}. History: {history:optional}")
    examples = read_examples(_jsonl(tmp_path / "t.jsonl", rows), columns)
    assert [e.question for e in examples] == ["cough. History:", "fever. History: asthma"]
    err = _error(_jsonl(tmp_path / "u.jsonl", [{"complaint": "c", "label": "x"}]), columns)
    assert err.field == "history"


def test_template_that_renders_nothing_is_an_empty_question(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "t.jsonl", [{"note": "", "label": "x"}])
    err = _error(path, ColumnMap(template="{note:optional}"))
    assert (err.line, err.field) == (1, "question") and "empty question" in str(err)


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{complaint", "unbalanced braces"),
        ("complaint}", "unbalanced braces"),
        ("{} and {vitals}", "positional field"),
        ("{0}", "positional field"),
        ("{complaint!r}", "conversion '!r'"),
        ("{complaint:>20}", "format spec '>20'"),
        ("no fields at all", "names no column"),
    ],
)
def test_malformed_templates_are_named_errors(template: str, problem: str) -> None:
    with pytest.raises(R2DError) as info:
        ColumnMap(template=template)
    assert info.value.field == "question_template"
    assert repr(template) in str(info.value) and problem in str(info.value)


def test_parse_template_parts() -> None:
    template = parse_template("{a}: {b:optional} / {a}")
    assert template.parts == (
        TemplateField("a"),
        ": ",
        TemplateField("b", optional=True),
        " / ",
        TemplateField("a"),
    )
    assert template.columns == ("a", "b")
    assert template.render({"a": "x", "b": ""}) == "x:  / x"


def test_options_field_places_the_options(tmp_path: Path) -> None:
    rows = [{"stem": "Which?", "a": "x", "b": "y", "answer": "B", "site": "s"}]
    columns = ColumnMap(
        label="answer",
        template="Question: {stem}\nChoices:\n{options}\nAnswer:",
        choices=ChoiceColumns(columns=("a", "b")),
    )
    (example,) = read_examples(_jsonl(tmp_path / "t.jsonl", rows), columns)
    assert example.question == "Question: Which?\nChoices:\nA. x\nB. y\nAnswer:"
    assert example.label == "y" and example.extra == {"site": "s"}


def test_without_options_field_the_options_are_appended(tmp_path: Path) -> None:
    rows = [{"stem": "Which?", "age": 40, "a": "x", "b": "y", "answer": "x"}]
    columns = ColumnMap(
        label="answer", template="{stem} (age {age})", choices=ChoiceColumns(columns=("a", "b"))
    )
    (example,) = read_examples(_jsonl(tmp_path / "t.jsonl", rows), columns)
    assert example.question == "Which? (age 40)\n\nOptions:\nA. x\nB. y"


def test_options_field_without_choices_is_a_column(tmp_path: Path) -> None:
    rows = [{"stem": "Which?", "options": "x or y", "label": "x"}]
    (example,) = read_examples(
        _jsonl(tmp_path / "t.jsonl", rows), ColumnMap(template="{stem} {options}")
    )
    assert example.question == "Which? x or y" and example.choices is None
