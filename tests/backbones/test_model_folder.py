"""A damaged or foreign model folder is refused with one named error before transformers reads
it: no config, no tokenizer, pickled weights only, a truncated or garbled safetensors file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reason2decide.backbones import load_backbone
from reason2decide.backbones.folder import check_model_folder, check_safetensors
from reason2decide.errors import R2DError
from tiny_models import save_tiny_t5

TEXTS = ["predict: explain: yes no maybe a b c"]


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return save_tiny_t5(tmp_path_factory.mktemp("good"), TEXTS)


@pytest.fixture
def copy(good: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(good, tmp_path / "model"))


def _refused(folder: Path, pattern: str) -> None:
    with pytest.raises(R2DError, match=pattern) as info:
        load_backbone(str(folder))
    assert str(folder) in str(info.value)


def test_a_good_folder_passes_and_loads(good: Path) -> None:
    check_model_folder(good)
    assert load_backbone(str(good)).tokenizer is not None


def test_no_config_is_not_a_model_folder(copy: Path) -> None:
    (copy / "config.json").unlink()
    _refused(copy, "not a model folder: it has no config.json")


def test_no_tokenizer_is_named(copy: Path) -> None:
    for path in copy.iterdir():
        if "token" in path.name or path.suffix == ".model" or path.name.startswith("vocab"):
            path.unlink()
    _refused(copy, "has no tokenizer")


def test_pickled_weights_are_never_loaded(copy: Path) -> None:
    import torch

    (copy / "model.safetensors").unlink()
    torch.save({"w": torch.zeros(1)}, copy / "pytorch_model.bin")
    _refused(copy, r"weights only as pickles \(pytorch_model\.bin\)")
    (copy / "pytorch_model.bin").unlink()
    _refused(copy, r"no weights file")


@pytest.mark.parametrize("keep", [0.5, 0.999, 4 / 1_000_000])
def test_a_truncated_weights_file_is_named(copy: Path, keep: float) -> None:
    weights = copy / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: max(1, int(len(data) * keep))])
    with pytest.raises(R2DError, match=r"model\.safetensors: damaged weights file"):
        check_safetensors(weights)
    _refused(copy, "damaged weights file")


def test_a_garbled_header_is_named(copy: Path) -> None:
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[8:16] = b"\xff" * 8
    weights.write_bytes(bytes(data))
    _refused(copy, "damaged weights file: its header is not valid JSON")


def test_a_damaged_backbone_file_is_named(copy: Path) -> None:
    (copy / "backbone.json").write_text('{"kind": ')
    with pytest.raises(R2DError, match=r"backbone\.json:1: not valid JSON"):
        load_backbone(str(copy))
