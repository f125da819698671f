"""A training run says, per stage and split, how many prompts and targets its limits cut, and
records it (with the limits in force) in run.json."""

from __future__ import annotations

import json

from reason2decide.training import build_config, run_training
from tiny_models import save_tiny_t5, write_toy_dataset


def test_run_reports_and_records_cut_prompts_and_targets(tmp_path):
    texts = write_toy_dataset(tmp_path / "data")
    model = save_tiny_t5(tmp_path / "t5", texts)
    config = build_config(
        dict(
            method="dss",
            train=tmp_path / "data" / "train.jsonl",
            val=tmp_path / "data" / "val.jsonl",
            output=tmp_path / "run",
            model=str(model),
            max_steps=2,
            batch_size=8,
            eval_steps=2,
            max_input_length=10,
            max_target_length=4,
        )
    )
    lines: list[str] = []
    run_training(config, say=lines.append)

    # "predict: does a child with fever today need a doctor" is 12 tokens with </s> (> 10);
    # "fever means yes" is 4 with </s>, "tiredness means no" too: no target is cut
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    record = run["stages"]["dss"]["truncation"]
    assert record["train"]["examples"] == 48 and record["val"]["examples"] == 16
    assert record["train"]["prompts_cut_share"] == 1.0
    assert record["train"]["targets_cut"] == 0
    assert run["token_limits"]["max_input_length"] == 10
    assert run["token_limits"]["requested_max_input_length"] == 10
    assert "dss: token limits: prompts 10, targets 4" in lines
    assert any(
        line.startswith("dss: val: 100.0% (16) of 16 examples have a prompt cut at 10 tokens")
        for line in lines
    ), lines
