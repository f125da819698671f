"""LLM-as-a-judge: robust parsing, bounded retries, counts, and the evaluate/zero-shot options."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from reason2decide.cli import app
from reason2decide.errors import R2DError
from reason2decide.evaluation.judge import (
    CRITERIA,
    JudgeOptions,
    judge_messages,
    judge_records,
    judge_summary,
    parse_judgement,
)
from reason2decide.llm.client import LLMClient

GOOD = {"label_agreement": 5, "faithfulness": 4, "clinical_correctness": 3, "completeness": 2}


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(GOOD),
        "```json\n" + json.dumps(GOOD, indent=2) + "\n```",
        "Here is my grading: " + json.dumps(GOOD) + " Hope this helps.",
        "{'label_agreement': 5, 'faithfulness': 4, 'clinical_correctness': 3, 'completeness': 2,}",
        '{"Label Agreement": "5", "Faithfulness": "4/5", "clinical-correctness": 3.0, '
        '"completeness": 2}',
        '{"scores": ' + json.dumps(GOOD) + ', "comment": "fine"}',
        "label_agreement: 5\nfaithfulness: 4\nclinical correctness = 3\ncompleteness: 2/5",
        '{"reasoning": "a {tricky} one"} ' + json.dumps(GOOD),
    ],
)
def test_parse_judgement_accepts_common_shapes(text):
    assert parse_judgement(text) == GOOD


@pytest.mark.parametrize(
    "text",
    [
        "",
        "The explanation is good.",
        json.dumps({k: v for k, v in GOOD.items() if k != "completeness"}),
        json.dumps(GOOD | {"faithfulness": 7}),
        json.dumps(GOOD | {"faithfulness": 0}),
        json.dumps(GOOD | {"faithfulness": True}),
        json.dumps(GOOD | {"faithfulness": "good"}),
        json.dumps(GOOD | {"faithfulness": "4/10"}),
        '{"label_agreement": 5, "faithfulness": 4, "clinical_correctness": 3, "completeness":',
    ],
)
def test_parse_judgement_rejects_incomplete_or_out_of_range(text):
    assert parse_judgement(text) is None


def test_non_integer_scores_in_range_are_kept():
    assert parse_judgement(json.dumps(GOOD | {"completeness": 2.5}))["completeness"] == 2.5


def test_judge_prompt_names_every_criterion_but_not_the_gold_label():
    messages = judge_messages("Case text", "yes", "Because.")
    text = messages[-1]["content"]
    assert all(name in text for name in CRITERIA)
    assert "Decision: yes" in text and "Because." in text and "gold" not in text.lower()


def records(n: int = 4) -> list[dict]:
    return [
        {
            "id": f"r{i}",
            "question": f"case-{i} question",
            "label": "yes",
            "gold_label": "yes",
            "rationale": f"because of case-{i}",
        }
        for i in range(n)
    ]


def test_judge_records_retries_then_counts_unparsable(fake_llm, llm_config):
    def responder(body, n):  # type: ignore[no-untyped-def]
        case = int(body["messages"][1]["content"].split("case-")[1].split(" ")[0])
        attempt = sum(1 for m in body["messages"] if m["role"] == "assistant")
        if case == 1 and attempt == 0:
            return fake_llm.reply(content="I'd say it's decent.")  # fixed on the retry
        if case == 2:
            return fake_llm.reply(content="no idea")  # never parsable
        return fake_llm.reply(content=json.dumps(GOOD | {"completeness": 1 + case}))

    fake_llm.responder = responder
    rows = records(4) + [{"id": "empty", "question": "q", "label": "no", "rationale": "  "}]
    with LLMClient(llm_config) as client:
        metrics = judge_records(rows, client, options=JudgeOptions(max_parse_retries=2))
    assert metrics["judge_n"] == 5
    assert metrics["judge_n_scored"] == 3
    assert metrics["judge_n_unparsable"] == 1
    assert metrics["judge_n_no_rationale"] == 1
    assert metrics["judge_completeness"] == pytest.approx((1 + 2 + 4) / 3)
    assert metrics["judge_label_agreement"] == 5
    assert metrics["judge_overall"] == pytest.approx(
        sum((5 + 4 + 3 + c) / 4 for c in (1, 2, 4)) / 3
    )
    assert metrics["judge"]["n_parse_retries"] == 1 + 2
    assert metrics["judge"]["histogram"]["completeness"] == {"1": 1, "2": 1, "3": 0, "4": 1, "5": 0}
    assert rows[2]["judge"]["error"] == "unparsable" and rows[2]["judge"]["attempts"] == 3
    assert rows[2]["judge"]["answer"] == "no idea"
    assert rows[4]["judge"]["error"] == "no rationale"
    assert rows[1]["judge"]["attempts"] == 2 and rows[1]["judge"]["scores"] is not None
    # Case 2 was asked exactly 1 + max_parse_retries times, each retry a new conversation.
    asked = [b for b in fake_llm.requests if "case-2" in b["messages"][1]["content"]]
    assert [len(b["messages"]) for b in asked] == [2, 4, 6]
    assert "only a JSON object" in asked[1]["messages"][-1]["content"]
    assert "unparsable 1" in judge_summary(metrics)


def test_judge_with_nothing_scorable_reports_none_not_zero(fake_llm, llm_config):
    fake_llm.responder = lambda body, n: fake_llm.reply(content="?")
    with LLMClient(llm_config) as client:
        metrics = judge_records(records(2), client, options=JudgeOptions(max_parse_retries=0))
    assert metrics["judge_overall"] is None and metrics["judge_faithfulness"] is None
    assert metrics["judge_n_unparsable"] == 2 and len(fake_llm.requests) == 2


@pytest.mark.parametrize("kind", ["json_object", "json_schema", "llama-cpp-python"])
def test_response_format_is_sent(fake_llm, llm_config, kind):
    fake_llm.responder = lambda body, n: fake_llm.reply(content=json.dumps(GOOD))
    with LLMClient(llm_config) as client:
        judge_records(records(1), client, options=JudgeOptions(response_format=kind))
    sent = fake_llm.requests[0]["response_format"]
    if kind == "json_object":
        assert sent == {"type": "json_object"}
    else:
        schema = sent["json_schema"]["schema"] if kind == "json_schema" else sent["schema"]
        assert schema["required"] == list(CRITERIA)
        assert schema["properties"]["faithfulness"]["enum"] == [1, 2, 3, 4, 5]


def test_no_response_format_by_default_and_unknown_kinds_fail(fake_llm, llm_config):
    fake_llm.responder = lambda body, n: fake_llm.reply(content=json.dumps(GOOD))
    with LLMClient(llm_config) as client:
        judge_records(records(1), client)
    assert "response_format" not in fake_llm.requests[0]
    with pytest.raises(R2DError, match="json_schema"):
        JudgeOptions(response_format="yaml")


def test_zero_shot_cli_merges_judge_scores_into_metrics(fake_llm, tmp_path):
    def responder(body, n):  # type: ignore[no-untyped-def]
        text = body["messages"][-1]["content"]
        if "Explanation to grade" in text:
            return fake_llm.reply(content=json.dumps(GOOD))
        if "Decision:" in text:
            return fake_llm.reply(content="Because it is.")
        return fake_llm.reply(content="yes")

    fake_llm.responder = responder
    test_file = tmp_path / "t.jsonl"
    test_file.write_text(
        "\n".join(
            json.dumps({"id": i, "question": f"case-{i}", "label": "yes", "rationale": "g"})
            for i in range(3)
        )
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["zero-shot", "--test", str(test_file), "-o", str(out), "--base-url", fake_llm.url]
        + ["--model", "m", "--judge-base-url", fake_llm.url, "--judge-model", "j"]
        + ["--no-bertscore", "--no-progress", "--cache-dir", str(tmp_path / "c")]
        + ["--labels", "yes,no"],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["judge_faithfulness"] == 4 and metrics["judge_n_scored"] == 3
    assert metrics["judge"]["model"] == "j"
    rows = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert rows[0]["judge"]["scores"] == GOOD
    assert "LLM judge (j)" in result.output


def test_judge_options_must_come_together(tmp_path):
    result = CliRunner().invoke(
        app,
        ["evaluate", str(tmp_path), "--test", str(tmp_path / "x.jsonl"), "-o", str(tmp_path)]
        + ["--judge-model", "j"],
    )
    assert result.exit_code == 2 and "--judge-base-url" in result.output


def test_evaluate_cli_writes_judge_scores(fake_llm, tmp_path):
    """`r2d evaluate MODEL --judge-base-url ...` on a tiny model: judge scores in metrics.json."""
    from tiny_models import save_tiny_t5  # type: ignore[import-not-found]

    fake_llm.responder = lambda body, n: fake_llm.reply(content=json.dumps(GOOD))
    texts = ["predict: explain: given label: yes no maybe case question because"]
    model_dir = save_tiny_t5(tmp_path / "tiny", texts)
    test_file = tmp_path / "t.jsonl"
    test_file.write_text(
        "\n".join(
            json.dumps({"id": i, "question": f"case {i} question", "label": lab, "rationale": "b"})
            for i, lab in enumerate(["yes", "no", "maybe"])
        )
    )
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        app,
        ["evaluate", str(model_dir), "--test", str(test_file), "-o", str(out), "--no-bertscore"]
        + ["--device", "cpu", "--label-decoding", "generate"]
        + ["--judge-base-url", fake_llm.url, "--judge-model", "j"],
        env={"R2D_LLM_CACHE": str(tmp_path / "cache")},
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["judge_n"] == 3
    assert metrics["judge_n_scored"] + metrics["judge_n_no_rationale"] == 3
    assert "judge_overall" in metrics and "LLM judge (j)" in result.output
