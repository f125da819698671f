"""Multiple-choice cases: options from columns or one list column, answers as text, letter or
index, one named error per problem, the rendering of the options and the round trip."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reason2decide.data.choices import (
    PREPARED_CHOICES,
    ChoiceColumns,
    answer_position,
    append_options,
    letter,
    option_index,
    option_letter,
    render_options,
)
from reason2decide.data.example import Example
from reason2decide.data.readers import ColumnMap, read_examples, write_examples
from reason2decide.errors import R2DError

OPTION_COLS = ("opa", "opb", "opc", "opd")
CASES = [
    ("Drug for AF?", ["Aspirin", "Warfarin", "Insulin", "Heparin"], 1),
    ("Organ of bile?", ["Liver", "Lung", "Kidney", "Heart"], 0),
    ("Vitamin for scurvy?", ["A", "B12", "C", "D"], 2),
    ("Bone of the thigh?", ["Tibia", "Radius", "Ulna", "Femur"], 3),
]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _column_rows(answer: str = "index0") -> list[dict]:
    """The CASES as MedMCQA-style rows: one column per option, the answer in ``cop``."""
    rows = []
    for number, (question, options, right) in enumerate(CASES, start=1):
        cop: object = {
            "index0": right,
            "index1": right + 1,
            "letter": "ABCD"[right],
            "text": options[right],
        }[answer]
        rows.append(
            {
                "id": f"c{number}",
                "question": question,
                "cop": cop,
                **dict(zip(OPTION_COLS, options, strict=True)),
            }
        )
    return rows


def _cols(answer_format: str = "auto", **kwargs: object) -> ColumnMap:
    return ColumnMap(
        label="cop",
        choices=ChoiceColumns(columns=OPTION_COLS, answer_format=answer_format),
        **kwargs,  # type: ignore[arg-type]
    )


def _error(path: Path, columns: ColumnMap, **kwargs: object) -> R2DError:
    with pytest.raises(R2DError) as info:
        read_examples(path, columns, **kwargs)  # type: ignore[arg-type]
    return info.value


def _gold() -> list[str]:
    return [options[right] for _, options, right in CASES]


# --- where the options come from --------------------------------------------------------------


def test_options_from_columns_become_choices_and_are_shown_in_the_question(tmp_path: Path) -> None:
    rows = _column_rows("index0")
    rows[0]["subject"] = "cardiology"
    examples = read_examples(_jsonl(tmp_path / "mc.jsonl", rows), _cols())
    assert [e.label for e in examples] == _gold()
    assert examples[0].choices == ("Aspirin", "Warfarin", "Insulin", "Heparin")
    assert examples[0].question == (
        "Drug for AF?\n\nOptions:\nA. Aspirin\nB. Warfarin\nC. Insulin\nD. Heparin"
    )
    # option and answer columns are consumed; other columns stay
    assert examples[0].extra == {"subject": "cardiology"}


def test_empty_option_is_dropped_but_letters_count_the_source_columns(tmp_path: Path) -> None:
    rows = [
        {"question": "q1", "opa": "X", "opb": "", "opc": "Y", "opd": None, "cop": "C"},
        {"question": "q2", "opa": "P", "opb": "Q", "opc": "R", "opd": "S", "cop": "A"},
    ]
    first, _ = read_examples(_jsonl(tmp_path / "mc.jsonl", rows), _cols("letter"))
    assert first.choices == ("X", "Y")
    assert first.label == "Y"  # source letter C, shown to the model as B
    assert first.question.endswith("Options:\nA. X\nB. Y")


def test_options_from_a_list_column_jsonl_and_parquet(tmp_path: Path) -> None:
    rows = [
        {"question": q, "options": options, "answer": options[right]} for q, options, right in CASES
    ]
    columns = ColumnMap(label="answer", choices=ChoiceColumns(column="options"))
    from_jsonl = read_examples(_jsonl(tmp_path / "mc.jsonl", rows), columns)
    table = pa.table({key: [row[key] for row in rows] for key in rows[0]})
    pq.write_table(table, tmp_path / "mc.parquet")
    from_parquet = read_examples(tmp_path / "mc.parquet", columns)
    for examples in (from_jsonl, from_parquet):
        assert [e.label for e in examples] == _gold()
        assert examples[2].choices == ("A", "B12", "C", "D")


def test_options_from_a_delimited_csv_string(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "mc.csv",
        ["question", "options", "answer"],
        [[q, " | ".join(options), "ABCD"[right]] for q, options, right in CASES],
    )
    columns = ColumnMap(label="answer", choices=ChoiceColumns(column="options", sep="|"))
    examples = read_examples(path, columns)
    assert [e.label for e in examples] == _gold()
    assert examples[3].choices == ("Tibia", "Radius", "Ulna", "Femur")


def test_csv_options_string_without_separator_is_a_named_error_unless_json(tmp_path: Path) -> None:
    columns = ColumnMap(label="answer", choices=ChoiceColumns(column="options"))
    listed = _csv(
        tmp_path / "ok.csv", ["question", "options", "answer"], [["q", '["x", "y"]', "y"]]
    )
    assert read_examples(listed, columns)[0].choices == ("x", "y")
    path = _csv(
        tmp_path / "mc.csv",
        ["question", "options", "answer"],
        [["q1", '["x", "y"]', "x"], ["q2", "x; y", "x"]],
    )
    err = _error(path, columns)
    assert (err.path, err.line, err.field) == (str(path), 3, "options")
    assert "--choices-sep" in str(err)


def test_options_keyed_by_letter_medqa_style(tmp_path: Path) -> None:
    rows = [{"question": "q", "options": {"A": "x", "B": "y", "C": "z"}, "answer_idx": "B"}]
    columns = ColumnMap(label="answer_idx", choices=ChoiceColumns(column="options"))
    (example,) = read_examples(_jsonl(tmp_path / "mc.jsonl", rows), columns)
    assert (example.choices, example.label) == (("x", "y", "z"), "y")


# --- answers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["text", "letter", "index0", "index1"])
def test_answer_format_is_detected_per_file(tmp_path: Path, answer: str) -> None:
    path = _jsonl(tmp_path / "mc.jsonl", _column_rows(answer))
    assert [e.label for e in read_examples(path, _cols())] == _gold()
    assert [e.label for e in read_examples(path, _cols(answer))] == _gold()


def test_medmcqa_cop_is_read_0_or_1_based_by_what_the_file_holds(tmp_path: Path) -> None:
    # the same answers, as the HF release (0-3) and as the original release (1-4)
    zero = read_examples(_jsonl(tmp_path / "hf.jsonl", _column_rows("index0")), _cols())
    one = read_examples(_jsonl(tmp_path / "orig.jsonl", _column_rows("index1")), _cols())
    assert [e.label for e in zero] == [e.label for e in one] == _gold()


def test_text_answers_match_up_to_case_and_spaces(tmp_path: Path) -> None:
    rows = _column_rows("text")
    rows[0]["cop"] = "  warfarin "
    rows[1]["cop"] = "LIVER"
    examples = read_examples(_jsonl(tmp_path / "mc.jsonl", rows), _cols("text"))
    assert [e.label for e in examples][:2] == ["Warfarin", "Liver"]


def test_letters_in_other_spellings(tmp_path: Path) -> None:
    rows = _column_rows("letter")
    rows[0]["cop"], rows[1]["cop"], rows[2]["cop"] = "b", "A.", "(C)"
    assert [e.label for e in read_examples(_jsonl(tmp_path / "m.jsonl", rows), _cols())] == _gold()


def test_ambiguous_file_asks_for_the_answer_format(tmp_path: Path) -> None:
    # answers 1, 2, 1, 2 of four options: 0-based and 1-based both fit every row
    rows = _column_rows("index0")
    for row, cop in zip(rows, [1, 2, 1, 2], strict=True):
        row["cop"] = cop
    path = _jsonl(tmp_path / "mc.jsonl", rows)
    err = _error(path, _cols())
    assert err.path == str(path) and err.field == "cop"
    assert "0-based" in str(err) and "1-based" in str(err) and "--answer-format" in str(err)
    assert read_examples(path, _cols("index1"))[0].label == "Aspirin"


def test_formats_that_fit_and_agree_are_no_ambiguity(tmp_path: Path) -> None:
    # "C" is both the text and the letter of the third option
    rows = [{"question": "q", "opa": "A", "opb": "B12", "opc": "C", "opd": "D", "cop": "C"}]
    (example,) = read_examples(_jsonl(tmp_path / "mc.jsonl", rows), _cols())
    assert example.label == "C"


def test_answer_matching_no_option_names_the_row(tmp_path: Path) -> None:
    rows = _column_rows("text")
    rows[2]["cop"] = "Vitamin K"
    path = _jsonl(tmp_path / "mc.jsonl", rows)
    for answer_format in ("text", "auto"):
        err = _error(path, _cols(answer_format))
        assert (err.path, err.line, err.field) == (str(path), 3, "cop")
        assert "'Vitamin K' matches no option" in str(err) and "B. B12" in str(err)
    assert str(err).startswith(f"{path}:3: field 'cop'")


def test_answer_out_of_range_names_the_row(tmp_path: Path) -> None:
    rows = _column_rows("letter")
    rows[3]["cop"] = "E"
    err = _error(_jsonl(tmp_path / "mc.jsonl", rows), _cols())
    assert (err.line, err.field) == (4, "cop") and "'E' matches no option" in str(err)
    assert "letters, as in 3 of 4 rows" in str(err)


def test_answer_naming_an_empty_option_is_an_error(tmp_path: Path) -> None:
    rows = _column_rows("letter")
    rows[1]["opc"] = ""
    rows[1]["cop"] = "C"
    err = _error(_jsonl(tmp_path / "mc.jsonl", rows), _cols("letter"))
    assert (err.line, err.field) == (2, "cop") and "option C, which is empty" in str(err)


def test_unlabelled_cases_with_options_read_when_labels_not_required(tmp_path: Path) -> None:
    rows = _column_rows("letter")
    for row in rows:
        row["cop"] = None
    examples = read_examples(_jsonl(tmp_path / "mc.jsonl", rows), _cols(), require_label=False)
    assert [e.label for e in examples] == ["", "", "", ""]
    assert examples[0].choices == ("Aspirin", "Warfarin", "Insulin", "Heparin")


# --- bad options ------------------------------------------------------------------------------


def test_missing_option_column_jsonl_names_line_and_column(tmp_path: Path) -> None:
    rows = _column_rows()
    del rows[1]["opd"]
    path = _jsonl(tmp_path / "mc.jsonl", rows)
    err = _error(path, _cols())
    assert (err.path, err.line, err.field) == (str(path), 2, "opd")
    assert "no option column 'opd'" in str(err)


def test_missing_option_column_csv_is_reported_at_the_header(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "mc.csv", ["question", "opa", "opb", "opc", "cop"], [["q", "x", "y", "z", "A"]]
    )
    err = _error(path, _cols())
    assert (err.line, err.field) == (1, "opd") and "--choices-cols" in str(err)


def test_missing_options_column(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "mc.jsonl", [{"question": "q", "answer": "x"}])
    err = _error(path, ColumnMap(label="answer", choices=ChoiceColumns(column="options")))
    assert (err.line, err.field) == (1, "options") and "no options column" in str(err)


def test_duplicate_option_names_line_and_both_columns(tmp_path: Path) -> None:
    rows = _column_rows()
    rows[2]["opd"] = " c "
    path = _jsonl(tmp_path / "mc.jsonl", rows)
    err = _error(path, _cols())
    assert (err.path, err.line, err.field) == (str(path), 3, "opd")
    assert "'opc' and option column 'opd' are the same option" in str(err)


def test_duplicate_option_in_a_list(tmp_path: Path) -> None:
    rows = [{"question": "q", "options": ["x", "y", "x"], "answer": "y"}]
    columns = ColumnMap(label="answer", choices=ChoiceColumns(column="options"))
    err = _error(_jsonl(tmp_path / "mc.jsonl", rows), columns)
    assert (err.line, err.field) == (1, "options") and "option 1 and option 3" in str(err)


def test_fewer_than_two_options_is_an_error(tmp_path: Path) -> None:
    rows = _column_rows()
    rows[0].update(opb="", opc=None, opd=" ")
    err = _error(_jsonl(tmp_path / "mc.jsonl", rows), _cols())
    assert err.line == 1 and "at least two" in str(err)


def test_parquet_errors_name_the_row_index(tmp_path: Path) -> None:
    rows = _column_rows("letter")
    rows[1]["cop"] = "Z"
    pq.write_table(
        pa.table({key: [row[key] for row in rows] for key in rows[0]}), tmp_path / "m.parquet"
    )
    err = _error(tmp_path / "m.parquet", _cols("letter"))
    assert err.line == 1 and "row index 1" in str(err)


# --- the setting ------------------------------------------------------------------------------


def test_choice_setting_is_checked_when_made() -> None:
    with pytest.raises(R2DError, match="exactly one of"):
        ChoiceColumns()
    with pytest.raises(R2DError, match="exactly one of"):
        ChoiceColumns(columns=("a", "b"), column="options")
    with pytest.raises(R2DError, match="unknown answer format"):
        ChoiceColumns(column="options", answer_format="number")
    with pytest.raises(R2DError, match="repeat"):
        ChoiceColumns(columns=("a", "a"))
    with pytest.raises(R2DError, match="empty options column"):
        ChoiceColumns(column=" ")
    with pytest.raises(R2DError, match="--choices-sep"):
        ChoiceColumns(columns=("a", "b"), sep="|")
    with pytest.raises(R2DError, match="option column"):
        ColumnMap(label="opd", choices=ChoiceColumns(columns=OPTION_COLS))


def test_from_flags_reads_the_cli_spelling() -> None:
    spec = ChoiceColumns.from_flags("opa, opb,opc,opd", answer_format="index1")
    assert spec == ChoiceColumns(columns=OPTION_COLS, answer_format="index1")
    assert ChoiceColumns.from_flags(choices_col="o", choices_sep=";").sep == ";"
    assert ChoiceColumns.from_flags() is PREPARED_CHOICES
    with pytest.raises(R2DError, match="--answer-format without"):
        ChoiceColumns.from_flags(answer_format="letter")


def test_column_map_round_trips_through_a_dict() -> None:
    columns = ColumnMap(
        label="cop",
        template="{stem} ({subject})",
        choices=ChoiceColumns(columns=OPTION_COLS, answer_format="index1"),
    )
    record = json.loads(json.dumps(columns.to_dict()))
    assert ColumnMap.from_dict(record) == columns
    assert ColumnMap.from_dict(ColumnMap().to_dict()) == ColumnMap()
    assert ColumnMap.from_dict(ColumnMap(choices=None).to_dict()).choices is None


# --- round trip of prepared files -------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_examples_with_choices_round_trip_through_the_standard_reader(
    tmp_path: Path, suffix: str
) -> None:
    rows = _column_rows("letter")
    source = tmp_path / f"mc{suffix}"
    if suffix == ".jsonl":
        _jsonl(source, rows)
    else:
        _csv(source, list(rows[0]), [list(row.values()) for row in rows])
    examples = read_examples(source, _cols())
    out = tmp_path / "prepared.jsonl"
    write_examples(out, examples)
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert list(first)[:5] == ["id", "question", "label", "rationale", "choices"]
    assert first["choices"] == ["Aspirin", "Warfarin", "Insulin", "Heparin"]
    again = read_examples(out)  # the default mapping, no choice flags
    assert again == examples
    assert again[0].question.count("Options:") == 1  # not shown twice
    assert [e.choices for e in again] == [e.choices for e in examples]


def test_prepared_file_mixes_cases_with_and_without_choices(tmp_path: Path) -> None:
    examples = [
        Example(id="1", question="q1", label="yes"),
        Example(id="2", question="q2\n\nOptions:\nA. x\nB. y", label="y", choices=("x", "y")),
    ]
    write_examples(tmp_path / "p.jsonl", examples)
    assert "choices" not in json.loads((tmp_path / "p.jsonl").read_text().splitlines()[0])
    assert read_examples(tmp_path / "p.jsonl") == examples


def test_prepared_choices_with_letter_labels_say_how_to_read_them(tmp_path: Path) -> None:
    rows = [{"question": "q", "choices": ["x", "y"], "label": "B"}]
    err = _error(_jsonl(tmp_path / "p.jsonl", rows), ColumnMap())
    assert (err.line, err.field) == (1, "label") and "--answer-format" in str(err)


def test_no_choice_setting_keeps_a_choices_column_as_extra(tmp_path: Path) -> None:
    rows = [{"question": "q", "choices": ["x", "y"], "label": "B"}]
    (example,) = read_examples(_jsonl(tmp_path / "p.jsonl", rows), ColumnMap(choices=None))
    assert example.choices is None and example.label == "B"
    assert example.extra == {"original_choices": ["x", "y"]}


# --- rendering and mapping back ---------------------------------------------------------------


def test_render_and_append_options() -> None:
    assert render_options(["x", "y z"]) == "A. x\nB. y z"
    assert append_options("Which?", ["x", "y"]) == "Which?\n\nOptions:\nA. x\nB. y"
    assert letter(25) == "Z"
    with pytest.raises(ValueError):
        letter(26)


@pytest.mark.parametrize(
    ("prediction", "expected"),
    [
        ("Warfarin", 1),
        (" warfarin ", 1),
        ("B. Warfarin", 1),
        ("b", 1),
        ("(D)", 3),
        ("Aspirin.", None),
    ],
)
def test_option_index_maps_a_prediction_back(prediction: str, expected: int | None) -> None:
    options = ["Aspirin", "Warfarin", "Insulin", "Heparin"]
    assert option_index(prediction, options) == expected
    assert option_letter(prediction, options) == (None if expected is None else "ABCD"[expected])


def test_option_text_wins_over_a_letter() -> None:
    # an option whose text is itself a letter is matched as text first
    assert option_index("C", ["A", "B12", "C", "D"]) == 2
    assert option_index("A. B12", ["A", "B12", "C", "D"]) is None  # letter and text disagree


def test_answer_position_formats() -> None:
    options = ["x", "y", "z"]
    assert answer_position("y", "text", options) == 1
    assert answer_position("c", "letter", options) == 2
    assert answer_position(2, "index0", options) == 2
    assert answer_position("3", "index1", options) == 2
    assert answer_position(3.0, "index1", options) == 2
    assert answer_position(3, "index0", options) is None
    assert answer_position(0, "index1", options) is None
    assert answer_position(True, "index0", options) is None
    assert answer_position(1, "letter", options) is None
