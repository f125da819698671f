"""Loading a model for inference refuses damaged and foreign files with one named error: a
labels.json that is not a label set or disagrees with the model, a damaged reason2decide.json,
a folder of another tool; ``r2d predict`` prints it as one line, never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reason2decide.cli import app
from reason2decide.errors import R2DError
from reason2decide.inference import Predictor
from tiny_models import save_tiny_t5

LABELS = ["yes", "no", "maybe"]


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    texts = ["predict: explain: " + " ".join(LABELS)]
    folder = save_tiny_t5(tmp_path_factory.mktemp("model"), texts)
    (folder / "labels.json").write_text(json.dumps({"labels": LABELS}))
    info = {"method": "r2d", "rationale_prompt": "conditioned", "label_decoding": "score"}
    (folder / "reason2decide.json").write_text(json.dumps({**info, "labels": LABELS}))
    return folder


@pytest.fixture
def copy(good: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(good, tmp_path / "model"))


def test_a_good_folder_loads_with_its_labels(good: Path) -> None:
    assert Predictor.from_output(good).labels == LABELS


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        ('{"labels": ["yes", ', r"labels\.json:1: not valid JSON"),
        ('["yes", "no"]', "not a label set"),
        ('{"labels": []}', "not a label set"),
        ('{"labels": ["yes", 3]}', "not a label: 3"),
        ('{"labels": ["yes", "yes"]}', "label 'yes' is listed twice"),
        ('{"labels": ["yes", "no"]}', "disagree with the 3 the model was trained on"),
    ],
)
def test_a_bad_labels_file_is_named(copy: Path, content: str, pattern: str) -> None:
    (copy / "labels.json").write_text(content)
    with pytest.raises(R2DError, match=pattern) as info:
        Predictor.from_output(copy)
    assert "labels.json" in str(info.value)


def test_a_damaged_model_info_is_named(copy: Path) -> None:
    (copy / "reason2decide.json").write_bytes(b"\x00\x01garbage")
    with pytest.raises(R2DError, match=r"reason2decide\.json.*not valid JSON"):
        Predictor.from_output(copy)


def test_predict_prints_one_line_for_a_foreign_folder(tmp_path: Path) -> None:
    foreign = tmp_path / "other-tool"
    foreign.mkdir()
    (foreign / "weights.ckpt").write_bytes(b"\x80\x04not ours")
    result = CliRunner().invoke(app, ["predict", str(foreign), "--text", "cough"])
    assert result.exit_code == 2, result.output
    assert "not a model folder: it has no config.json" in result.output
    assert "Traceback" not in result.output
