"""Fixtures for the built-in source tests: the shared raw data (or a skip) and file writers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from reason2decide.data.sources import resolve_data_dir  # noqa: E402
from reason2decide.errors import R2DError  # noqa: E402


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The raw-data folder ($R2D_DATA_DIR or ../shared/data); skips the test when absent."""
    try:
        return resolve_data_dir()
    except R2DError as exc:
        pytest.skip(f"shared raw data not available ({exc}); set R2D_DATA_DIR to run data tests")


def require_files(data_dir: Path, *relative: str) -> None:
    """Skip unless every raw file exists under ``data_dir``."""
    missing = [name for name in relative if not (data_dir / name).exists()]
    if missing:
        pytest.skip(f"raw files missing under {data_dir}: {', '.join(missing)}")


def write_json(path: Path, obj: Any) -> Path:
    """Write ``obj`` as JSON, creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def write_lines(path: Path, rows: Iterable[dict[str, Any] | str]) -> Path:
    """Write JSON lines (a ``str`` row is written as is, for malformed-line tests)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows)
    path.write_text(text, encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every file of ``folder`` by name, for byte-identity checks."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.fixture(scope="session")
def h() -> SimpleNamespace:
    """The file helpers above, for test modules (which cannot import this conftest)."""
    return SimpleNamespace(
        require_files=require_files,
        write_json=write_json,
        write_lines=write_lines,
        read_jsonl=read_jsonl,
        tree_bytes=tree_bytes,
    )
