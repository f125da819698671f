"""Stage 1 can learn from other rationales (e.g. LLM-written) than Stage 2 (clinicians')."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reason2decide.data.training_data import load_training_data
from reason2decide.errors import R2DError
from reason2decide.training import build_config, run_training
from tiny_models import save_tiny_t5, write_toy_dataset


def add_llm_column(path: Path, drop_id: str | None = None) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for row in rows:
        row["llm_rationale"] = f"llm says {row['label']}"
    rows = [r for r in rows if r["id"] != drop_id]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")


@pytest.fixture()
def data(tmp_path):
    write_toy_dataset(tmp_path)
    add_llm_column(tmp_path / "train.jsonl")
    add_llm_column(tmp_path / "val.jsonl")
    return tmp_path


def flags(data: Path, **extra):
    return {"train": data / "train.jsonl", "val": data / "val.jsonl", "output": data / "o", **extra}


def test_stage1_column_replaces_only_stage1_rationales(data):
    config = build_config(flags(data, stage1_rationale_col="llm_rationale"))
    loaded = load_training_data(config, needs_rationale=True)
    s1_train, s1_val = loaded.for_stage("stage1")
    s2_train, s2_val = loaded.for_stage("stage2")
    assert [e.id for e in s1_train] == [e.id for e in s2_train]
    assert all(e.rationale == f"llm says {e.label}" for e in s1_train + s1_val)
    assert all(not e.rationale.startswith("llm says") for e in s2_train + s2_val)
    assert loaded.sources["rationales"]["stage1"]["column"] == "llm_rationale"
    assert loaded.sources["rationales"]["stage2"]["column"] == "rationale"


def test_a_row_without_the_stage1_column_is_named(data):
    rows = (data / "val.jsonl").read_text().splitlines()
    broken = json.loads(rows[0])
    del broken["llm_rationale"]
    (data / "val.jsonl").write_text("\n".join([json.dumps(broken), *rows[1:]]) + "\n")
    config = build_config(flags(data, stage1_rationale_col="llm_rationale"))
    with pytest.raises(R2DError, match="val.jsonl"):
        load_training_data(config, needs_rationale=True)


def test_stage1_file_trains_stage1_and_is_recorded(data, tmp_path):
    texts = [line for line in (data / "train.jsonl").read_text().splitlines()]
    model = save_tiny_t5(tmp_path / "t5", [*texts, "llm says predict explain given label"])
    stage1_file = tmp_path / "teacher.jsonl"
    stage1_file.write_text((data / "train.jsonl").read_text())
    config = build_config(
        flags(
            data,
            model=str(model),
            stage1_train=stage1_file,
            stage1_rationale_col="llm_rationale",
            max_steps=2,
            stage1_max_steps=2,
            batch_size=8,
            eval_steps=2,
            max_input_length=48,
            max_target_length=12,
        )
    )
    manifest = run_training(config, say=lambda _: None)
    sources = manifest["rationale_sources"]
    assert sources["stage1"]["file"] == str(stage1_file)
    assert sources["stage1"]["column"] == "llm_rationale"
    assert sources["stage2"]["column"] == "rationale"
    assert manifest["data"]["stage1_train"]["sha256"]


def test_sources_are_recorded_only_for_stages_that_learn_rationales(data):
    # dss has no Stage 1: its missing Stage-1 column is not even read; sft learns no rationale.
    (data / "val.jsonl").write_text(
        "".join(
            json.dumps({k: v for k, v in json.loads(line).items() if k != "llm_rationale"}) + "\n"
            for line in (data / "val.jsonl").read_text().splitlines()
        )
    )
    config = build_config(flags(data, stage1_rationale_col="llm_rationale", method="dss"))
    dss = load_training_data(config, needs_rationale=True, stages=("dss",))
    assert dss.sources["rationales"] == {"dss": {"file": str(config.train), "column": "rationale"}}
    sft = load_training_data(config, needs_rationale=False, stages=("sft",))
    assert sft.sources["rationales"] == {}
