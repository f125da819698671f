"""Integration: a real OpenAI-compatible server (llama-cpp-python) running a real model.

The server is llama-cpp-python's (``python -m llama_cpp.server``) serving SmolLM2-135M-Instruct
as GGUF, started on a free loopback port for this module and stopped after it. It runs when both
are available: the package ``llama_cpp.server`` importable, and the GGUF file at
``$R2D_LLAMA_GGUF`` (or at ``~/.cache/r2d-models/SmolLM2-135M-Instruct.Q4_1.gguf``, where
``scripts/ci_llm_server.sh`` puts it). Otherwise it skips and says which one is missing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reason2decide.cli import app
from reason2decide.data.readers import read_examples

DEFAULT_GGUF = Path.home() / ".cache" / "r2d-models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
STARTUP_SECONDS = 120


def _gguf() -> Path | None:
    explicit = os.environ.get("R2D_LLAMA_GGUF")
    path = Path(explicit) if explicit else DEFAULT_GGUF
    return path if path.is_file() else None


def _skip_reason() -> str | None:
    try:
        has_server = importlib.util.find_spec("llama_cpp.server") is not None
    except ImportError:
        has_server = False
    if not has_server:
        return (
            "llama-cpp-python[server] is not installed "
            "(run scripts/ci_llm_server.sh to build and install it)"
        )
    if _gguf() is None:
        return (
            "no GGUF model: set R2D_LLAMA_GGUF or run scripts/ci_llm_server.sh "
            f"(it unpacks SmolLM2-135M-Instruct to {DEFAULT_GGUF})"
        )
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Start `python -m llama_cpp.server` on loopback; yield its base URL; stop it."""
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(_gguf()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--n_threads",
        str(min(2, os.cpu_count() or 1)),
    ]
    with open(log, "wb") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama server exited with {process.returncode}: {log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama server not ready after {STARTUP_SECONDS}s: {log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


CASES = [
    (
        "c1",
        "A 67-year-old smoker has crushing chest pain and ST elevation in leads II, III and "
        "aVF. Should he go to the catheterisation lab now?",
        "yes",
    ),
    (
        "c2",
        "A healthy 25-year-old has a runny nose and sneezing for two days with no fever. "
        "Does she need antibiotics?",
        "no",
    ),
    ("c3", "Does daily low-dose aspirin reduce the risk of a second heart attack?", "yes"),
    (
        "c4",
        "A child has a fever of 37.2 C and is playing normally. Is this a medical emergency?",
        "no",
    ),
]


def _write_cases(path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for case_id, question, label in CASES:
            handle.write(json.dumps({"id": case_id, "question": question, "label": label}) + "\n")
    return path


def test_generate_and_judge_with_a_real_model(llama_server, tmp_path):
    source = _write_cases(tmp_path / "cases.jsonl")
    out = tmp_path / "with_rationales.jsonl"
    common = ["--base-url", llama_server, "--model", "smollm2", "--no-progress"]
    common += ["--cache-dir", str(tmp_path / "cache"), "--concurrency", "1"]
    result = CliRunner().invoke(
        app,
        ["rationales", "generate", "-i", str(source), "-o", str(out), "--max-tokens", "96"]
        + common,
    )
    assert result.exit_code == 0, result.output
    examples = read_examples(out, require_rationale=True)
    assert [e.id for e in examples] == [c[0] for c in CASES]
    assert all(len(e.rationale.split()) >= 3 for e in examples)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["rationale_model"] == "smollm2"

    # Judge the generated rationales with the same server.
    from reason2decide.evaluation.judge import run_judge

    records = [
        {"id": e.id, "question": e.question, "label": e.label, "rationale": e.rationale}
        for e in examples
    ]
    metrics = run_judge(
        records,
        base_url=llama_server,
        model="smollm2",
        concurrency=1,
        max_parse_retries=1,
        response_format="llama-cpp-python",
        cache=False,
        progress=False,
    )
    assert metrics["judge_n"] == len(CASES)
    assert metrics["judge_n_scored"] + metrics["judge_n_unparsable"] == len(CASES)
    for record in records:
        scores = record["judge"]["scores"]
        assert scores is None or all(1 <= v <= 5 for v in scores.values())

    # Run again: everything comes from the cache, nothing is asked.
    again = CliRunner().invoke(
        app,
        ["rationales", "generate", "-i", str(source), "-o", str(out), "--max-tokens", "96"]
        + common,
    )
    assert again.exit_code == 0, again.output
    assert "0 requests" in again.output


def test_zero_shot_with_a_real_model(llama_server, tmp_path):
    source = _write_cases(tmp_path / "cases.jsonl")
    out = tmp_path / "zs"
    result = CliRunner().invoke(
        app,
        ["zero-shot", "--test", str(source), "-o", str(out), "--base-url", llama_server]
        + ["--model", "smollm2", "--labels", "yes,no", "--max-tokens", "64", "--no-bertscore"]
        + ["--no-progress", "--no-cache", "--concurrency", "1"],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == len(CASES)
    mapping = metrics["zero_shot"]["label_mapping"]
    assert sum(mapping.values()) == len(CASES)
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert all(r["label"] in ("yes", "no", "<unmapped>") for r in rows)
