"""ObjectiveTrainer details: learning-rate groups for parameters that were not pretrained."""

from __future__ import annotations

import pytest
from transformers import TrainingArguments

from reason2decide.backbones import load_backbone
from reason2decide.data.readers import read_examples
from reason2decide.methods import SFTObjective
from reason2decide.training.trainer import ExampleDataset, ObjectiveTrainer
from tiny_models import save_tiny_t5, write_toy_dataset


@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_fresh_parameters_get_their_own_learning_rate(tmp_path, scale):
    texts = write_toy_dataset(tmp_path / "data", n_train=8, n_val=4)
    backbone = load_backbone(str(save_tiny_t5(tmp_path / "t5", texts)))
    examples = read_examples(tmp_path / "data" / "train.jsonl")
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"), learning_rate=1e-3, report_to="none", use_cpu=True
    )
    trainer = ObjectiveTrainer(
        model=backbone.model,
        args=args,
        train_dataset=ExampleDataset(examples),
        objective=SFTObjective(backbone, ["no", "yes"]),
        val_examples=examples,
        fresh_parameters=("EncDecAttention",),
        fresh_lr_scale=scale,
    )
    optimizer = trainer.create_optimizer()
    fresh = {id(p) for n, p in backbone.model.named_parameters() if "EncDecAttention" in n}
    grouped = [p for g in optimizer.param_groups for p in g["params"]]
    assert (
        len(grouped)
        == len({id(p) for p in grouped})
        == len([p for p in backbone.model.parameters() if p.requires_grad])
    )
    if scale == 1.0:
        assert all(g["lr"] == pytest.approx(1e-3) for g in optimizer.param_groups)
        return
    for group in optimizer.param_groups:
        kinds = {id(p) in fresh for p in group["params"]}
        assert len(kinds) == 1, "a group mixes fresh and pretrained parameters"
        expected = 1e-3 * scale if kinds == {True} else 1e-3
        assert group["lr"] == pytest.approx(expected)
