"""Data fingerprints for a run's manifest: which exact file a model was trained or tested on."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

from reason2decide.errors import R2DError

_CHUNK = 1 << 20


def fingerprint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Identify a data file: ``path`` (absolute), ``sha256`` of its bytes, ``bytes``, and ``rows``.

    ``rows`` (records in the file: non-blank JSONL lines, CSV/TSV rows after the header, Parquet
    rows) is present only when the file's format is known and it can be parsed.
    """
    source = Path(path)
    if not source.is_file():
        raise R2DError("file not found" if not source.exists() else "not a file", path=source)
    digest = hashlib.sha256()
    size = 0
    try:
        with open(source, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise R2DError(f"cannot read file: {exc.strerror or exc}", path=source) from None
    result: dict[str, Any] = {
        "path": str(source.resolve()),
        "sha256": digest.hexdigest(),
        "bytes": size,
    }
    rows = _count_rows(source)
    if rows is not None:
        result["rows"] = rows
    return result


def _count_rows(source: Path) -> int | None:
    """Number of records in the file, or ``None`` if its format is unknown or it cannot be read."""
    suffix = source.suffix.lower()
    try:
        if suffix in (".jsonl", ".json"):
            text = source.read_text(encoding="utf-8-sig")
            if suffix == ".json" and text.lstrip().startswith("["):
                items = json.loads(text)
                return len(items) if isinstance(items, list) else None
            return sum(1 for line in text.split("\n") if line.strip())
        if suffix in (".csv", ".tsv"):
            text = source.read_text(encoding="utf-8-sig")
            reader = csv.reader(
                io.StringIO(text, newline=""), delimiter="\t" if suffix == ".tsv" else ","
            )
            records = [row for row in reader if any(cell.strip() for cell in row)]
            return max(len(records) - 1, 0)
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(source).metadata.num_rows)
    except Exception:  # a fingerprint must not fail because the content is malformed
        return None
    return None
