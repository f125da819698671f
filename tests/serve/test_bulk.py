"""Reading bulk uploads: JSONL split on newlines only, CSV errors at the physical line where the
record starts, lone surrogates refused at their field."""

from __future__ import annotations

import pytest

from reason2decide.serve.bulk import BulkError, read_cases


def test_jsonl_line_with_unicode_line_separators_inside_a_string_is_one_case():
    rows = ['{"id": "a", "text": "one\u2028two"}', '{"text": "three\u2029four\u0085five"}']
    body = ("\r\n".join(rows) + "\r\n").encode()
    assert read_cases(body, "jsonl") == [("a", "one\u2028two"), (None, "three\u2029four\u0085five")]


def test_jsonl_line_numbers_count_newlines_only():
    body = '{"text": "a\u2028b"}\n\n{"text": "c\u0085d"}\n[1]\n'.encode()
    with pytest.raises(BulkError, match="not a JSON object") as caught:
        read_cases(body, "jsonl")
    assert caught.value.field == "line 4"


@pytest.mark.parametrize(
    ("line", "field"),
    [('{"text": "a\\ud800b"}', "line 3.text"), ('{"id": "\\udfff", "text": "b"}', "line 3.id")],
)
def test_jsonl_lone_surrogate_is_refused_at_its_field(line, field):
    body = f'{{"text": "a"}}\n{{"text": "\\ud83d\\ude00 pair is fine"}}\n{line}\n'.encode()
    with pytest.raises(BulkError, match="lone surrogate at position") as caught:
        read_cases(body, "jsonl")
    assert caught.value.field == field


def test_csv_errors_name_the_physical_line_where_the_record_starts():
    body = b'id,text\na,"one\ntwo\nthree"\n\nb,four\nc\n'
    with pytest.raises(BulkError, match="too few cells") as caught:
        read_cases(body, "csv")
    assert caught.value.field == "line 7"
    assert read_cases(body[: body.index(b"c\n")], "csv") == [
        ("a", "one\ntwo\nthree"),
        ("b", "four"),
    ]


def test_csv_without_a_text_column_names_the_first_record():
    body = b'id,body\n1,"x\ny"\n'
    with pytest.raises(BulkError, match="no 'text'") as caught:
        read_cases(body, "csv")
    assert caught.value.field == "line 2"
    assert read_cases(b"id,text\n", "csv") == []
    assert read_cases(b"", "csv") == []
