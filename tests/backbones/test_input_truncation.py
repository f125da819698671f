"""Which part of an over-long prompt is kept: the end is cut (default), or with "middle" the
first quarter and the last three quarters stay, on both families, and the choice is saved."""

from __future__ import annotations

import pytest

from reason2decide.backbones import load_backbone
from tiny_models import save_tiny_llama, save_tiny_t5

WORDS = [f"w{i}" for i in range(40)]
TEXTS = [" ".join(WORDS), "predict: explain: given label:"]


@pytest.fixture(scope="module", params=["t5", "llama"])
def folder(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(request.param)
    (save_tiny_t5 if request.param == "t5" else save_tiny_llama)(directory, TEXTS)
    return directory


def test_cut_prompt_keeps_head_and_tail(folder):
    backbone = load_backbone(str(folder), max_input_length=16, input_truncation="middle")
    ids = list(range(100))
    assert backbone.cut_prompt(ids, 16) == [0, 1, 2, 3, *range(88, 100)]
    assert backbone.cut_prompt(ids[:10], 16) == ids[:10]
    backbone.input_truncation = "end"
    assert backbone.cut_prompt(ids, 16) == list(range(16))
    with pytest.raises(ValueError, match="input truncation"):
        backbone.input_truncation = "start"


def _kept_words(backbone, text):
    batch = backbone.encode_pairs([text], ["x"])
    ids = batch["input_ids"][0][batch["attention_mask"][0].bool()].tolist()
    return set(backbone.tokenizer.decode(ids).split()) & set(WORDS)


def test_middle_keeps_the_last_words_end_keeps_the_first(folder):
    text = " ".join(WORDS)
    end = load_backbone(str(folder), max_input_length=16)
    middle = load_backbone(str(folder), max_input_length=16, input_truncation="middle")
    assert "w0" in _kept_words(end, text) and "w39" not in _kept_words(end, text)
    assert {"w0", "w39"} <= _kept_words(middle, text)
    assert len(_kept_words(middle, text)) == len(_kept_words(end, text))


def test_saved_model_keeps_its_truncation(folder, tmp_path):
    backbone = load_backbone(str(folder), max_input_length=16, input_truncation="middle")
    backbone.save(tmp_path / "saved")
    assert load_backbone(str(tmp_path / "saved")).input_truncation == "middle"
    assert load_backbone(str(tmp_path / "saved"), input_truncation="end").input_truncation == "end"
