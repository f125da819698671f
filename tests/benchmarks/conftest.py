"""Fixtures of the benchmark scripts' tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def benchmark_script():
    """``benchmark_script(name)``: ``benchmarks/<name>.py`` as a module, loaded with its folder
    on sys.path as when it runs (the scripts import each other); unloaded after the module's
    tests."""
    loaded: list[str] = []

    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        sys.path.insert(0, str(BENCHMARKS))
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(BENCHMARKS))
        loaded.append(name)
        return module

    yield load
    for name in loaded:
        sys.modules.pop(name, None)
