"""benchmarks/profile_ops.py: a few training steps timed and profiled by operator."""

from __future__ import annotations

import json

import pytest

QUESTIONS = [f"does treatment {i} help patients with condition {i % 3}" for i in range(12)]
RATIONALES = [f"trial {i} showed a benefit in {i % 4} of the groups" for i in range(12)]


@pytest.fixture(scope="module")
def po(benchmark_script):
    return benchmark_script("profile_ops")


@pytest.fixture
def inputs(step_inputs):
    return step_inputs(QUESTIONS, RATIONALES)


@pytest.mark.parametrize("stage", ["sft", "stage1", "stage2"])
def test_steps_are_timed_and_operators_listed(po, inputs, stage, capsys):
    model, train = inputs
    result = po.main(
        [
            "--model",
            str(model),
            "--train",
            str(train),
            "--stage",
            stage,
            "--batch-size",
            "2",
            "--warmup",
            "1",
            "--timed",
            "2",
            "--profiled",
            "1",
            "--host-memory",
            "return",
        ]
    )
    assert len(result["step_s"]) == 2 and result["median_step_s"] > 0
    assert any(name in result["ops"] for name in ("aten::mm", "aten::bmm", "aten::addmm"))
    assert result["profiled_s"] > 0 and result["peak_rss_gib"] > 0
    assert "median s/step over 2 steps" in capsys.readouterr().out


def test_too_few_examples_for_the_steps_is_refused(po, inputs):
    model, train = inputs
    with pytest.raises(SystemExit, match="12 examples"):
        po.main(
            [
                "--model",
                str(model),
                "--train",
                str(train),
                "--batch-size",
                "4",
                "--timed",
                "3",
                "--profiled",
                "1",
                "--host-memory",
                "return",
            ]
        )


def test_a_line_separator_inside_a_string_is_not_a_line_break(po, tmp_path):
    # str.splitlines() also breaks at U+2028, which JSON allows raw inside a string
    train = tmp_path / "train.jsonl"
    rows = [{"question": "q\u2028one", "label": "yes", "rationale": "r"}] * 3
    train.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    examples = po.read_examples(train)
    assert [e.question for e in examples] == ["q\u2028one"] * 3
