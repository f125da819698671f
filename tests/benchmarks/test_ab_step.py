"""benchmarks/ab_step.py: two values of one setting, each batch stepped under both."""

from __future__ import annotations

import json

import pytest

QUESTIONS = [f"does treatment {i} help patients with condition {i % 3}" for i in range(8)]
# targets of very different lengths, so that the decoder passes can differ
RATIONALES = [
    " ".join(["trial", str(i), "showed", "a", "benefit"] + ["in", "the", "groups"] * (i % 4) * 4)
    for i in range(8)
]


@pytest.fixture(scope="module")
def ab(benchmark_script):
    benchmark_script("profile_ops")
    return benchmark_script("ab_step")


@pytest.fixture
def inputs(step_inputs):
    return step_inputs(QUESTIONS, RATIONALES)


@pytest.mark.parametrize(
    "setting,values", [("length-passes", "one,auto"), ("dropout-masks", "torch,fast")]
)
def test_every_batch_is_stepped_under_both_values(ab, inputs, tmp_path, setting, values, capsys):
    model, train = inputs
    out = tmp_path / "ab.json"
    common = ["--model", str(model), "--train", str(train), "--stage", "stage1"]
    common += ["--batch-size", "2", "--host-memory", "return"]
    summary = ab.main(
        ["--setting", setting, "--values", values, "--batches", "3", "--out", str(out), *common]
    )
    a, b = values.split(",")
    assert [p["batch"] for p in summary["pairs"]] == [1, 2, 3]
    assert all(p[a] > 0 and p[b] > 0 for p in summary["pairs"])
    sums = [sum(p[value] for p in summary["pairs"]) for value in (a, b)]
    assert summary["ratio"] == pytest.approx(sums[0] / sums[1], abs=1e-4)
    assert json.loads(out.read_text())["pairs"] == summary["pairs"]
    assert f"{setting}: {a}" in capsys.readouterr().out


def test_values_outside_the_setting_are_refused(ab, inputs, capsys):
    model, train = inputs
    with pytest.raises(SystemExit):
        ab.main(["--setting", "length-passes", "--values", "one,fast", "--model", str(model)])
    assert "two of auto, one" in capsys.readouterr().err


def test_more_batches_than_the_file_holds_are_refused(ab, inputs):
    model, train = inputs
    with pytest.raises(SystemExit, match="8 examples"):
        ab.main(
            ["--setting", "dropout-masks", "--values", "fast,torch", "--batches", "4"]
            + ["--model", str(model), "--train", str(train), "--batch-size", "2"]
            + ["--host-memory", "return"]
        )
