"""Label decoding follows the prepared data: generation for an open label set (dataset.json),
and closed-set scoring of a huge label set is refused unless forced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reason2decide.errors import R2DError
from reason2decide.training import build_config, run_training
from reason2decide.training.config import MAX_SCORED_LABELS, check_label_decoding


def write_split(folder: Path, name: str, labels: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.jsonl"
    rows = [
        {"id": f"{name}-{i}", "question": f"case {i}", "label": label, "rationale": f"why {i}"}
        for i, label in enumerate(labels)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_record(folder: Path, label_set: str, files=("train.jsonl", "val.jsonl")) -> None:
    splits = {name.split(".")[0]: {"file": name, "examples": 1} for name in files}
    record = {"source": "medmcqa", "label_set": label_set, "splits": splits}
    (folder / "dataset.json").write_text(json.dumps(record), encoding="utf-8")


def config_for(train: Path, **flags):
    return build_config({"train": train, "output": train.parent / "run", **flags})


def test_open_label_set_of_a_prepared_dataset_defaults_to_generation(tmp_path):
    train = write_split(tmp_path, "train", ["a", "b"])
    write_record(tmp_path, "open")
    assert config_for(train).label_decoding == "generate"
    # given explicitly, the user's choice stands (and is checked against the label count)
    assert config_for(train, label_decoding="score").label_decoding == "score"


@pytest.mark.parametrize(
    ("label_set", "files"),
    [("closed", ("train.jsonl",)), ("open", ("other.jsonl",))],
)
def test_closed_or_unrelated_records_keep_scoring(tmp_path, label_set, files):
    train = write_split(tmp_path, "train", ["a", "b"])
    write_record(tmp_path, label_set, files)
    assert config_for(train).label_decoding == "score"


def test_no_record_keeps_scoring(tmp_path):
    assert config_for(write_split(tmp_path, "train", ["a", "b"])).label_decoding == "score"


def test_scoring_more_labels_than_the_limit_needs_force(tmp_path):
    train = write_split(tmp_path, "train", ["a", "b"])
    check_label_decoding(config_for(train), MAX_SCORED_LABELS)
    with pytest.raises(R2DError, match="--force-label-scoring") as caught:
        check_label_decoding(config_for(train), MAX_SCORED_LABELS + 1)
    assert "--label-decoding generate" in str(caught.value)
    check_label_decoding(config_for(train, force_label_scoring=True), MAX_SCORED_LABELS + 1)
    check_label_decoding(config_for(train, label_decoding="generate"), MAX_SCORED_LABELS + 1)


def test_training_refuses_before_loading_a_model(tmp_path):
    labels = [f"answer {i}" for i in range(MAX_SCORED_LABELS + 1)]
    train = write_split(tmp_path / "data", "train", labels)
    val = write_split(tmp_path / "data", "val", labels)
    config = config_for(train, val=val, model="no-such-model")
    with pytest.raises(R2DError, match=f"closed-set scoring of {len(labels)} labels"):
        run_training(config, say=lambda _: None)
