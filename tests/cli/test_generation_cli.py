"""The rationale decoding flags of ``r2d predict``, ``r2d evaluate`` and ``r2d bench``: one
flag per setting, passed through, recorded with the results; bad values are user errors."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reason2decide.cli import app
from reason2decide.cli.generation import flag
from reason2decide.generation import GenerationSettings
from tiny_models import save_tiny_t5, write_toy_dataset

runner = CliRunner()
FLAGS = [
    "--num-beams",
    "2",
    "--no-repeat-ngram-size",
    "2",
    "--repetition-penalty",
    "1.3",
    "--length-penalty",
    "0.8",
    "--max-new-tokens",
    "5",
]
GIVEN = GenerationSettings(
    num_beams=2,
    no_repeat_ngram_size=2,
    repetition_penalty=1.3,
    length_penalty=0.8,
    max_new_tokens=5,
)


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path]:
    """Toy data and an untrained tiny T5 folder with its label set (a bare model folder)."""
    root = tmp_path_factory.mktemp("gen-cli")
    texts = write_toy_dataset(root / "data", n_train=4, n_val=6)
    model = save_tiny_t5(root / "t5", texts)
    (model / "labels.json").write_text(json.dumps({"labels": ["no", "yes"]}))
    return root / "data", model


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("command", ["predict", "evaluate", "bench"])
def test_every_setting_has_a_flag_with_its_default(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for item in fields(GenerationSettings):
        assert flag(item.name) in text, item.name
    assert f"[default: {GenerationSettings().no_repeat_ngram_size}]" in text


def test_evaluate_records_the_settings_it_used(toy, tmp_path):
    data, model = toy
    out = tmp_path / "eval"
    result = invoke(
        "evaluate", model, "--test", data / "val.jsonl", "--output", out, "--no-bertscore", *FLAGS
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["generation"] == GIVEN.to_dict()
    assert "repetition_rate" in metrics and metrics["repetition"]["ngram"] == 3
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    # the toy tokenizer is word-level: at most 5 new tokens is at most 5 words
    assert rows and all(len(r["rationale"].split()) <= 5 for r in rows)

    result = invoke("evaluate", model, "--test", data / "val.jsonl", "--output", tmp_path / "d")
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "d" / "metrics.json").read_text())["generation"]
    assert saved == GenerationSettings().to_dict()


def test_predict_rows_record_the_settings(toy, tmp_path):
    data, model = toy
    out = tmp_path / "p.jsonl"
    result = invoke("predict", model, "--input", data / "val.jsonl", "--output", out, *FLAGS)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all(r["generation"] == GIVEN.to_dict() for r in rows)
    result = invoke(
        "predict", model, "--input", data / "val.jsonl", "--output", out, "--no-rationale"
    )
    assert result.exit_code == 0, result.output
    assert all("generation" not in json.loads(line) for line in out.read_text().splitlines())


@pytest.mark.parametrize("command", ["predict", "bench"])
def test_bad_value_is_a_user_error_naming_the_setting(toy, tmp_path, command):
    data, model = toy
    if command == "predict":
        result = invoke("predict", model, "--text", "fever", "--num-beams", "0")
    else:
        result = invoke("bench", "--data", data, "--output", tmp_path, "--num-beams", "0")
    assert result.exit_code == 2, result.output
    assert "num_beams" in result.output and "Traceback" not in result.output


def test_bench_passes_the_settings_on(toy, tmp_path, monkeypatch):
    from reason2decide.bench import execute as bench_runner

    seen = {}

    def stop(spec, **_):
        seen["generation"] = spec.generation
        raise KeyboardInterrupt

    monkeypatch.setattr(bench_runner, "run_bench", stop)
    result = invoke("bench", "--data", toy[0], "--output", tmp_path, *FLAGS)
    assert result.exit_code == 130, result.output
    assert seen["generation"] == GIVEN
