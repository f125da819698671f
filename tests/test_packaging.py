"""Declared dependencies: none is dead weight that no module imports; data files are shipped."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _declared() -> list[str]:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = (re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0] for spec in project["dependencies"])
    return [name.lower() for name in names]


def _imported(module: str) -> bool:
    pattern = re.compile(rf"^\s*(from|import)\s+{re.escape(module)}\b", re.MULTILINE)
    return any(
        pattern.search(path.read_text(encoding="utf-8")) for path in (ROOT / "src").rglob("*.py")
    )


def test_datasets_is_neither_declared_nor_imported():
    # The readers load JSONL/CSV/Parquet themselves; `datasets` was a dependency nobody used.
    assert "datasets" not in _declared()
    assert not _imported("datasets")


def test_the_checker_sees_real_imports():
    assert {"torch", "transformers", "peft"} <= set(_declared())
    assert _imported("torch") and _imported("peft") and not _imported("no_such_module")


def test_data_files_of_the_package_are_package_data():
    # a wheel carries only what package-data names: the triage protocol table is a data file
    tomllib = pytest.importorskip("tomllib")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["reason2decide"]
    package = ROOT / "src" / "reason2decide"
    data_files = [
        path.relative_to(package).as_posix()
        for path in package.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc")
    ]
    assert "data/sources/synth_triage/protocols.yaml" in data_files
    unshipped = [f for f in data_files if not any(fnmatch.fnmatch(f, p) for p in patterns)]
    assert not unshipped, f"add these to [tool.setuptools.package-data]: {unshipped}"
