"""Bulk files: read the cases of an uploaded CSV or JSONL body, write the answers as JSONL or
CSV in the same order."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from reason2decide.serve.schemas import unicode_problem

#: Columns that may hold a case's text, in order of preference (``question`` is what
#: ``r2d predict`` and the training files use).
TEXT_COLUMNS = ("text", "question")
FORMATS = ("jsonl", "csv")


class BulkError(ValueError):
    """A problem with the uploaded file, at ``field`` (e.g. ``line 3``)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def detect_format(content_type: str | None, given: str | None) -> str:
    """``jsonl`` or ``csv``, from the ``format`` query parameter or the Content-Type."""
    if given:
        if given not in FORMATS:
            raise BulkError(f"format must be one of {', '.join(FORMATS)}", "format")
        return given
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in ("text/csv", "application/csv"):
        return "csv"
    if kind in ("application/jsonl", "application/x-ndjson", "application/json-lines"):
        return "jsonl"
    raise BulkError(
        "say what the file is: Content-Type text/csv or application/x-ndjson, or ?format=csv|jsonl",
        "format",
    )


def _text_of(row: dict[str, Any], where: str) -> str:
    for column in TEXT_COLUMNS:
        value = row.get(column)
        if value is not None:
            if not isinstance(value, str):
                raise BulkError(f"'{column}' must be a string", f"{where}.{column}")
            _check_unicode(value, where, column)
            return value
    raise BulkError(f"no '{TEXT_COLUMNS[0]}' (or '{TEXT_COLUMNS[1]}') column", where)


def _id_of(row: dict[str, Any], where: str) -> str | None:
    value = row.get("id")
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BulkError("'id' must be a string or an integer", f"{where}.id")
    if isinstance(value, str):
        _check_unicode(value, where, "id")
    return str(value)


def _check_unicode(value: str, where: str, column: str) -> None:
    problem = unicode_problem(value)
    if problem is not None:
        raise BulkError(f"'{column}' {problem}", f"{where}.{column}")


def read_cases(body: bytes, kind: str) -> list[tuple[str | None, str]]:
    """The ``(id, text)`` pairs of a CSV or JSONL body, in file order."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BulkError("the file is not UTF-8 text", "body") from None
    return _jsonl_cases(text) if kind == "jsonl" else _csv_cases(text)


def _jsonl_cases(text: str) -> list[tuple[str | None, str]]:
    cases: list[tuple[str | None, str]] = []
    # "\n" only: str.splitlines() would also cut a line at a raw U+2028, U+2029 or U+0085 that
    # JSON allows inside a string
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            row = json.loads(line)
        except ValueError:
            raise BulkError("not a JSON object", where) from None
        if not isinstance(row, dict):
            raise BulkError("not a JSON object", where)
        cases.append((_id_of(row, where), _text_of(row, where)))
    return cases


def _csv_cases(text: str) -> list[tuple[str | None, str]]:
    cases: list[tuple[str | None, str]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return cases
        column = next((c for c in TEXT_COLUMNS if c in header), None)
        # a record may span lines (a quoted field with line breaks): errors name the physical
        # line where it starts, one past the last line the reader had read
        start = reader.line_num + 1
        for record in reader:
            where = f"line {start}"
            start = reader.line_num + 1
            if not record:  # a blank line
                continue
            if column is not None and header.index(column) >= len(record):
                raise BulkError(
                    f"too few cells: the row has {len(record)}, the header {len(header)} "
                    f"('{column}' is column {header.index(column) + 1})",
                    where,
                )
            row = dict(zip(header, record, strict=False))
            cases.append((_id_of(row, where), _text_of(row, where)))
    except csv.Error as exc:
        raise BulkError(f"not valid CSV: {exc}", "body") from None
    return cases


def write_answers(rows: Sequence[dict[str, Any]], kind: str, labels: Sequence[str]) -> str:
    """The answers as JSONL (one object per case) or CSV (a ``p_<label>`` column per label)."""
    if kind == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    out = io.StringIO()
    columns = ["id", "label", *(f"p_{label}" for label in labels), "rationale"]
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        probabilities = row.get("probabilities") or {}
        writer.writerow(
            {
                "id": row.get("id"),
                "label": row["label"],
                "rationale": row.get("rationale") or "",
                **{f"p_{k}": probabilities.get(k, "") for k in labels},
            }
        )
    return out.getvalue()
