"""Multiple-choice cases end to end from the command line: a tiny T5 trained on a four-option
CSV (question template + option columns + letter answers) predicts only among each case's own
options, and the saved model reads new rows of the same shape with no flags."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reason2decide.cli import app
from reason2decide.data.choices import ChoiceColumns
from reason2decide.data.readers import ColumnMap
from tiny_models import save_tiny_t5, write_choices_dataset

runner = CliRunner()
TEMPLATE = "which treatment for a {age} with {finding}"


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("choices-cli")
    texts = write_choices_dataset(root / "data", n_train=24, n_val=8)
    model = save_tiny_t5(root / "t5", texts)
    out = root / "run"
    result = invoke(
        "train",
        "--train", root / "data" / "train.csv",
        "--val", root / "data" / "val.csv",
        "--output", out,
        "--model", model,
        "--method", "r2d",
        "--question-template", TEMPLATE,
        "--choices-cols", "opa,opb,opc,opd",
        "--label-col", "cop",
        "--answer-format", "letter",
        "--max-steps", "4",
        "--stage1-max-steps", "2",
        "--batch-size", "8",
        "--eval-steps", "2",
        "--lr", "0.003",
        "--max-input-length", "64",
        "--max-target-length", "12",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return root, out


def _options(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [[row[c] for c in ("opa", "opb", "opc", "opd")] for row in csv.DictReader(handle)]


def test_the_model_stores_how_its_rows_were_read(trained):
    _, out = trained
    info = json.loads((out / "model" / "reason2decide.json").read_text())
    columns = ColumnMap.from_dict(info["columns"])
    assert columns.template == TEMPLATE and columns.label == "cop"
    assert columns.choices.columns == ("opa", "opb", "opc", "opd")
    assert columns.choices.answer_format == "letter"


def test_predict_with_no_flags_picks_only_among_each_cases_options(trained, tmp_path):
    root, out = trained
    # new rows of the same shape: no answer, rationale or id column
    new_rows = tmp_path / "new.csv"
    with open(root / "data" / "val.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    keep = ["finding", "age", "opa", "opb", "opc", "opd"]
    with open(new_rows, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keep)
        writer.writeheader()
        writer.writerows({k: row[k] for k in keep} for row in rows)
    result = invoke("predict", out, "--input", new_rows, "--output", tmp_path / "p.jsonl")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    options = _options(new_rows)
    assert len(rows) == len(options) == 8
    for row, own in zip(rows, options, strict=True):
        assert row["label"] in own
        assert list(row["probabilities"]) == own
        assert sum(row["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
        assert isinstance(row["rationale"], str)


def test_evaluate_with_no_flags_reports_position_metrics(trained, tmp_path):
    root, out = trained
    result = invoke(
        "evaluate", out, "--test", root / "data" / "val.csv", "--output", tmp_path / "e",
        "--no-bertscore",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    choices = metrics["choices"]
    assert metrics["n"] == 8 and metrics["macro_f1"] == choices["macro_f1"]
    assert choices["position_confusion"]["labels"] == ["A", "B", "C", "D"]
    assert sum(map(sum, choices["position_confusion"]["matrix"])) == 8
    assert choices["random_guess_accuracy"] == 0.25 and metrics["ece"] is not None
    for key in ("consistency", "sufficiency"):
        assert 0.0 <= metrics[key] <= 1.0
    lines = (tmp_path / "e" / "predictions.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert all(r["label"] in r["choices"] for r in records)
    assert all(r["label_from_rationale"] in r["choices"] for r in records)
    assert "option A" in result.output


def test_evaluate_and_predict_can_rank_options_another_way_than_the_model_saved(trained, tmp_path):
    root, out = trained
    saved = json.loads((out / "model" / "backbone.json").read_text())["option_scoring"]
    other = "mean" if saved == "sum" else "sum"
    ranked = {}
    for scoring in (saved, other):
        folder = tmp_path / scoring
        result = invoke(
            "evaluate", out, "--test", root / "data" / "val.csv", "--output", folder,
            "--no-bertscore", "--no-rationale", "--option-scoring", scoring,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert json.loads((folder / "metrics.json").read_text())["option_scoring"] == scoring
        lines = (folder / "predictions.jsonl").read_text().splitlines()
        ranked[scoring] = [json.loads(line)["probabilities"] for line in lines]
    assert ranked[saved] != ranked[other]  # sums and per-token means give other probabilities
    result = invoke(
        "predict", out, "--input", root / "data" / "val.csv", "--output", tmp_path / "p.jsonl",
        "--no-rationale", "--option-scoring", "median",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "unknown option scoring 'median'" in result.output and "Traceback" not in result.output


def test_a_bad_answer_format_flag_is_a_user_error(trained, tmp_path):
    root, out = trained
    result = invoke(
        "predict", out, "--input", root / "data" / "val.csv", "--output", tmp_path / "p.jsonl",
        "--choices-sep", ";",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--choices-sep" in result.output and "Traceback" not in result.output


def test_a_file_mixing_option_cases_and_label_set_cases_trains_and_predicts(tmp_path):
    from reason2decide.data.readers import read_examples, write_examples
    from tiny_models import write_toy_dataset

    choice_texts = write_choices_dataset(tmp_path / "mc", n_train=16, n_val=8)
    plain_texts = write_toy_dataset(tmp_path / "plain", n_train=16, n_val=8)
    columns = ColumnMap(
        template=TEMPLATE, choices=ChoiceColumns(columns=("opa", "opb", "opc", "opd")), label="cop"
    )
    for split in ("train", "val"):
        mixed = read_examples(tmp_path / "mc" / f"{split}.csv", columns) + read_examples(
            tmp_path / "plain" / f"{split}.jsonl"
        )
        write_examples(tmp_path / f"{split}.jsonl", mixed)
    model = save_tiny_t5(tmp_path / "t5", choice_texts + plain_texts)
    out = tmp_path / "run"
    result = invoke(
        "train", "--train", tmp_path / "train.jsonl", "--val", tmp_path / "val.jsonl",
        "--output", out, "--model", model, "--method", "r2d-no-stage1", "--labels", "yes,no",
        "--max-steps", "4", "--batch-size", "8", "--eval-steps", "2", "--lr", "0.003",
        "--max-input-length", "64", "--max-target-length", "12",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = invoke("predict", out, "--input", tmp_path / "val.jsonl", "-o", tmp_path / "p.jsonl")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    cases = read_examples(tmp_path / "val.jsonl")
    for row, case in zip(rows, cases, strict=True):
        expected = list(case.choices) if case.choices is not None else ["no", "yes"]
        assert row["label"] in expected and sorted(row["probabilities"]) == sorted(expected)
