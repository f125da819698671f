"""Bulk files: read the cases of an uploaded CSV or JSONL body, write the answers as JSONL or
CSV in the same order."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

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
            return value
    raise BulkError(f"no '{TEXT_COLUMNS[0]}' (or '{TEXT_COLUMNS[1]}') column", where)


def _id_of(row: dict[str, Any], where: str) -> str | None:
    value = row.get("id")
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BulkError("'id' must be a string or an integer", f"{where}.id")
    return str(value)


def read_cases(body: bytes, kind: str) -> list[tuple[str | None, str]]:
    """The ``(id, text)`` pairs of a CSV or JSONL body, in file order."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BulkError("the file is not UTF-8 text", "body") from None
    cases: list[tuple[str | None, str]] = []
    if kind == "jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
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
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        for number, row in enumerate(reader, start=2):
            cases.append((_id_of(row, f"line {number}"), _text_of(row, f"line {number}")))
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
