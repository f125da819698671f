"""``r2d train/predict/evaluate`` from the command line: the happy path on a tiny model, and
user errors that exit 2 with one message and no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reason2decide.cli import app
from tiny_models import save_tiny_t5, write_toy_dataset

runner = CliRunner()


def r2d(*args: str) -> subprocess.CompletedProcess:
    """Run the real console entry point in a fresh interpreter."""
    code = "import sys; from reason2decide.cli import main; sys.argv[0] = 'r2d'; main()"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli")
    texts = write_toy_dataset(root / "data")
    return root / "data", save_tiny_t5(root / "t5", texts)


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def assert_user_error(result, *fragments: str) -> None:
    output = result.output + (result.stderr if hasattr(result, "stderr") else "")
    assert result.exit_code == 2, output
    assert "Traceback" not in output
    for fragment in fragments:
        assert fragment in output, output


def test_train_predict_evaluate_from_the_command_line(toy, tmp_path):
    data, model = toy
    config = tmp_path / "run.yaml"
    config.write_text(
        f"train: {data / 'train.jsonl'}\nval: {data / 'val.jsonl'}\nmodel: {model}\n"
        "max-steps: 6\nstage1-max-steps: 4\nbatch-size: 8\neval-steps: 3\nlr: 0.003\n"
        "max-input-length: 48\nmax-target-length: 12\n"
    )
    out = tmp_path / "run"
    result = invoke("train", "--config", config, "--output", out, "--logging-steps", "1")
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["max_steps"] == 6 and run["config"]["logging_steps"] == 1
    card = (out / "model" / "README.md").read_text()
    assert card.startswith("---\n") and "not a medical device" in card
    assert "method: `r2d`" in card and "`no`, `yes`" in card and "Not evaluated yet" in card

    result = invoke("predict", out, "--input", data / "val.jsonl", "--output", tmp_path / "p.jsonl")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert len(rows) == 16 and {"id", "label", "probabilities", "rationale"} <= set(rows[0])
    assert all(r["label"] in ("no", "yes") for r in rows)

    result = invoke("predict", out, "--text", "does a child with fever need a doctor")
    assert result.exit_code == 0 and '"label"' in result.output

    result = invoke(
        "evaluate",
        out,
        "--test",
        data / "val.jsonl",
        "--output",
        tmp_path / "eval",
        "--no-bertscore",
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["n"] == 16 and 0.0 <= metrics["accuracy"] <= 1.0
    assert {"macro_f1", "per_class", "confusion_matrix", "bleu", "ece"} <= set(metrics)
    assert metrics["bertscore_f1"] is None
    for key in ("consistency", "sufficiency", "gold_robustness"):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["rationale_length"]["generated_words"]["mean"] >= 0
    assert metrics["inference"]["with_rationale"] is True
    assert 0.0 <= metrics["label_in_generated_rationale"] <= 1.0
    assert metrics["label_in_gold_rationale"] == 1.0  # the toy rationales name their label
    assert metrics["faithfulness_label_masking"] == {"placeholder": "[LABEL]"}
    assert metrics["truncation"]["limits"]["max_input_length"] == 48
    assert metrics["truncation"]["test"]["examples"] == 16
    assert "token limits: prompts 48, targets 12" in result.output
    assert "examples have a prompt cut at 48 tokens" in result.output
    assert (tmp_path / "eval" / "predictions.jsonl").is_file()
    assert "accuracy" in result.output
    card = (out / "model" / "README.md").read_text()
    assert "model-index:" in card and f"| accuracy | {round(metrics['accuracy'], 4)} |" in card
    assert "Updated the model card" in result.output

    # the same output folder again: refused without --resume/--overwrite
    result = invoke("train", "--config", config, "--output", out)
    assert_user_error(result, "not empty", "--resume")
    # --resume of a complete run skips both stages; a contradicting flag is refused
    result = invoke("train", "--output", out, "--resume")
    assert result.exit_code == 0 and "already complete" in result.output
    assert "| accuracy |" in (out / "model" / "README.md").read_text()  # metrics kept
    result = invoke("train", "--output", out, "--resume", "--lr", "0.1")
    assert_user_error(result, "lr=")
    # the YAML that started the run resumes it; a YAML that contradicts it is refused
    result = invoke("train", "--config", config, "--output", out, "--resume")
    assert result.exit_code == 0 and "already complete" in result.output
    config.write_text(config.read_text().replace("lr: 0.003", "lr: 0.1"))
    result = invoke("train", "--config", config, "--output", out, "--resume")
    assert_user_error(result, "lr=0.003", "run.yaml")


def test_missing_training_file_names_the_file(tmp_path):
    result = r2d("train", "--train", str(tmp_path / "nope.jsonl"), "--output", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "nope.jsonl" in result.stderr and "Traceback" not in result.stderr


def test_malformed_line_names_file_and_line(toy, tmp_path):
    data, model = toy
    bad = tmp_path / "bad.jsonl"
    lines = (data / "train.jsonl").read_text().splitlines()
    lines[2] = '{"id": "x", "question": '
    bad.write_text("\n".join(lines) + "\n")
    result = invoke("train", "--train", bad, "--output", tmp_path / "o", "--model", model)
    assert_user_error(result, "bad.jsonl:3")


def test_missing_rationale_column_is_refused_for_r2d(tmp_path, toy):
    _, model = toy
    path = tmp_path / "labels_only.csv"
    path.write_text("question,label\nfever,yes\nitch,no\n")
    result = invoke("train", "--train", path, "--output", tmp_path / "o", "--model", model)
    assert_user_error(result, "labels_only.csv", "rationale")


def test_unknown_config_key_and_bad_value(tmp_path, toy):
    data, _ = toy
    config = tmp_path / "c.yaml"
    config.write_text(f"train: {data / 'train.jsonl'}\noutput: {tmp_path / 'o'}\nlearning_rte: 1\n")
    assert_user_error(invoke("train", "--config", config), "learning_rte")
    result = invoke(
        "train", "--train", data / "train.jsonl", "--output", tmp_path / "o", "--alpha", "1.5"
    )
    assert_user_error(result, "--alpha")


def test_resume_without_a_run_and_bad_model_dir(tmp_path):
    assert_user_error(invoke("train", "--output", tmp_path, "--resume"), "nothing to resume")
    result = invoke("predict", tmp_path / "missing", "--text", "x")
    assert_user_error(result, "missing")
    result = invoke(
        "evaluate", tmp_path / "missing", "--test", tmp_path / "t.jsonl", "-o", tmp_path
    )
    assert_user_error(result)


def test_stage_two_without_init_is_refused(tmp_path, toy):
    data, _ = toy
    result = invoke(
        "train", "--train", data / "train.jsonl", "--output", tmp_path / "o", "--stage", "2"
    )
    assert_user_error(result, "--init")


def test_every_config_option_has_a_flag():
    import inspect

    from reason2decide.cli.train import train
    from reason2decide.training.config import TrainConfig

    params = set(inspect.signature(train).parameters) | {"train"}
    assert [f for f in TrainConfig.model_fields if f not in params] == []


def test_own_warnings_print_as_one_line_others_as_usual():
    from reason2decide.cli.app import _format_own_warning

    own = _format_own_warning(UserWarning("3 duplicates"), UserWarning, "/x/reason2decide/a.py", 7)
    assert own == "warning: 3 duplicates\n"
    other = _format_own_warning(FutureWarning("old"), FutureWarning, "/x/transformers/b.py", 9)
    assert "transformers/b.py:9" in other and "FutureWarning" in other


def test_old_warmup_fraction_flag_still_sets_w_with_a_warning(tmp_path, toy, monkeypatch):
    from reason2decide.training import recipes as training_runner

    seen = {}

    def fake_run_training(config, **kwargs):
        seen["config"] = config
        return {"wall_time_s": 0.0}

    monkeypatch.setattr(training_runner, "run_training", fake_run_training)
    data, _ = toy
    args = ["train", "--train", data / "train.jsonl", "--output", tmp_path / "o"]
    with pytest.warns(FutureWarning, match="--alpha-warmup-fraction"):
        result = invoke(*args, "--warmup-fraction", "0.2")
    assert result.exit_code == 0, result.output
    assert seen["config"].alpha_warmup_fraction == 0.2
    result = invoke(*args, "--alpha-warmup-fraction", "0.3")
    assert result.exit_code == 0, result.output
    assert seen["config"].alpha_warmup_fraction == 0.3
    result = invoke(*args, "--alpha-warmup-fraction", "0.3", "--warmup-fraction", "0.2")
    assert_user_error(result, "give only 'alpha_warmup_fraction'")
