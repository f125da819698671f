"""The records of a data file by format (JSON lines, a JSON list, CSV/TSV, Parquet), each with
the number an error reports for it; :mod:`reason2decide.data.readers` maps and checks them.

Numbers: for JSONL the 1-based line, for CSV/TSV the line where the row starts (the header is
line 1), for Parquet the 0-based row index, for a ``.json`` list the 1-based item number.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reason2decide.errors import R2DError


@dataclass(frozen=True)
class Row:
    """One raw record of a source file and where it sits in the file."""

    values: dict[str, Any]
    line: int  # the number reported in errors: line, item number or Parquet row index
    number: int  # 1-based position among the file's records, for generated ids


def read_text(source: Path) -> str:
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


def json_rows(source: Path) -> tuple[str, Iterator[Row]]:
    """The records of a JSON-lines file (blank lines skipped) or of a ``.json`` array file.

    Returns the unit errors count in: ``"line"``, or ``"item"`` for a JSON array.
    """
    text = read_text(source)
    if source.suffix.lower() == ".json" and text.lstrip().startswith("["):
        return "item", _json_array_rows(source, text)
    return "line", _jsonl_lines(source, text)


def _jsonl_lines(source: Path, text: str) -> Iterator[Row]:
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
                f"expected a JSON object, found {json_type(value)}",
                path=source,
                line=line_no,
                hint='each line must be one JSON object such as {"question": ..., "label": ...}',
            )
        number += 1
        yield Row(values=value, line=line_no, number=number)


def _json_array_rows(source: Path, text: str) -> Iterator[Row]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise R2DError(
            f"not valid JSON: {exc.msg} (column {exc.colno})", path=source, line=exc.lineno
        ) from None
    if not isinstance(items, list):
        raise R2DError(f"expected a JSON list, found {json_type(items)}", path=source)
    for number, value in enumerate(items, start=1):
        if not isinstance(value, dict):
            raise R2DError(
                f"expected a JSON object, found {json_type(value)} (item {number})",
                path=source,
                line=number,
            )
        yield Row(values=value, line=number, number=number)


def csv_rows(source: Path, delimiter: str) -> tuple[list[str], Iterator[Row]]:
    """Read a CSV/TSV header and return it with an iterator over the data rows."""
    reader = csv.reader(io.StringIO(read_text(source), newline=""), delimiter=delimiter)
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

    def rows() -> Iterator[Row]:
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
            yield Row(values=dict(zip(header, record, strict=True)), line=start, number=number)

    return header, rows()


def parquet_rows(source: Path) -> tuple[list[str], Iterator[Row]]:
    """Read a Parquet file; return its column names and an iterator over its rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(source)
    except (OSError, pa.ArrowException) as exc:
        raise R2DError(f"cannot read Parquet file: {exc}", path=source) from None
    header = list(table.column_names)

    def rows() -> Iterator[Row]:
        for index, values in enumerate(table.to_pylist()):
            yield Row(values=values, line=index, number=index + 1)

    return header, rows()


def json_type(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
