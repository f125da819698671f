"""Ranking a case's own options by mean log-probability per token (``option_scoring: mean``)
instead of the summed one, which favours short options; saved with the model."""

from __future__ import annotations

import pytest
import torch

from reason2decide.backbones import load_backbone
from reason2decide.errors import R2DError
from reason2decide.methods.label_decoding import predict_labels
from reason2decide.prompts import predict_prompt
from reason2decide.training import build_config
from tiny_models import save_tiny_t5

TEXT = "predict: explain: yes no maybe a long answer with many more words than the other one"
QUESTIONS = ["which answer", "another question", "a third case"]
# options of very different token lengths, so that the two rankings can disagree
CHOICES = [
    ("yes", "a long answer with many more words than the other one"),
    ("no", "maybe a long answer"),
    None,  # scored over the label set, the same in both modes
]
LABELS = ["yes", "no", "maybe"]


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    texts = [TEXT + " which another question third case"]
    folder = save_tiny_t5(tmp_path_factory.mktemp("scoring"), texts, seed=3)
    loaded = load_backbone(str(folder), max_input_length=32)
    loaded.model.eval()
    return loaded


def _lists():
    return [c if c is not None else tuple(LABELS) for c in CHOICES]


def test_mean_ranks_options_by_log_probability_per_token(backbone):
    summed = backbone.score_candidate_lists(
        backbone.model, [predict_prompt(q) for q in QUESTIONS], _lists()
    ).float()
    backbone.option_scoring = "sum"
    plain = predict_labels(backbone, backbone.model, QUESTIONS, LABELS, choices=CHOICES)
    backbone.option_scoring = "mean"
    try:
        mean = predict_labels(backbone, backbone.model, QUESTIONS, LABELS, choices=CHOICES)
    finally:
        backbone.option_scoring = "sum"
    torch.testing.assert_close(mean.scores, plain.scores)  # scores stay the summed ones
    for row, options in enumerate(CHOICES[:2]):
        tokens = torch.tensor([len(ids) for ids in backbone.target_ids(list(options))])
        per_token = summed[row, : len(options)] / tokens
        expected = torch.softmax(per_token, -1)
        torch.testing.assert_close(mean.probabilities[row, : len(options)], expected)
        assert mean.labels[row] == options[int(per_token.argmax())]
        assert plain.labels[row] == options[int(summed[row, : len(options)].argmax())]
    # a case without options is scored over the label set exactly as before
    torch.testing.assert_close(mean.probabilities[2], plain.probabilities[2])
    assert mean.labels[2] == plain.labels[2]


def test_the_setting_is_saved_with_the_model_and_checked(backbone, tmp_path):
    backbone.option_scoring = "mean"
    try:
        backbone.save(tmp_path / "saved")
    finally:
        backbone.option_scoring = "sum"
    assert load_backbone(str(tmp_path / "saved")).option_scoring == "mean"
    assert load_backbone(str(tmp_path / "saved"), option_scoring="sum").option_scoring == "sum"
    with pytest.raises(R2DError, match="unknown option scoring 'median'"):
        backbone.option_scoring = "median"


def test_it_is_a_training_option(tmp_path):
    flags = {"train": tmp_path / "t.jsonl", "output": tmp_path / "o", "option_scoring": "mean"}
    assert build_config(flags).option_scoring == "mean"
    assert build_config({**flags, "option_scoring": None}).option_scoring == "sum"
