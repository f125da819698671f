"""A bench on prepared files whose cases carry their own options scores those options by default
(no flag), and its results still come out with the reference baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reason2decide.cli import app
from reason2decide.data.choices import ChoiceColumns
from reason2decide.data.readers import ColumnMap, read_examples, write_examples
from tiny_models import save_tiny_t5, write_choices_dataset

runner = CliRunner()
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*contain their label verbatim"),
    pytest.mark.filterwarnings("ignore:.*also occur in train"),
]
RAW = ColumnMap(
    template="which treatment for a {age} with {finding}",
    choices=ChoiceColumns(columns=("opa", "opb", "opc", "opd")),
    label="cop",
)


def test_bench_scores_each_cases_options_by_default(tmp_path: Path) -> None:
    texts = write_choices_dataset(tmp_path / "raw", n_train=32, n_val=16)
    data = tmp_path / "data"
    data.mkdir()
    train = read_examples(tmp_path / "raw" / "train.csv", RAW)
    held_out = read_examples(tmp_path / "raw" / "val.csv", RAW)
    write_examples(data / "train.jsonl", train)
    write_examples(data / "val.jsonl", held_out[:8])
    write_examples(data / "test.jsonl", held_out[8:])
    model = save_tiny_t5(tmp_path / "t5", texts)
    out = tmp_path / "bench"
    result = runner.invoke(
        app,
        [
            "bench",
            "--data",
            str(data),
            "--output",
            str(out),
            "--methods",
            "sft",
            "--seeds",
            "0",
            "--model",
            str(model),
            "--max-steps",
            "2",
            "--batch-size",
            "8",
            "--eval-steps",
            "2",
            "--lr",
            "0.003",
            "--max-input-length",
            "64",
            "--max-target-length",
            "12",
            "--eval-batch-size",
            "8",
            "--no-bertscore",
        ],  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    (metrics_path,) = [p for p in out.rglob("metrics.json") if "sft" in str(p)]
    metrics = json.loads(metrics_path.read_text())
    assert metrics["label_decoding"] == "score"
    assert metrics["choices"]["n"] == 8 and metrics["macro_f1"] == metrics["choices"]["macro_f1"]
    records = [json.loads(x) for x in (metrics_path.parent / "predictions.jsonl").open()]
    assert all(r["label"] in r["choices"] for r in records)
    results_md = (out / "results.md").read_text()
    assert "macro-F1 is over answer positions" in results_md
    assert json.loads((out / "results.json").read_text())["data"]["n_test_with_options"] == 8
    majority = json.loads(next(out.rglob("majority/metrics.json")).read_text())
    assert majority["choices"]["n"] == 8 and majority["confusion_matrix"] is None
