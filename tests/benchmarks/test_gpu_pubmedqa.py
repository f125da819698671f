"""The GPU grid script on the CPU with tiny settings: runs side by side into one bench folder,
then one joint results table; a run stopped at the deadline resumes on the next call."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from tiny_models import save_tiny_llama, write_toy_dataset

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*contain their label verbatim"),
    pytest.mark.filterwarnings("ignore:.*also occur in train"),
]

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_pubmedqa.py"
CONFIG = """\
batch-size: 4
gradient-accumulation-steps: 2
stage1-max-steps: 2
max-steps: 3
eval-steps: 2
logging-steps: 1
lr: 3.0e-3
max-input-length: 48
max-target-length: 12
"""


def _script():
    spec = importlib.util.spec_from_file_location("gpu_pubmedqa", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_grid_is_ordered_costliest_first():
    pairs = _script().grid(["sft", "r2d", "dss"], ["0", "1"])
    assert [m for m, _ in pairs] == ["r2d", "r2d", "dss", "dss", "sft", "sft"]


def test_runs_side_by_side_then_one_joint_table(tmp_path, monkeypatch):
    data = tmp_path / "data"
    texts = write_toy_dataset(data, n_train=32, n_val=12)
    shutil.copy(data / "val.jsonl", data / "test.jsonl")
    model = save_tiny_llama(tmp_path / "llama", texts)
    config = tmp_path / "tiny.yaml"
    config.write_text(CONFIG + f"model: {model}\n")
    out = tmp_path / "bench"
    monkeypatch.setenv("PYTHONPATH", str(SCRIPT.parents[1] / "src"))
    code = _script().main(
        ["--data", str(data), "--output", str(out), "--config", str(config),
         "--methods", "sft,r2d", "--seeds", "0", "--parallel", "2",
         "--", "--no-bertscore", "--eval-batch-size", "8"]
    )  # fmt: skip
    assert code == 0
    runs = json.loads((out / "gpu_runs.json").read_text())["runs"]
    assert {k: v["returncode"] for k, v in runs.items()} == {"r2d-seed0": 0, "sft-seed0": 0}
    results = json.loads((out / "results.json").read_text())
    rows = json.dumps(results)
    assert "r2d" in rows and "sft" in rows
    for method in ("r2d", "sft"):
        assert (out / "runs" / method / "seed0" / "eval" / "metrics.json").is_file()
