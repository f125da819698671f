"""evaluate_model's faithfulness pass on a stub predictor: label masking and leakage shares."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from reason2decide.data.example import Example
from reason2decide.evaluation.pipeline import evaluate_model
from reason2decide.generation import GenerationSettings
from reason2decide.inference.predictor import Prediction


class CopyingPredictor:
    """Predicts the first label named in the text (else "no") and explains with a rationale
    that spells the predicted label out: a model that can pass rationale→label metrics by
    copying alone."""

    labels = ["no", "yes"]
    explains = True
    label_decoding = "score"
    prior_tau = 0.0
    rationale_prompt = "conditioned"
    batch_size = 4
    precision = "fp32"
    generation = GenerationSettings()
    backbone = SimpleNamespace(
        device="cpu",
        max_input_length=6,
        max_target_length=3,
        position_limit=None,
        option_scoring="mean",
        prompt_lengths=lambda texts: [len(t.split()) for t in texts],
        target_lengths=lambda texts: [len(t.split()) + 1 for t in texts],
    )

    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    def predict(self, texts, *, with_rationale=True, progress=False):
        self.seen.append(list(texts))
        out = []
        for text in texts:
            words = text.lower().replace(",", " ").split()
            label = next((w for w in words if w in self.labels), "no")
            if with_rationale:
                out.append(Prediction(label, None, f"the answer is {label}, fever"))
            else:
                out.append(Prediction(label))
        return out


EXAMPLES = [
    Example(id="a", question="fever, yes", label="yes", rationale="fever means yes"),
    Example(id="b", question="fever, yes", label="yes", rationale="fever means yes"),
    Example(id="c", question="itch", label="no", rationale="harmless itch"),
]


def run(mask: bool):
    predictor = CopyingPredictor()
    metrics, records = evaluate_model(
        predictor,
        EXAMPLES,
        with_bertscore=False,
        progress=False,
        mask_label_in_rationale=mask,
    )
    return predictor, metrics, records


def test_rationale_to_label_pass_reads_masked_rationales_by_default():
    predictor, metrics, records = run(mask=True)
    generated_pass, gold_pass = predictor.seen[1], predictor.seen[2]
    assert generated_pass[0] == "the answer is [LABEL], fever"
    assert gold_pass[0] == "fever means [LABEL]" and gold_pass[2] == "harmless itch"
    # the copier finds no label in a masked rationale and falls back to "no"
    assert [r["label_from_rationale"] for r in records] == ["no", "no", "no"]
    assert metrics["consistency"] == pytest.approx(1 / 3)
    assert metrics["gold_robustness"] == pytest.approx(1 / 3)
    assert metrics["faithfulness_label_masking"] == {"placeholder": "[LABEL]"}
    # the outputs themselves are not masked
    assert records[0]["rationale"] == "the answer is yes, fever"


def test_every_generated_rationale_naming_its_label_is_counted():
    _, metrics, _ = run(mask=True)
    assert metrics["label_in_generated_rationale"] == pytest.approx(1.0)
    assert metrics["label_in_gold_rationale"] == pytest.approx(2 / 3)


def test_masking_can_be_turned_off():
    predictor, metrics, _ = run(mask=False)
    assert predictor.seen[1][0] == "the answer is yes, fever"
    assert metrics["consistency"] == pytest.approx(1.0)
    assert metrics["faithfulness_label_masking"] is None


def test_metrics_record_the_limits_and_the_cases_they_cut():
    _, metrics, _ = run(mask=True)
    truncation = metrics["truncation"]
    assert truncation["limits"]["max_input_length"] == 6
    assert truncation["limits"]["max_target_length"] == 3
    # "given label: yes, explain: fever, yes" has 6 words, "given label: no, explain: itch" 5;
    # the gold rationales "fever means yes" take 4 tokens with end-of-sequence (> 3)
    assert truncation["test"] == {
        "examples": 3,
        "prompts_cut": 0,
        "prompts_cut_share": 0.0,
        "targets_cut": 2,
        "targets_cut_share": pytest.approx(2 / 3),
    }


def test_metrics_record_how_options_were_ranked():
    _, metrics, _ = run(mask=True)
    assert metrics["option_scoring"] == "mean"
