"""--vocab-projection and --length-passes reach the backbone a stage trains."""

from __future__ import annotations

import pytest

from reason2decide.training.config import TrainConfig
from reason2decide.training.stage import load_stage_backbone
from tiny_models import save_tiny_t5


@pytest.mark.parametrize(
    "option,value",
    [
        ("vocab_projection", "targets"),
        ("vocab_projection", "all"),
        ("length_passes", "auto"),
        ("length_passes", "one"),
    ],
)
def test_the_stage_backbone_takes_the_configs_setting(tmp_path, option, value):
    model = save_tiny_t5(tmp_path / "t5", ["explain: a cough", "a mild cough"])
    config = TrainConfig(train=tmp_path / "t.jsonl", output=tmp_path / "o", **{option: value})
    backbone, _ = load_stage_backbone("stage1", str(model), config, say=lambda line: None)
    assert getattr(backbone, option) == value
