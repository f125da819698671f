"""Teacher rationale generation: output rows, masking, templates, and resuming after a failure."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reason2decide.cli import app
from reason2decide.data.example import Example
from reason2decide.errors import R2DError
from reason2decide.llm.client import LLMClient
from reason2decide.llm.rationales import (
    RationaleOptions,
    clean_rationale,
    generate_rationales,
    partial_path,
    provenance_path,
)
from reason2decide.llm.templates import RATIONALE_TEMPLATE, PromptTemplate, load_template


def make_examples(n: int, **extra) -> list[Example]:  # type: ignore[no-untyped-def]
    labels = ["yes", "no", "maybe"]
    return [
        Example(
            id=f"e{i}",
            question=f"Does case-{i} need treatment?",
            label=labels[i % 3],
            extra=dict(extra),
        )
        for i in range(n)
    ]


def write_input(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for example in make_examples(n, source="unit"):
            handle.write(json.dumps(example.to_dict() | {"rationale": None}) + "\n")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def answering(fake_llm):  # type: ignore[no-untyped-def]
    """The fake server answers 'Rationale for case N: the answer is LABEL.'"""

    def responder(body, n):  # type: ignore[no-untyped-def]
        text = body["messages"][-1]["content"]
        case = text.split("case-")[1].split(" ")[0]
        label = text.split("Decision: ")[1].split("\n")[0]
        return fake_llm.reply(content=f"Rationale: for case {case} the answer is {label}.")

    fake_llm.responder = responder
    return fake_llm


def test_generate_writes_rows_with_rationale_and_provenance(answering, llm_config, tmp_path):
    examples = make_examples(5, source="unit")
    out = tmp_path / "out.jsonl"
    with LLMClient(llm_config) as client:
        summary = generate_rationales(examples, client, out, labels=["maybe", "no", "yes"])
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [e.id for e in examples]
    assert rows[1]["rationale"] == "for case 1 the answer is no."
    assert rows[1]["rationale_model"] == "fake-model"
    assert rows[1]["rationale_prompt_version"] == RATIONALE_TEMPLATE.version
    assert rows[1]["source"] == "unit" and rows[1]["label"] == "no"
    assert summary.n == 5 and summary.n_asked == 5 and summary.n_resumed == 0
    assert not partial_path(out).exists()
    meta = json.loads(provenance_path(out).read_text())
    assert meta["server"]["model"] == "fake-model"
    assert meta["prompt"]["version"] == RATIONALE_TEMPLATE.version
    assert meta["usage"]["requests"] == 5
    # The prompt holds the case and its gold label.
    first = answering.requests[0]["messages"]
    assert first[0]["role"] == "system"
    assert "case-" in first[-1]["content"] and "Decision: " in first[-1]["content"]


def test_mask_label_replaces_the_label_in_the_rationale(answering, llm_config, tmp_path):
    out = tmp_path / "out.jsonl"
    options = RationaleOptions(mask_label=True, output_col="llm_rationale")
    with LLMClient(llm_config) as client:
        summary = generate_rationales(make_examples(3), client, out, options=options)
    rows = read_jsonl(out)
    assert rows[0]["llm_rationale"] == "for case 0 the answer is [LABEL]."
    assert rows[0]["rationale"] is None
    assert "llm_rationale_model" in rows[0]
    assert summary.n_masked == 3


def test_existing_rationales_are_not_overwritten_silently(answering, llm_config, tmp_path):
    examples = [Example("a", "case-1 question", "yes", rationale="written by a clinician")]
    with LLMClient(llm_config) as client:
        with pytest.raises(R2DError, match="--output-col"):
            generate_rationales(examples, client, tmp_path / "o.jsonl")
        generate_rationales(examples, client, tmp_path / "o.jsonl", overwrite=True)
        generate_rationales(
            examples,
            client,
            tmp_path / "p.jsonl",
            options=RationaleOptions(output_col="llm_rationale"),
        )
    assert read_jsonl(tmp_path / "o.jsonl")[0]["rationale"].startswith("for case 1")
    kept = read_jsonl(tmp_path / "p.jsonl")[0]
    assert kept["rationale"] == "written by a clinician" and kept["llm_rationale"]


def test_resume_asks_only_for_unfinished_rows(answering, llm_config, tmp_path):
    examples = make_examples(6)
    out = tmp_path / "out.jsonl"
    config = dataclasses.replace(llm_config, cache_dir=None)
    with LLMClient(config) as client:
        generate_rationales(examples[:3], client, tmp_path / "first.jsonl")
    # Build the partial file a killed run would leave: three finished rows and a cut line.
    lines = [
        json.dumps({"id": e.id, "key": key, "content": f"kept {e.id}", "finish_reason": "stop"})
        for e, key in zip(examples[:3], _fingerprints(config, examples[:3]), strict=True)
    ]
    partial_path(out).write_text("\n".join(lines) + '\n{"id": "e3", "key": "ab', encoding="utf-8")
    answering.requests.clear()
    with LLMClient(config) as client:
        summary = generate_rationales(examples, client, out)
    assert sorted(answering.cases_asked()) == [3, 4, 5]
    rows = read_jsonl(out)
    assert [r["rationale"] for r in rows[:3]] == ["kept e0", "kept e1", "kept e2"]
    assert rows[3]["rationale"] == "for case 3 the answer is yes."
    assert summary.n_resumed == 3 and summary.n_asked == 3


def _fingerprints(config, examples):  # type: ignore[no-untyped-def]
    from reason2decide.llm.rationales import rationale_request

    with LLMClient(config) as client:
        return [client.fingerprint(rationale_request(e)) for e in examples]


def test_partial_rows_of_a_changed_request_are_asked_again(answering, llm_config, tmp_path):
    examples = make_examples(2)
    out = tmp_path / "out.jsonl"
    config = dataclasses.replace(llm_config, cache_dir=None)
    stale = {"id": "e0", "key": "0" * 64, "content": "old prompt", "finish_reason": "stop"}
    partial_path(out).write_text(json.dumps(stale) + "\n")
    with LLMClient(config) as client:
        generate_rationales(examples, client, out)
    assert sorted(answering.cases_asked()) == [0, 1]
    assert read_jsonl(out)[0]["rationale"] != "old prompt"


def test_server_gone_mid_run_keeps_finished_rows_and_resumes(fake_llm, llm_config, tmp_path):
    def responder(body, n):  # type: ignore[no-untyped-def]
        if n == 4:
            fake_llm.running = False  # the server dies: later requests get no answer
        return fake_llm.reply(content=f"answer {n}")

    fake_llm.responder = responder
    examples = make_examples(10)
    out = tmp_path / "out.jsonl"
    config = dataclasses.replace(llm_config, cache_dir=None, concurrency=1)
    with LLMClient(config) as client, pytest.raises(R2DError, match="resumes"):
        generate_rationales(examples, client, out)
    assert not out.exists()
    finished = read_jsonl(partial_path(out))
    assert len(finished) == 4
    # The server comes back; the run is started again.
    fake_llm.running = True
    fake_llm.responder = lambda body, n: fake_llm.reply(content="later")
    fake_llm.requests.clear()
    with LLMClient(config) as client:
        summary = generate_rationales(examples, client, out)
    asked = fake_llm.cases_asked()
    assert len(asked) == 6 and not {int(r["id"][1:]) for r in finished} & set(asked)
    rows = read_jsonl(out)
    assert len(rows) == 10 and summary.n_resumed == 4
    assert sum(r["rationale"].startswith("answer") for r in rows) == 4


def test_killed_process_resumes_without_asking_again(fake_llm, tmp_path):
    """SIGKILL a real `r2d rationales generate` halfway, start it again, lose nothing."""
    fake_llm.responder = lambda body, n: fake_llm.reply(content=f"answer {n}", delay=0.05)
    source = write_input(tmp_path / "in.jsonl", 30)
    out = tmp_path / "out.jsonl"
    argv = [
        sys.executable,
        "-c",
        "from reason2decide.cli import main; main()",
        "rationales",
        "generate",
        "--input",
        str(source),
        "--output",
        str(out),
        "--base-url",
        fake_llm.url,
        "--model",
        "fake-model",
        "--concurrency",
        "2",
        "--no-cache",
        "--no-progress",
    ]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    partial = partial_path(out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if partial.exists() and len(partial.read_text().splitlines()) >= 8:
            break
        if process.poll() is not None:
            pytest.fail(f"finished before it could be killed: {process.communicate()}")
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not out.exists()
    finished = {r["id"] for r in read_jsonl(partial)}
    assert 8 <= len(finished) < 30
    asked_before = len(fake_llm.requests)
    fake_llm.requests.clear()

    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    asked_after = {f"e{n}" for n in fake_llm.cases_asked()}
    assert not asked_after & finished
    assert len(asked_after) == 30 - len(finished)
    assert asked_before + len(asked_after) <= 30 + 2  # at most the 2 in flight asked twice
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [f"e{i}" for i in range(30)]
    assert all(r["rationale"] for r in rows)
    assert not partial.exists()


def test_cli_generate_writes_csv(answering, tmp_path):
    source = write_input(tmp_path / "in.jsonl", 4)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app,
        [
            "rationales",
            "generate",
            "-i",
            str(source),
            "-o",
            str(out),
            "--base-url",
            answering.url,
            "--model",
            "m",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--output-col",
            "llm_rationale",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    header = out.read_text().splitlines()[0].split(",")
    assert header[:4] == ["id", "question", "label", "rationale"]
    assert {"llm_rationale", "llm_rationale_model", "llm_rationale_prompt_version"} <= set(header)
    assert "Wrote 4 rows" in result.output


def test_cli_reports_server_errors_without_traceback(tmp_path, fake_llm):
    source = write_input(tmp_path / "in.jsonl", 2)
    fake_llm.responder = lambda body, n: fake_llm.reply(status=404, content="model not found")
    result = CliRunner().invoke(
        app,
        ["rationales", "generate", "-i", str(source), "-o", str(tmp_path / "o.jsonl")]
        + ["--base-url", fake_llm.url, "--model", "nope", "--no-cache", "--no-progress"],
    )
    assert result.exit_code == 2
    assert "model not found" in result.output and "Traceback" not in result.output


def test_empty_answers_are_counted_and_left_null(fake_llm, llm_config, tmp_path):
    fake_llm.responder = lambda body, n: fake_llm.reply(content="   ", finish_reason="length")
    out = tmp_path / "o.jsonl"
    with LLMClient(llm_config) as client:
        summary = generate_rationales(make_examples(2), client, out)
    assert summary.n_empty == 2 and summary.n_truncated == 2
    assert read_jsonl(out)[0]["rationale"] is None


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Rationale: Because X.  ", "Because X."),
        ('"Because X."', "Because X."),
        ("**Explanation:** Because X.", "Because X."),
        ("Because the rationale: X", "Because the rationale: X"),
        ("", None),
    ],
)
def test_clean_rationale(raw, clean):
    assert clean_rationale(raw) == clean


def test_template_file_with_sections_and_literal_braces(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text('[system]\nBe brief.\n[user]\nQ: {question}\nA: {label}\nJSON: {"x": 1}\n')
    template = load_template(path)
    assert template.system == "Be brief."
    assert template.version.startswith("custom-")
    messages = template.render("Q1", "yes", ["yes", "no"])
    assert messages[1]["content"] == 'Q: Q1\nA: yes\nJSON: {"x": 1}'
    path.write_text("No placeholder here")
    with pytest.raises(R2DError, match=r"\{question\}"):
        load_template(path)
    other = tmp_path / "u.txt"
    other.write_text("{question} -> {labels}")
    plain = load_template(other, default_system="sys")
    assert plain.system == "sys" and plain.version != template.version
    assert plain.render("q", labels=["a", "b"])[1]["content"] == "q -> a, b"


def test_template_requires_placeholders():
    with pytest.raises(R2DError, match=r"\{label\}"):
        PromptTemplate(user="{question}").require("label")


def test_cli_generate_reads_a_templated_multiple_choice_file(answering, tmp_path):
    source = tmp_path / "mc.csv"
    source.write_text(
        "id,stem,opa,opb,opc,cop\n"
        "q1,case-1 with fever,Aspirin,Paracetamol,Rest,B\n"
        "q2,case-2 with a wound,Bandage,Syrup,Rest,A\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "rationales",
            "generate",
            "-i",
            str(source),
            "-o",
            str(out),
            "--base-url",
            answering.url,
            "--model",
            "m",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-progress",
            "--question-template",
            "Patient: {stem} .",
            "--label-col",
            "cop",
            "--choices-cols",
            "opa,opb,opc",
            "--answer-format",
            "letter",
        ],  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    rows = read_jsonl(out)
    assert [r["label"] for r in rows] == ["Paracetamol", "Bandage"]
    assert rows[0]["choices"] == ["Aspirin", "Paracetamol", "Rest"]
    assert rows[0]["question"].startswith("Patient: case-1 with fever .\n\nOptions:\nA. Aspirin")
    assert rows[0]["rationale"] == "for case 1 the answer is Paracetamol."
    asked = [body["messages"][-1]["content"] for body in answering.requests]
    assert any("B. Paracetamol" in text for text in asked)
