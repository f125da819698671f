"""Fixtures of the benchmark scripts' tests."""

from __future__ import annotations

import importlib.util
import json
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


@pytest.fixture
def step_inputs(tmp_path):
    """``step_inputs(questions, rationales)``: a tiny T5 that knows their words and a training
    JSONL of them (labels alternate no/yes), as the step scripts read it."""
    from tiny_models import save_tiny_t5

    def write(questions: list[str], rationales: list[str]) -> tuple[Path, Path]:
        model = save_tiny_t5(tmp_path / "t5", [*questions, *rationales, "yes", "no"])
        train = tmp_path / "train.jsonl"
        rows = [
            {"question": q, "label": "yes" if i % 2 else "no", "rationale": r}
            for i, (q, r) in enumerate(zip(questions, rationales, strict=True))
        ]
        train.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return model, train

    return write
