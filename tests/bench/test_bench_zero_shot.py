"""The ``zero-shot-llm`` bench method against the fake OpenAI-compatible server: scored like a
trained method, evaluated once at temperature 0 and per seed above it, skipped when complete,
re-scored from the answer cache, and refused without a server."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fake_llm_server import FakeLLMServer, Reply, running
from reason2decide.cli import app
from tiny_models import save_tiny_t5, write_toy_dataset

runner = CliRunner()
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*contain their label verbatim"),
    pytest.mark.filterwarnings("ignore:.*also occur in train"),
]
YES_FINDINGS = ("fever", "rash", "vomiting")


def answer(body: dict, number: int) -> Reply:
    """A clinician of sorts: 'Yes.' for the toy data's yes-findings, 'no' otherwise, nonsense
    for yawning (unmapped, even when asked again); rationales name the decision."""
    text = body["messages"][-1]["content"]
    case = body["messages"][1]["content"]
    if "Decision: " in text:
        label = text.split("Decision: ")[1].split("\n")[0]
        return Reply(content=f"Because the findings support {label}.")
    if "yawning" in case:
        return Reply(content="banana")
    return Reply(content="Yes." if any(f in case for f in YES_FINDINGS) else "no")


@pytest.fixture
def fake_llm() -> Iterator[FakeLLMServer]:
    with running() as server:
        server.responder = answer
        yield server


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("zs") / "data"
    write_toy_dataset(folder, n_train=24, n_val=10)
    shutil.copy(folder / "val.jsonl", folder / "test.jsonl")
    return folder


def bench(data: Path, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    args = ["bench", "--data", str(data), "--output", str(out), "--no-bertscore", *extra]
    return runner.invoke(app, args)


def llm_args(server: FakeLLMServer, cache: Path, model: str = "fake") -> list[str]:
    return ["--llm-base-url", server.url, "--llm-model", model, "--llm-cache-dir", str(cache)]


def test_zero_shot_is_scored_once_skipped_and_rescored_from_the_cache(data, fake_llm, tmp_path):
    out, cache = tmp_path / "bench", tmp_path / "cache"
    flags = ["--methods", "zero-shot-llm", "--seeds", "0,1", *llm_args(fake_llm, cache)]
    result = bench(data, out, *flags)
    assert result.exit_code == 0, result.output
    assert "zero-shot-llm on 1 seed" in result.output
    assert "[1/1] zero-shot-llm seed 0: asking fake; not trained" in result.output

    # temperature 0: one evaluation, in the first seed's folder, no seed sent to the server
    runs = out / "runs" / "zero-shot-llm"
    assert sorted(p.name for p in runs.iterdir()) == ["seed0"]
    assert all(body.get("seed") is None for body in fake_llm.requests)
    asked = len(fake_llm.requests)
    rows = [json.loads(x) for x in (data / "test.jsonl").read_text().splitlines()]
    yawning = sum("yawning" in r["question"] for r in rows)
    assert 0 < yawning < len(rows), "the toy test set must hold both kinds of case"
    # a label and a rationale per case, two label prompts per yawning case; repeated
    # questions of the toy data may come from the answer cache
    assert 0 < asked <= 2 * len(rows)

    metrics_file = runs / "seed0/eval/metrics.json"
    metrics = json.loads(metrics_file.read_text())
    assert metrics["accuracy"] == pytest.approx(1 - yawning / len(rows))
    assert metrics["n_predicted_outside_labels"] == yawning
    for absent in ("consistency", "sufficiency", "gold_robustness", "ece"):
        assert metrics[absent] is None, absent
    assert metrics["bleu"] is not None and metrics["n"] == len(rows)
    mapping = metrics["zero_shot"]["label_mapping"]
    assert mapping["unmapped"] == yawning and mapping["exact"] + mapping["normalized"] > 0
    assert metrics["bench_eval"]["llm"]["model"] == "fake"
    assert metrics["bench_eval"]["llm"]["sampling_seed"] is None
    predictions = (runs / "seed0/eval/predictions.jsonl").read_text().splitlines()
    assert len(predictions) == len(rows)

    results = json.loads((out / "results.json").read_text())
    row = results["summary"]["zero-shot-llm"]
    assert row["n_seeds"] == 1 and row["metrics"]["accuracy"]["mean"] == metrics["accuracy"]
    # the baselines are compared with it case by case (neither depends on the seed)
    assert results["comparisons"]["reference"] == "zero-shot-llm"
    assert results["comparisons"]["rows"]["majority"]["accuracy"]["n_units"] == len(rows)
    assert row["metrics"]["train_steps"]["n"] == 0 and row["metrics"]["consistency"]["n"] == 0
    assert results["zero_shot_llm"]["model"] == "fake" and results["zero_shot_llm"]["seeds"] == [0]
    md = (out / "results.md").read_text()
    assert "## Zero-shot LLM" in md and "| zero-shot-llm | 1 |" in md
    assert f"| 0 | {mapping['exact']} / {mapping['normalized']} /" in md

    # the same command: skipped, the server is not asked, the metrics are not rewritten
    before = metrics_file.stat().st_mtime_ns
    again = bench(data, out, *flags)
    assert again.exit_code == 0, again.output
    assert "[1/1] zero-shot-llm seed 0: skipped (already complete)" in again.output
    assert len(fake_llm.requests) == asked and metrics_file.stat().st_mtime_ns == before

    # other evaluation settings: scored again, every answer from the cache
    limited = bench(data, out, *flags, "--test-limit", "4")
    assert limited.exit_code == 0, limited.output
    assert "asking fake again" in limited.output
    assert len(fake_llm.requests) == asked
    assert json.loads(metrics_file.read_text())["n"] == 4

    # another model in the same folder is refused, like another training configuration
    other = ["--methods", "zero-shot-llm", *llm_args(fake_llm, cache, model="other")]
    refused = bench(data, out, *other)
    assert refused.exit_code == 2, refused.output
    assert "other LLM settings" in refused.output and "'fake'" in refused.output


def test_zero_shot_without_a_server_is_refused(data, tmp_path):
    out = tmp_path / "bench"
    result = bench(data, out, "--methods", "sft,zero-shot-llm", "--llm-model", "m")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "zero-shot-llm needs --llm-base-url" in result.output
    assert not out.exists()
    result = bench(data, out, "--methods", "zero-shot-llm")
    assert "--llm-base-url and --llm-model" in result.output and result.exit_code == 2


def test_zero_shot_beside_a_trained_method_with_sampling_per_seed(data, fake_llm, tmp_path):
    texts = [r for r in (data / "train.jsonl").read_text().split() if r]
    model = save_tiny_t5(tmp_path / "t5", [*texts, "predict explain given label : , yes no"])
    out = tmp_path / "bench"
    result = bench(
        data,
        out,
        *["--methods", "sft,zero-shot-llm", "--seeds", "0,1", "--model", str(model)],
        *["--max-steps", "2", "--batch-size", "8", "--eval-steps", "2"],
        *["--max-input-length", "48", "--eval-batch-size", "8"],
        *[*llm_args(fake_llm, tmp_path / "cache"), "--llm-temperature", "0.7"],
    )
    assert result.exit_code == 0, result.output
    assert "1 methods × 2 seeds, zero-shot-llm on 2 seeds" in result.output
    runs = out / "runs"
    assert sorted(p.name for p in (runs / "zero-shot-llm").iterdir()) == ["seed0", "seed1"]
    assert {body.get("seed") for body in fake_llm.requests} == {0, 1}
    assert {body["temperature"] for body in fake_llm.requests} == {0.7}
    results = json.loads((out / "results.json").read_text())
    assert list(results["summary"]) == [
        "sft",
        "zero-shot-llm",
        *["majority", "tfidf-lr", "copy-last-sentences", "copy-input"],
    ]
    assert results["summary"]["zero-shot-llm"]["n_seeds"] == 2
    # sampled per seed: paired with sft seed by seed
    n_test = len((data / "test.jsonl").read_text().splitlines())
    assert results["comparisons"]["rows"]["zero-shot-llm"]["accuracy"]["n_units"] == 2 * n_test
    assert "zero-shot-llm is not trained" in results["budget_note"]
    assert (runs / "sft/seed1/eval/metrics.json").is_file()
    assert (out / "plots/metric_accuracy.png").is_file()
