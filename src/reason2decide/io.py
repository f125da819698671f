"""Atomic file output: a reader never sees a half-written file, a crash never leaves one."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from reason2decide.errors import R2DError

#: The errors of a write that ran out of room (disk full, quota exceeded).
OUT_OF_SPACE = {errno.ENOSPC, errno.EDQUOT}


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success rename it over ``path``.

    If the body raises, the temporary file is removed and ``path`` is left untouched. A full
    disk is an :class:`R2DError` naming ``path`` (what was being written, and where).
    """
    if mode not in ("w", "wb"):
        raise ValueError("atomic_open writes whole files: mode must be 'w' or 'wb'")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno in OUT_OF_SPACE:
            raise out_of_space(target, exc, atomic=True) from exc
        raise


def out_of_space(path: str | os.PathLike[str], exc: OSError, *, atomic: bool = False) -> R2DError:
    """The error of a write to ``path`` that ran out of disk space (``atomic``: the file was
    written through :func:`atomic_open`, so no half-written file was left)."""
    left = "; the file was left as it was before" if atomic else ""
    return R2DError(
        f"no space left on the device while writing this file "
        f"({os.strerror(exc.errno or 0)}){left}",
        path=path,
        hint="free space or write the output elsewhere, then run the command again",
    )


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented UTF-8 JSON, atomically."""
    with atomic_open(path) as handle:
        json.dump(obj, handle, indent=2, ensure_ascii=False, sort_keys=False)
        handle.write("\n")


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object per line, atomically; return the number of rows."""
    count = 0
    with atomic_open(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False))
            handle.write("\n")
            count += 1
    return count


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file; a damaged one (not UTF-8, not JSON) is an :class:`R2DError` naming the
    file and line."""
    with open(path, encoding="utf-8") as handle:
        try:
            return json.load(handle)
        except json.JSONDecodeError as exc:
            raise R2DError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from exc
        except UnicodeDecodeError as exc:
            raise R2DError("not valid JSON: not UTF-8 text", path=path) from exc


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a file of one JSON object per line (blank lines are skipped)."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
