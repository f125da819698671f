"""Label decoding over each case's own options (multiple-choice cases) on a tiny T5."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from reason2decide.backbones import load_backbone
from reason2decide.data.choices import ChoiceColumns
from reason2decide.data.readers import ColumnMap, read_examples
from reason2decide.methods.base import decision_scores
from reason2decide.methods.label_decoding import case_choices, predict_labels
from reason2decide.prompts import predict_prompt
from tiny_models import save_tiny_t5, write_choices_dataset

COLUMNS = ColumnMap(
    template="which treatment for a {age} with {finding}",
    choices=ChoiceColumns(columns=("opa", "opb", "opc", "opd")),
    label="cop",
)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("choices")
    texts = write_choices_dataset(root / "data", n_train=12, n_val=0)
    backbone = load_backbone(str(save_tiny_t5(root / "t5", texts)), max_input_length=64)
    backbone.model.eval()
    return backbone, read_examples(root / "data" / "train.csv", COLUMNS)


def test_the_file_reads_as_four_option_cases(setup):
    _, examples = setup
    assert all(len(e.choices) == 4 and e.label in e.choices for e in examples)
    assert examples[0].question.startswith("which treatment for a ")
    assert "\n\nOptions:\nA. " in examples[0].question


def test_each_case_is_scored_over_its_own_options(setup):
    backbone, examples = setup
    choices = case_choices(examples)
    out = predict_labels(
        backbone, backbone.model, [e.question for e in examples], [], choices=choices
    )
    assert out.candidates == [e.choices for e in examples]
    assert out.probabilities.shape == (len(examples), 4)
    torch.testing.assert_close(out.probabilities.sum(-1), torch.ones(len(examples)))
    for e, label, row in zip(examples, out.labels, range(len(examples)), strict=True):
        assert label in e.choices
        distribution = out.distribution(row, [])
        assert list(distribution) == list(e.choices)
        assert label == max(distribution, key=distribution.get)


def test_per_case_scoring_equals_each_case_alone(setup):
    backbone, examples = setup
    together = predict_labels(
        backbone, backbone.model, [e.question for e in examples], [], choices=case_choices(examples)
    )
    for row, e in enumerate(examples[:4]):
        alone = backbone.score_candidates(backbone.model, [predict_prompt(e.question)], e.choices)
        torch.testing.assert_close(together.scores[row], alone[0].float(), atol=1e-4, rtol=1e-4)


def test_a_mixed_batch_scores_plain_cases_over_the_label_set(setup):
    backbone, examples = setup
    plain = dataclasses.replace(examples[1], choices=None)
    batch = [examples[0], plain, examples[2]]
    labels = ["bandage", "syrup", "inhaler"]
    out = predict_labels(
        backbone, backbone.model, [e.question for e in batch], labels, choices=case_choices(batch)
    )
    assert out.candidates[1] == tuple(labels)
    assert out.labels[1] in labels
    assert out.labels[0] in examples[0].choices and out.labels[2] in examples[2].choices
    torch.testing.assert_close(out.probabilities.sum(-1), torch.ones(3))
    alone = predict_labels(backbone, backbone.model, [plain.question], labels)
    torch.testing.assert_close(
        out.probabilities[1, :3], alone.probabilities[0], atol=1e-4, rtol=1e-4
    )


def test_without_options_the_closed_set_path_is_unchanged(setup, monkeypatch):
    backbone, examples = setup
    plain = [dataclasses.replace(e, choices=None) for e in examples[:3]]
    assert case_choices(plain) is None

    def refuse(*args, **kwargs):
        raise AssertionError("per-case scoring used for a batch without options")

    monkeypatch.setattr(backbone, "score_candidate_lists", refuse)
    out = predict_labels(
        backbone, backbone.model, [e.question for e in plain], ["syrup", "inhaler"], choices=None
    )
    assert out.candidates is None and out.probabilities.shape == (3, 2)


def test_generated_letters_become_the_option_text(setup, monkeypatch):
    backbone, examples = setup
    monkeypatch.setattr(backbone, "generate", lambda *a, **k: ["B", "nothing like an option"])
    out = predict_labels(
        backbone,
        backbone.model,
        [e.question for e in examples[:2]],
        [],
        decoding="generate",
        choices=case_choices(examples[:2]),
    )
    assert out.labels == [examples[0].choices[1], "nothing like an option"]


def test_validation_scores_choices_by_position(setup):
    _, examples = setup
    chosen = examples[:4]
    predicted = [e.label for e in chosen[:3]] + [
        next(c for c in chosen[3].choices if c != chosen[3].label)
    ]
    scores = decision_scores(chosen, predicted, [])
    assert scores["accuracy"] == 0.75
    assert 0.0 < scores["macro_f1"] < 1.0


def test_stage2_conditions_rationales_on_each_cases_chosen_option(setup, monkeypatch):
    from reason2decide.methods import Stage2Config, Stage2Objective

    backbone, examples = setup
    config = Stage2Config(p_max=1.0, ramp_fraction=0.1)  # p = 1 from step 15 on
    objective = Stage2Objective(backbone, ["not", "an", "option"], max_steps=100, config=config)
    prompts: list[str] = []
    original = backbone.encode_pairs

    def encode(p, t):
        prompts.extend(p)
        return original(p, t)

    monkeypatch.setattr(backbone, "encode_pairs", encode)
    out = objective.compute_loss(backbone.model, examples, 50)
    assert out.logs["frac_predicted"] == 1.0
    conditioned = [p for p in prompts if p.startswith("given label: ")]
    assert len(conditioned) == len(examples)
    for prompt, e in zip(conditioned, examples, strict=True):
        chosen = prompt[len("given label: ") :].split(", explain: ")[0]
        assert chosen in e.choices


def test_r2dc_confidence_over_own_options_is_the_winners_token_geomean(setup):
    from reason2decide.methods import R2DCObjective

    backbone, examples = setup
    objective = R2DCObjective(backbone, ["unused", "labels"], max_steps=100)
    labels, confidences = objective._predict_with_confidence(backbone.model, examples[:4])
    for e, label, confidence in zip(examples[:4], labels, confidences, strict=True):
        assert label in e.choices
        with torch.no_grad():
            logprobs, mask = backbone.token_logprobs(
                backbone.model, [predict_prompt(e.question)], [label]
            )
        expected = float(torch.exp(logprobs.sum(-1) / mask.sum(-1))[0])
        assert confidence == pytest.approx(expected, rel=1e-4)
