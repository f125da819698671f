"""The zero-shot LLM baseline: mapping answers to labels, records, fallbacks, and its CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from reason2decide.cli import app
from reason2decide.data.example import Example
from reason2decide.errors import R2DError
from reason2decide.evaluation.report import evaluate_records
from reason2decide.llm.client import LLMClient
from reason2decide.llm.zero_shot import (
    UNMAPPED_LABEL,
    ZeroShotOptions,
    map_label,
    normalize_answer,
    zero_shot_predict,
)

YNM = ["yes", "no", "maybe"]


@pytest.mark.parametrize(
    ("answer", "label", "rule"),
    [
        ("yes", "yes", "exact"),
        (" maybe\n", "maybe", "exact"),
        ("Yes.", "yes", "normalized"),
        ("**No**", "no", "normalized"),
        ("Answer: Maybe", "maybe", "normalized"),
        ("The answer is: no.", "no", "normalized"),
        ('"YES"', "yes", "normalized"),
        ("Yes, because the trial showed a benefit.", "yes", "prefix"),
        ("No - the difference was not significant", "no", "prefix"),
        ("may", "maybe", "prefix"),
        ("I think it is maybe, given the data", "maybe", "contains"),
        ("Based on the data, the answer would be yes", "yes", "contains"),
        ("yes or no", None, "unmapped"),
        ("Yes/No", None, "unmapped"),
        ("yes, no, maybe", None, "unmapped"),
        ("Yes, no doubt about it", "yes", "prefix"),
        ("none of these", None, "unmapped"),
        ("Not sure", None, "unmapped"),
        ("", None, "unmapped"),
        ("   ", None, "unmapped"),
    ],
)
def test_map_label_rules(answer, label, rule):
    match = map_label(answer, YNM)
    assert (match.label, match.rule) == (label, rule)


def test_map_label_with_multiword_and_nested_labels():
    labels = ["pain", "chest pain", "Acute MI"]
    assert map_label("acute   mi", labels).label == "Acute MI"
    assert map_label("Chest pain, most likely.", labels).label == "chest pain"
    assert map_label("It looks like chest pain to me", labels).label == "chest pain"
    assert map_label("It is pain, not acute MI", labels).label is None  # two labels: ambiguous
    assert map_label("pain", labels).rule == "exact"


def test_normalize_answer():
    assert normalize_answer("  **Final answer:**  Yes! ") == "yes"
    assert normalize_answer("Decision: \n chest   pain.") == "chest pain"


def test_map_label_rejects_an_empty_label_set():
    with pytest.raises(R2DError):
        map_label("yes", [])


def examples(n: int = 6) -> list[Example]:
    return [
        Example(f"e{i}", f"Question about case-{i}?", YNM[i % 3], rationale=f"gold {i}")
        for i in range(n)
    ]


def scripted(fake_llm, answers: dict[int, list[str]]):  # type: ignore[no-untyped-def]
    """Label answers per case (one per attempt); rationale requests get a fixed text."""

    def responder(body, n):  # type: ignore[no-untyped-def]
        messages = body["messages"]
        text = messages[1]["content"]
        case = int(text.split("case-")[1].split("?")[0])
        if "Decision:" in text:  # the rationale prompt
            label = text.split("Decision: ")[1].split("\n")[0]
            return fake_llm.reply(content=f"Because case {case} supports {label}.")
        attempt = sum(1 for m in messages if m["role"] == "assistant")
        return fake_llm.reply(content=answers[case][attempt])

    fake_llm.responder = responder


def test_zero_shot_records_are_scored_by_evaluate_records(fake_llm, llm_config):
    answers = {
        0: ["Yes."],
        1: ["no"],
        2: ["MAYBE"],
        3: ["no, not really"],
        4: ["I cannot tell", "no"],  # mapped after one retry
        5: ["banana", "still banana"],  # stays unmapped
    }
    scripted(fake_llm, answers)
    with LLMClient(llm_config) as client:
        result = zero_shot_predict(examples(), YNM, client)
    records = result.records
    assert [r["label"] for r in records] == ["yes", "no", "maybe", "no", "no", UNMAPPED_LABEL]
    assert set(records[0]) >= {
        "id",
        "gold_label",
        "label",
        "probabilities",
        "gold_rationale",
        "rationale",
    }
    assert records[0]["probabilities"] is None and records[0]["gold_rationale"] == "gold 0"
    assert records[1]["rationale"] == "Because case 1 supports no."
    assert records[5]["rationale"] == "" and records[5]["label_mapping"] == "unmapped"
    assert records[4]["label_answer"] == "no"
    stats = result.stats
    assert stats["label_mapping"] == {
        "exact": 2,
        "normalized": 2,
        "prefix": 1,
        "contains": 0,
        "unmapped": 1,
    }
    assert stats["n_unmapped"] == 1 and stats["n_label_retries"] == 2
    assert stats["fallback"] == UNMAPPED_LABEL
    metrics = evaluate_records(records, YNM, with_bertscore=False)
    assert metrics["n"] == 6 and metrics["n_predicted_outside_labels"] == 1
    assert metrics["accuracy"] == pytest.approx(4 / 6)  # e3 gold yes→no wrong, e5 unmapped wrong
    assert metrics["n_rationales"] == 6
    # The retry shows the model its bad answer and the options again.
    retry = [b for b in fake_llm.requests if len(b["messages"]) == 4]
    assert retry and "yes, no, maybe" in retry[0]["messages"][-1]["content"]


def test_fallback_label_is_used_and_counted(fake_llm, llm_config):
    scripted(fake_llm, {0: ["?"], 1: ["no"]})
    options = ZeroShotOptions(fallback_label="yes", label_retries=0)
    with LLMClient(llm_config) as client:
        result = zero_shot_predict(examples(2), YNM, client, options=options)
    assert result.records[0]["label"] == "yes"
    assert result.records[0]["label_mapping"] == "unmapped"
    assert result.records[0]["rationale"] == "Because case 0 supports yes."
    assert result.stats["n_unmapped"] == 1 and result.stats["fallback"] == "yes"


def test_fallback_label_must_be_in_the_label_set(llm_config):
    with LLMClient(llm_config) as client, pytest.raises(R2DError, match="fallback"):
        zero_shot_predict(examples(1), YNM, client, options=ZeroShotOptions(fallback_label="x"))


def test_label_prompt_lists_the_label_set(fake_llm, llm_config):
    scripted(fake_llm, {0: ["yes"]})
    with LLMClient(llm_config) as client:
        zero_shot_predict(examples(1), YNM, client, options=ZeroShotOptions(with_rationale=False))
    assert len(fake_llm.requests) == 1
    body = fake_llm.requests[0]
    assert body["messages"][1]["content"].endswith("yes, no, maybe")
    assert body["max_tokens"] == 16


def test_cli_zero_shot_label_set_is_the_training_files_like_the_bench(fake_llm, tmp_path):
    # The test cases carry only "yes" and "no"; the training file also has "maybe". The label
    # set (so the prompt and macro-F1's classes) must be the training file's, as in r2d bench.
    scripted(fake_llm, {i: ["yes"] for i in range(6)})
    test_file = tmp_path / "test.jsonl"
    cases = [e for e in examples() if e.label != "maybe"]
    test_file.write_text("\n".join(json.dumps(e.to_dict()) for e in cases) + "\n")
    train_file = tmp_path / "train.jsonl"
    train_file.write_text("\n".join(json.dumps(e.to_dict()) for e in examples()) + "\n")
    common = ["zero-shot", "--test", str(test_file), "--base-url", fake_llm.url]
    common += ["--model", "fake", "--no-bertscore", "--no-progress", "--no-rationale"]
    common += ["--cache-dir", str(tmp_path / "cache")]
    with_train = ["--train", str(train_file)]
    result = CliRunner().invoke(app, [*common, "-o", str(tmp_path / "zs"), *with_train])
    assert result.exit_code == 0, result.output
    assert fake_llm.requests[0]["messages"][1]["content"].endswith("maybe, no, yes")
    metrics = json.loads((tmp_path / "zs" / "metrics.json").read_text())
    assert list(metrics["per_class"]) == ["maybe", "no", "yes"]
    assert metrics["train"]["sha256"] and metrics["n"] == len(cases)
    # --labels overrides the training file's labels
    labels = ["--labels", "no,yes"]
    result = CliRunner().invoke(app, [*common, "-o", str(tmp_path / "zs2"), *with_train, *labels])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "zs2" / "metrics.json").read_text())
    assert list(metrics["per_class"]) == ["no", "yes"]
    # neither: refused, naming both ways, before any request
    before = len(fake_llm.requests)
    result = CliRunner().invoke(app, [*common, "-o", str(tmp_path / "zs3")])
    assert result.exit_code == 2, result.output
    assert "label set" in result.output and "--train" in result.output
    assert "--labels" in result.output and "Traceback" not in result.output
    assert len(fake_llm.requests) == before


def test_cli_zero_shot_writes_predictions_and_metrics(fake_llm, tmp_path):
    scripted(fake_llm, {i: ["yes"] for i in range(6)})
    test_file = tmp_path / "test.jsonl"
    test_file.write_text("\n".join(json.dumps(e.to_dict()) for e in examples()) + "\n")
    out = tmp_path / "zs"
    result = CliRunner().invoke(
        app,
        ["zero-shot", "--test", str(test_file), "--output", str(out)]
        + ["--base-url", fake_llm.url, "--model", "fake", "--no-bertscore", "--no-progress"]
        + ["--cache-dir", str(tmp_path / "cache"), "--labels", "yes,no,maybe"],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(2 / 6)
    assert metrics["zero_shot"]["label_mapping"]["exact"] == 6
    assert metrics["model"] == "zero-shot-llm:fake" and metrics["bleu"] is not None
    rows = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and rows[0]["rationale"] == "Because case 0 supports yes."


def test_a_multiple_choice_case_answers_among_its_own_options(fake_llm, llm_config):
    cases = [
        Example("e0", "Question about case-0?", "Radial", choices=("Ulnar", "Radial", "Median")),
        Example("e1", "Question about case-1?", "yes"),
    ]
    scripted(fake_llm, {0: ["B"], 1: ["yes"]})
    with LLMClient(llm_config) as client:
        result = zero_shot_predict(cases, YNM, client)
    first, second = result.records
    assert first["label"] == "Radial" and first["label_mapping"] == "letter"
    assert first["choices"] == ["Ulnar", "Radial", "Median"]
    assert second["label"] == "yes" and "choices" not in second
    prompts = [body["messages"][1]["content"] for body in fake_llm.requests]
    label_prompt = next(p for p in prompts if "case-0" in p and "Decision:" not in p)
    assert "Ulnar" in label_prompt and "maybe" not in label_prompt
    assert result.stats["label_mapping"]["letter"] == 1
