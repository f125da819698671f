"""--vocab-projection reaches the backbone a stage trains."""

from __future__ import annotations

import pytest

from reason2decide.training.config import TrainConfig
from reason2decide.training.stage import load_stage_backbone
from tiny_models import save_tiny_t5


@pytest.mark.parametrize("where", ["targets", "all"])
def test_the_stage_backbone_projects_where_the_config_says(tmp_path, where):
    model = save_tiny_t5(tmp_path / "t5", ["explain: a cough", "a mild cough"])
    config = TrainConfig(train=tmp_path / "t.jsonl", output=tmp_path / "o", vocab_projection=where)
    backbone, _ = load_stage_backbone("stage1", str(model), config, say=lambda line: None)
    assert backbone.vocab_projection == where
