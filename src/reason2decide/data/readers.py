"""Read user data (JSONL, CSV/TSV, Parquet) into :class:`Example` records, and write them back.

One file on purpose (a little over 400 lines): every format goes through the same column
mapping and the same row checks, so that an error reads the same whatever the file type.

Every problem a user can cause is reported as one :class:`~reason2decide.errors.R2DError` naming
the file, the place in it and the field: for JSONL the 1-based line number, for CSV/TSV the line
number where the row starts (the header is line 1), for Parquet the 0-based row index (as pandas
shows it), for a ``.json`` file holding one JSON list the 1-based item number. The first problem
found is reported.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reason2decide.data.example import STANDARD_FIELDS, Example
from reason2decide.errors import R2DError
from reason2decide.io import write_jsonl

#: File extensions :func:`read_examples` understands, by format.
JSONL_SUFFIXES = (".jsonl", ".json")
CSV_SUFFIXES = (".csv", ".tsv")
PARQUET_SUFFIXES = (".parquet",)


@dataclass(frozen=True)
class ColumnMap:
    """Which source column holds each standard field.

    ``rationale`` and ``id`` may be ``None`` (the file has no such column). With the default
    names, a file that lacks the ``rationale`` or ``id`` column is fine: rationales are then
    ``None`` and ids are generated as ``"{file_stem}-{row_number}"``. A column named explicitly
    (not the default) must exist.
    """

    question: str = "question"
    label: str = "label"
    rationale: str | None = "rationale"
    id: str | None = "id"


_DEFAULT_COLUMNS = ColumnMap()


@dataclass(frozen=True)
class _Row:
    """One raw record of a source file and where it sits in the file."""

    values: dict[str, Any]
    line: int  # the number reported in errors: line, item number or Parquet row index
    number: int  # 1-based position among the file's records, for generated ids


def read_examples(
    path: str | os.PathLike[str],
    columns: ColumnMap = _DEFAULT_COLUMNS,
    *,
    require_rationale: bool = False,
    require_label: bool = True,
) -> list[Example]:
    """Read the examples of a JSONL, CSV/TSV or Parquet file (format chosen by extension).

    Columns not mapped to a standard field are kept in ``Example.extra``; an unmapped column whose
    name is itself a standard field (e.g. ``rationale`` when ``--rationale-col llm_rationale`` is
    used) is kept as ``original_<name>`` so that writing the examples back does not drop it.
    Question, label and rationale are converted to stripped strings, ids to strings.
    Without ``require_label``, a missing or empty label becomes ``""``.

    Raises :class:`R2DError` for the first problem found: unreadable file, unknown extension,
    malformed line, missing column, empty question/label/rationale, duplicate id, no examples.
    """
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix not in JSONL_SUFFIXES + CSV_SUFFIXES + PARQUET_SUFFIXES:
        known = ", ".join(JSONL_SUFFIXES + CSV_SUFFIXES + PARQUET_SUFFIXES)
        raise R2DError(
            f"unknown file type '{source.suffix or '(none)'}'",
            path=source,
            hint=f"use one of {known}",
        )
    if not source.exists():
        raise R2DError("file not found", path=source)
    if not source.is_file():
        raise R2DError("not a file", path=source)

    if columns.rationale is None and require_rationale:
        raise R2DError(
            "rationales are required but no rationale column is mapped",
            path=source,
            field="rationale",
            hint="pass --rationale-col",
        )

    header: list[str] | None = None
    if suffix in JSONL_SUFFIXES:
        unit, rows = _json_rows(source)
    elif suffix in CSV_SUFFIXES:
        header, rows = _csv_rows(source, delimiter="\t" if suffix == ".tsv" else ",")
        unit = "line"
    else:
        header, rows = _parquet_rows(source)
        unit = "row index"

    if header is not None:
        _check_header(source, header, columns, require_label, require_rationale, unit)

    examples: list[Example] = []
    seen_ids: dict[str, int] = {}
    for row in rows:
        example = _to_example(source, row, columns, require_label, require_rationale, unit)
        first = seen_ids.get(example.id)
        if first is not None:
            raise _row_error(
                source,
                unit,
                row.line,
                f"duplicate id '{example.id}' (first seen at {unit} {first})",
                field=columns.id or "id",
                hint="ids must be unique within a file",
            )
        seen_ids[example.id] = row.line
        examples.append(example)

    if not examples:
        raise R2DError("the file holds no examples", path=source)
    return examples


def write_examples(path: str | os.PathLike[str], examples: Iterable[Example]) -> int:
    """Write examples as standard-schema JSONL, atomically; return the number written."""
    return write_jsonl(path, (_jsonable_row(example.to_dict()) for example in examples))


# --- format readers ---------------------------------------------------------------------------


def _read_text(source: Path) -> str:
    """The file's text, decoded as UTF-8 (a byte-order mark is dropped)."""
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise R2DError(f"cannot read file: {exc.strerror or exc}", path=source) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise R2DError(
            f"not valid UTF-8 text ({exc.reason})",
            path=source,
            line=line,
            hint="save the file as UTF-8",
        ) from None


def _json_rows(source: Path) -> tuple[str, Iterator[_Row]]:
    """The records of a JSON-lines file (blank lines skipped) or of a ``.json`` array file.

    Returns the unit errors count in: ``"line"``, or ``"item"`` for a JSON array.
    """
    text = _read_text(source)
    if source.suffix.lower() == ".json" and text.lstrip().startswith("["):
        return "item", _json_array_rows(source, text)
    return "line", _jsonl_lines(source, text)


def _jsonl_lines(source: Path, text: str) -> Iterator[_Row]:
    number = 0
    for line_no, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise R2DError(
                f"not valid JSON: {exc.msg} (column {exc.colno})",
                path=source,
                line=line_no,
                hint="each line must be one JSON object",
            ) from None
        if not isinstance(value, dict):
            raise R2DError(
                f"expected a JSON object, found {_json_type(value)}",
                path=source,
                line=line_no,
                hint='each line must be one JSON object such as {"question": ..., "label": ...}',
            )
        number += 1
        yield _Row(values=value, line=line_no, number=number)


def _json_array_rows(source: Path, text: str) -> Iterator[_Row]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise R2DError(
            f"not valid JSON: {exc.msg} (column {exc.colno})", path=source, line=exc.lineno
        ) from None
    if not isinstance(items, list):
        raise R2DError(f"expected a JSON list, found {_json_type(items)}", path=source)
    for number, value in enumerate(items, start=1):
        if not isinstance(value, dict):
            raise R2DError(
                f"expected a JSON object, found {_json_type(value)} (item {number})",
                path=source,
                line=number,
            )
        yield _Row(values=value, line=number, number=number)


def _csv_rows(source: Path, delimiter: str) -> tuple[list[str], Iterator[_Row]]:
    """Read a CSV/TSV header and return it with an iterator over the data rows."""
    reader = csv.reader(io.StringIO(_read_text(source), newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise R2DError(f"cannot parse the header: {exc}", path=source, line=1) from None
    if header is None:
        raise R2DError("the file is empty (no header, no examples)", path=source)
    header = [name.strip() for name in header]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise R2DError(
            f"the header repeats column(s) {', '.join(repr(d) for d in duplicates)}",
            path=source,
            line=1,
        )

    def rows() -> Iterator[_Row]:
        number = 0
        last_line = reader.line_num
        while True:
            start = last_line + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise R2DError(f"cannot parse the row: {exc}", path=source, line=start) from None
            last_line = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise R2DError(
                    f"the row has {len(record)} fields but the header has {len(header)}",
                    path=source,
                    line=start,
                    hint="check quoting and delimiters",
                )
            number += 1
            yield _Row(values=dict(zip(header, record, strict=True)), line=start, number=number)

    return header, rows()


def _parquet_rows(source: Path) -> tuple[list[str], Iterator[_Row]]:
    """Read a Parquet file; return its column names and an iterator over its rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(source)
    except (OSError, pa.ArrowException) as exc:
        raise R2DError(f"cannot read Parquet file: {exc}", path=source) from None
    header = list(table.column_names)

    def rows() -> Iterator[_Row]:
        for index, values in enumerate(table.to_pylist()):
            yield _Row(values=values, line=index, number=index + 1)

    return header, rows()


# --- validation and conversion ----------------------------------------------------------------


def _check_header(
    source: Path,
    header: list[str],
    columns: ColumnMap,
    require_label: bool,
    require_rationale: bool,
    unit: str,
) -> None:
    """Raise if a column the mapping needs is not among the file's columns."""
    for field, column in _needed_columns(columns, require_label, require_rationale):
        if column not in header:
            line = 1 if unit == "line" else None
            raise _missing_column(source, field, column, header, unit=unit, line=line)


def _needed_columns(
    columns: ColumnMap, require_label: bool, require_rationale: bool
) -> list[tuple[str, str]]:
    """(standard field, source column) pairs that must exist in every record."""
    needed = [("question", columns.question)]
    if require_label or columns.label != _DEFAULT_COLUMNS.label:
        needed.append(("label", columns.label))
    if columns.rationale is not None and (
        require_rationale or columns.rationale != _DEFAULT_COLUMNS.rationale
    ):
        needed.append(("rationale", columns.rationale))
    if columns.id is not None and columns.id != _DEFAULT_COLUMNS.id:
        needed.append(("id", columns.id))
    return needed


def _missing_column(
    source: Path, field: str, column: str, present: Iterable[str], *, unit: str, line: int | None
) -> R2DError:
    """The error for a needed column that is absent; it lists the columns that exist."""
    names = ", ".join(repr(name) for name in present) or "(none)"
    message = f"no {field} column '{column}'; the columns present are {names}"
    if line is not None and unit != "line":
        message += f" ({unit} {line})"
    return R2DError(
        message,
        path=source,
        line=line,
        field=column,
        hint=f"pass --{field}-col NAME to read the {field} from another column",
    )


def _to_example(
    source: Path,
    row: _Row,
    columns: ColumnMap,
    require_label: bool,
    require_rationale: bool,
    unit: str,
) -> Example:
    """Turn one raw record into an Example, raising for the first bad field."""
    values = row.values

    def fail(message: str, field: str, hint: str | None = None) -> R2DError:
        return _row_error(source, unit, row.line, message, field=field, hint=hint)

    for field, column in _needed_columns(columns, require_label, require_rationale):
        if column not in values:
            raise _missing_column(source, field, column, values.keys(), unit=unit, line=row.line)

    question = _text(values.get(columns.question))
    if not question:
        raise fail("empty question", columns.question)

    label = _text(values.get(columns.label))
    if not label and require_label:
        raise fail("empty label", columns.label, hint="every training example needs a label")

    rationale = _text(values.get(columns.rationale)) if columns.rationale is not None else ""
    if not rationale and require_rationale:
        raise fail(
            "missing or empty rationale",
            columns.rationale or "rationale",
            hint="this method needs a rationale for every example",
        )

    raw_id = values.get(columns.id) if columns.id is not None else None
    example_id = "" if _is_missing(raw_id) else str(raw_id).strip()
    if not example_id:
        example_id = f"{source.stem}-{row.number}"

    mapped = {columns.question, columns.label, columns.rationale, columns.id}
    extra: dict[str, Any] = {}
    for key, value in values.items():
        if key in mapped:
            continue
        name = key
        if name in STANDARD_FIELDS:
            name = f"original_{key}"
            while name in values or name in extra:
                name = f"original_{name}"
        extra[name] = value

    return Example(
        id=example_id,
        question=question,
        label=label,
        rationale=rationale or None,
        extra=extra,
    )


def _row_error(
    source: Path, unit: str, line: int, message: str, *, field: str, hint: str | None = None
) -> R2DError:
    """An error about one record; where the number is not a line, the message says what it is."""
    if unit != "line":
        message += f" ({unit} {line})"
    return R2DError(message, path=source, line=line, field=field, hint=hint)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _text(value: Any) -> str:
    """A field value as a stripped string; missing values become ``""``."""
    if _is_missing(value):
        return ""
    return str(value).strip()


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def _jsonable_row(row: dict[str, Any]) -> dict[str, Any]:
    """Replace values JSON cannot hold (dates, bytes, NaN from Parquet) by strings or null."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, float) and math.isnan(value):
            out[key] = None
            continue
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            value = str(value)
        out[key] = value
    return out
