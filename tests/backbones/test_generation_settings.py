"""Rationale decoding settings on tiny T5 and Llama models: they reach ``generate``, they do
what they say, and label decoding stays plain greedy."""

from __future__ import annotations

import pytest
import torch
from transformers import NoRepeatNGramLogitsProcessor

from reason2decide.backbones import GREEDY, GenerationSettings, load_backbone
from reason2decide.backbones.causal import rationale_only
from reason2decide.errors import R2DError
from reason2decide.inference import Predictor, predict_labels
from tiny_models import save_tiny_llama, save_tiny_t5

TEXTS = [
    "predict: a man with chest pain and sweating",
    "explain: a child with a mild cough for two days and no fever",
    "given label: emergency now, explain: sudden weakness of one arm",
    "emergency now urgent care within 24 h see a family doctor self-care at home",
]
LABELS = ["emergency now", "self-care at home"]
PROMPTS = ["explain: a man with chest pain and sweating", "explain: mild cough"]


@pytest.fixture(scope="module", params=["t5", "llama"])
def backbone(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(request.param)
    (save_tiny_t5 if request.param == "t5" else save_tiny_llama)(directory, TEXTS, seed=3)
    loaded = load_backbone(str(directory), max_input_length=64, max_target_length=40)
    loaded.model.eval()
    return loaded


class Spy:
    """Wraps a model's ``generate``, recording the keyword arguments of every call."""

    def __init__(self, model) -> None:
        self.inner, self.calls = model.generate, []

    def __call__(self, *args, **kwargs):
        self.calls.append(kwargs)
        return self.inner(*args, **kwargs)


@pytest.fixture
def spy(backbone, monkeypatch):
    recorder = Spy(backbone.model)
    monkeypatch.setattr(backbone.model, "generate", recorder)
    return recorder


def _repetition_controls(kwargs) -> tuple[int, float]:
    """(no_repeat_ngram_size, repetition_penalty) as the model's generate will apply them:
    as arguments (encoder-decoder) or as processors over the generated tokens (decoder-only)."""
    size, penalty = kwargs["no_repeat_ngram_size"], kwargs["repetition_penalty"]
    for processor in kwargs.get("logits_processor") or []:
        inner = processor.inner
        if isinstance(inner, NoRepeatNGramLogitsProcessor):
            size = inner.ngram_size
        else:
            penalty = inner.penalty
    return size, penalty


@torch.no_grad()
def test_settings_reach_generate(backbone, spy):
    settings = GenerationSettings(
        num_beams=3,
        no_repeat_ngram_size=2,
        repetition_penalty=1.3,
        length_penalty=0.7,
        max_new_tokens=7,
    )
    out = backbone.generate(backbone.model, PROMPTS, settings=settings)
    assert len(out) == 2
    kwargs = spy.calls[-1]
    assert kwargs["num_beams"] == 3 and kwargs["max_new_tokens"] == 7
    assert kwargs["length_penalty"] == 0.7 and kwargs["do_sample"] is False
    assert _repetition_controls(kwargs) == (2, pytest.approx(1.3))


@torch.no_grad()
def test_default_is_plain_greedy_up_to_the_target_length(backbone, spy):
    backbone.generate(backbone.model, PROMPTS)
    kwargs = spy.calls[-1]
    assert kwargs["num_beams"] == 1 and kwargs["max_new_tokens"] == backbone.max_target_length
    assert _repetition_controls(kwargs) == (0, 1.0)
    # an explicit token budget wins over the settings' own
    backbone.generate(backbone.model, PROMPTS, max_new_tokens=3, settings=GenerationSettings())
    assert spy.calls[-1]["max_new_tokens"] == 3


def _bigrams(text: str) -> list[tuple[str, str]]:
    words = text.split()  # the word-level test tokenizer decodes to space-separated tokens
    return list(zip(words, words[1:], strict=False))


@torch.no_grad()
def test_no_repeat_ngram_size_two_repeats_no_bigram(backbone, monkeypatch):
    # a random model may end at once: keep it talking, so that there is something to repeat,
    # in tokens the decoded text shows (special tokens are dropped from it)
    never = [backbone.tokenizer.convert_tokens_to_ids(t) for t in ("</s>", "<pad>", "<unk>")]
    monkeypatch.setattr(backbone.model.generation_config, "suppress_tokens", never)
    greedy = backbone.generate(backbone.model, PROMPTS, max_new_tokens=30, settings=GREEDY)
    # a random tiny model loops when decoded greedily: the setting has something to stop
    assert any(len(set(b)) < len(b) for b in map(_bigrams, greedy)), greedy
    settings = GenerationSettings(no_repeat_ngram_size=2, max_new_tokens=30)
    for text in backbone.generate(backbone.model, PROMPTS, settings=settings):
        bigrams = _bigrams(text)
        assert len(bigrams) >= 5, text
        assert len(set(bigrams)) == len(bigrams), text


def test_decoder_only_controls_skip_the_prompt():
    kwargs = {"no_repeat_ngram_size": 2, "repetition_penalty": 1.5, "num_beams": 1}
    processors = rationale_only(kwargs, prompt_length=2)
    assert kwargs["no_repeat_ngram_size"] == 0 and kwargs["repetition_penalty"] == 1.0
    no_repeat = processors[1]
    scores = torch.zeros(1, 8)
    # prompt [5, 6], rationale [5]: the bigram (5, 6) is the prompt's, so 6 stays allowed
    assert torch.isfinite(no_repeat(torch.tensor([[5, 6, 5]]), scores.clone())[0, 6])
    # in the rationale itself, (5, 6) then 5 again: 6 is banned
    assert no_repeat(torch.tensor([[1, 2, 5, 6, 5]]), scores.clone())[0, 6] == -float("inf")
    # transformers' own processor would have counted the prompt
    plain = NoRepeatNGramLogitsProcessor(2)(torch.tensor([[5, 6, 5]]), scores.clone())
    assert plain[0, 6] == -float("inf")


@torch.no_grad()
def test_labels_are_decoded_greedily_whatever_the_rationale_settings(backbone, monkeypatch):
    seen: list[GenerationSettings | None] = []
    original = backbone.generate

    def record(model, prompts, **kwargs):
        seen.append(kwargs.get("settings"))
        return original(model, prompts, **kwargs)

    monkeypatch.setattr(backbone, "generate", record)
    predict_labels(backbone, backbone.model, ["mild cough"], LABELS, decoding="generate")
    assert seen == [GREEDY]
    settings = GenerationSettings(num_beams=2, max_new_tokens=4)
    predictor = Predictor(backbone, LABELS, label_decoding="generate", generation=settings)
    predictor.predict(["mild cough", "chest pain"])
    assert seen[1:] == [GREEDY, settings]


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"num_beams": 0}, "num_beams"),
        ({"no_repeat_ngram_size": -1}, "no_repeat_ngram_size"),
        ({"repetition_penalty": 0.0}, "repetition_penalty"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
    ],
)
def test_bad_settings_are_user_errors_naming_the_setting(values, name):
    with pytest.raises(R2DError, match=name):
        GenerationSettings(**values)


def test_settings_round_trip_through_a_dict():
    settings = GenerationSettings(num_beams=4, length_penalty=1.2)
    assert GenerationSettings.from_dict(settings.to_dict()) == settings
    with pytest.raises(R2DError, match="beam_size"):
        GenerationSettings.from_dict({"beam_size": 4})
