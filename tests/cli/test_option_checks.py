"""Bad options and output paths are one-line user errors (exit 2), found before a model is loaded
or any evaluation or LLM work is done: never a traceback, never after the work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import pytest
import torch
from typer.testing import CliRunner

from reason2decide.cli import app
from reason2decide.inference import Predictor

runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result, *needles: str) -> str:
    """The output of a refused command, checked to be a user error naming ``needles``."""
    text = " ".join(result.output.split())
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in text, (needle, text)
    return text


@pytest.fixture
def no_model_loads(monkeypatch):
    """Any model load fails the test: the error must come first."""

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the bad option was refused")

    monkeypatch.setattr("reason2decide.inference.predictor.load_backbone", refuse)


def _command_line(command: str, tmp_path: Path) -> list[object]:
    model = tmp_path / "model"
    model.mkdir(exist_ok=True)
    test = tmp_path / "t.jsonl"
    test.write_text(json.dumps({"id": 1, "question": "q", "label": "yes"}) + "\n")
    return {
        "predict": ["predict", model, "--text", "a case"],
        "evaluate": ["evaluate", model, "--test", test, "--output", tmp_path / "eval"],
        "serve": ["serve", model],
    }[command]


@pytest.mark.parametrize("command", ["predict", "evaluate", "serve"])
def test_a_device_name_torch_cannot_read_is_refused_before_loading(
    command, tmp_path, no_model_loads
):
    result = invoke(*_command_line(command, tmp_path), "--device", "gpu")
    one_line_error(result, "field 'device'", "'gpu' is not a device name")


@pytest.mark.parametrize("command", ["predict", "evaluate", "serve"])
def test_an_absent_accelerator_is_refused_before_loading(
    command, tmp_path, no_model_loads, monkeypatch
):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = invoke(*_command_line(command, tmp_path), "--device", "cuda")
    one_line_error(result, "field 'device'", "CUDA is not available on this machine")


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_an_unknown_label_decoding_is_refused_by_the_parser(command, tmp_path, no_model_loads):
    result = invoke(*_command_line(command, tmp_path), "--label-decoding", "foo")
    one_line_error(result, "--label-decoding", "'foo'")


def test_the_label_decoding_choices_are_the_ones_the_code_supports():
    from reason2decide.cli.predict import LabelDecoding
    from reason2decide.methods.label_decoding import DECODING_MODES

    assert get_args(LabelDecoding) == DECODING_MODES


@pytest.mark.parametrize("command", ["predict", "evaluate"])
@pytest.mark.parametrize("size", ["0", "-2"])
def test_a_batch_size_below_one_is_refused(command, size, tmp_path, no_model_loads):
    result = invoke(*_command_line(command, tmp_path), "--batch-size", size)
    one_line_error(result, "--batch-size", "greater than or equal to 1")


@pytest.mark.parametrize("limit", ["0", "-3"])
def test_an_evaluate_limit_below_one_is_refused(limit, tmp_path, no_model_loads):
    result = invoke(*_command_line("evaluate", tmp_path), "--limit", limit)
    one_line_error(result, "--limit", "greater than or equal to 1")


def test_an_unknown_server_log_level_is_refused_before_loading(tmp_path, no_model_loads):
    result = invoke(*_command_line("serve", tmp_path), "--log-level", "verbose")
    one_line_error(result, "--log-level", "'verbose'")


def test_a_server_log_level_in_capitals_is_accepted_and_passed_on_in_lower_case(
    tmp_path, monkeypatch
):
    seen: dict[str, str] = {}

    class Served:
        identity = {"method": "r2d", "backbone": "t5", "run_id": "x"}

    monkeypatch.setattr("reason2decide.serve.model.load_served_model", lambda *a, **k: Served())
    monkeypatch.setattr(
        "reason2decide.serve.server.serve",
        lambda served, settings, log_level: seen.update(level=log_level),
    )
    result = invoke(*_command_line("serve", tmp_path), "--log-level", "WARNING")
    assert result.exit_code == 0, result.output
    assert seen == {"level": "warning"}


def test_evaluate_refuses_an_output_that_is_a_file_before_evaluating(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before --output was checked")

    monkeypatch.setattr(Predictor, "from_output", classmethod(refuse))
    line = _command_line("evaluate", tmp_path)
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    result = invoke(*line[:-1], taken)
    one_line_error(result, str(taken), "exists and is not a folder")
    nested = tmp_path / "new" / "eval"  # a folder that does not exist yet is made up front
    monkeypatch.setattr(Predictor, "from_output", classmethod(refuse))
    result = invoke(*line[:-1], nested)
    assert result.exit_code == 1 and "before --output was checked" in str(result.exception)
    assert nested.is_dir()


def test_zero_shot_refuses_an_output_that_is_a_file_before_any_llm_call(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the LLM was asked before --output was checked")

    monkeypatch.setattr("reason2decide.evaluation.pipeline.evaluate_llm_zero_shot", refuse)
    test = tmp_path / "t.jsonl"
    test.write_text(json.dumps({"id": 1, "question": "q", "label": "yes"}) + "\n")
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    result = invoke(
        "zero-shot", "--test", test, "--output", taken, "--labels", "yes,no",
        "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
    )  # fmt: skip
    one_line_error(result, str(taken), "exists and is not a folder")


def test_predict_refuses_an_output_that_is_a_folder_before_loading(tmp_path, no_model_loads):
    folder = tmp_path / "out"
    folder.mkdir()
    result = invoke(*_command_line("predict", tmp_path), "--output", folder)
    one_line_error(result, str(folder), "is a folder, not a file")
    blocked = tmp_path / "t.jsonl" / "p.jsonl"  # its parent is a file
    result = invoke(*_command_line("predict", tmp_path), "--output", blocked)
    one_line_error(result, str(blocked), "is not a folder")


@pytest.mark.parametrize("command", ["train", "bench"])
def test_a_config_file_that_cannot_be_read_is_a_user_error(command, tmp_path):
    folder = tmp_path / "config.yaml"
    folder.mkdir()
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("note: caf\u00e9\n".encode("latin-1"))
    extra = ["--output", tmp_path / "out"]
    if command == "bench":
        data = tmp_path / "data"
        data.mkdir()
        for split in ("train", "val", "test"):
            row = {"id": 1, "question": "q", "label": "yes", "rationale": "r"}
            (data / f"{split}.jsonl").write_text(json.dumps(row) + "\n")
        extra += ["--data", data]
    result = invoke(command, "-c", folder, *extra)
    one_line_error(result, str(folder), "is a folder, not a config file")
    result = invoke(command, "-c", latin1, *extra)
    one_line_error(result, str(latin1), "not UTF-8")


def test_evaluate_warns_about_a_model_card_in_another_encoding(tmp_path):
    from tiny_models import save_tiny_t5

    model_dir = save_tiny_t5(tmp_path / "tiny", ["predict: explain: yes no case question"])
    (model_dir / "README.md").write_bytes("---\nnote: caf\u00e9\n---\n".encode("latin-1"))
    test = tmp_path / "t.jsonl"
    test.write_text(
        "\n".join(
            json.dumps({"id": i, "question": f"case {i} question", "label": label})
            for i, label in enumerate(["yes", "no"])
        )
    )
    out = tmp_path / "eval"
    result = invoke(
        "evaluate", model_dir, "--test", test, "--output", out, "--device", "cpu",
        "--label-decoding", "generate", "--no-rationale", "--no-bertscore", "--no-faithfulness",
    )  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    assert "could not update the model card" in " ".join(result.output.split())
    assert (out / "metrics.json").is_file()
