"""LoRA through peft on tiny T5 and Llama: only the adapted layers change, the saved model is
a plain merged model, and ``r2d predict`` reloads it offline."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from reason2decide.backbones import load_backbone
from reason2decide.cli import app
from reason2decide.errors import R2DError
from reason2decide.training import build_config, run_training
from reason2decide.training.lora import apply_lora
from tiny_models import save_tiny_llama, save_tiny_t5, write_toy_dataset

ADAPTED = {"t5": ("q", "v"), "llama": ("q_proj", "v_proj")}


@pytest.fixture(scope="module", params=["t5", "llama"])
def lora_run(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"lora-{request.param}")
    texts = write_toy_dataset(root / "data")
    save = save_tiny_t5 if request.param == "t5" else save_tiny_llama
    init = save(root / "init", texts)
    config = build_config(
        {
            "method": "r2d-no-stage1",
            "train": root / "data" / "train.jsonl",
            "val": root / "data" / "val.jsonl",
            "output": root / "run",
            "model": str(init),
            "max_steps": 4,
            "batch_size": 8,
            "eval_steps": 2,
            "lr": 1e-2,
            "max_input_length": 48,
            "max_target_length": 12,
            "lora_r": 4,
            "lora_alpha": 8,
        }
    )
    manifest = run_training(config, say=lambda _: None)
    return request.param, root, manifest


def test_only_adapted_layers_change_and_the_model_is_saved_merged(lora_run):
    family, root, manifest = lora_run
    lora = manifest["stages"]["stage2"]["lora"]
    assert lora["r"] == 4 and lora["target_modules"] == list(ADAPTED[family])
    saved = root / "run" / "model"
    total = load_backbone(str(saved)).num_parameters()
    assert 0 < lora["trainable_parameters"] < 0.2 * total
    assert not (saved / "adapter_config.json").exists()
    before = load_backbone(str(root / "init")).model.state_dict()
    after = load_backbone(str(saved)).model.state_dict()
    assert before.keys() == after.keys()
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert changed, "training moved no weight"
    for name in changed:
        assert name.rsplit(".", 2)[-2] in ADAPTED[family], name


def test_predict_reloads_the_lora_model_offline(lora_run, monkeypatch):
    _, root, _ = lora_run
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = CliRunner().invoke(
        app, ["predict", str(root / "run"), "--text", "does a child with rash need a doctor"]
    )
    assert result.exit_code == 0, result.output
    output = result.output
    assert json.loads(output[output.index("{") :])["label"] in ("no", "yes")


def test_unknown_target_modules_are_a_user_error(tmp_path):
    texts = write_toy_dataset(tmp_path / "data")
    backbone = load_backbone(str(save_tiny_t5(tmp_path / "t5", texts)))
    with pytest.raises(R2DError, match="no linear layer"):
        apply_lora(backbone, r=4, alpha=8, dropout=0.0, target_modules="nothing_like_this")
