"""`r2d data synth-triage`: writes the splits, prints sizes and labels, fails cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from reason2decide.cli import app

runner = CliRunner()


def test_synth_triage_writes_splits_and_prints_distribution(tmp_path: Path) -> None:
    out = tmp_path / "triage"
    result = runner.invoke(
        app, ["data", "synth-triage", "--n", "100", "--seed", "3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["test.jsonl", "train.jsonl", "val.jsonl"]
    assert "train 80" in result.output and "val 10" in result.output and "test 10" in result.output
    for label in ("emergency now", "urgent care within 24 h", "see a family doctor"):
        assert label in result.output
    lines = (out / "train.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 80


def test_synth_triage_fractions_and_noise_flags(tmp_path: Path) -> None:
    args = ["data", "synth-triage", "--n", "60", "--out", str(tmp_path)]
    args += ["--val-fraction", "0.25", "--test-fraction", "0.25", "--noise", "0"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "train 30" in result.output and "val 15" in result.output


def test_synth_triage_bad_argument_is_one_line_without_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "synth-triage", "--n", "3", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "error:" in result.output and "n=3" in result.output and "n >=" in result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.iterdir())


def test_synth_triage_bad_argument_in_a_real_process(tmp_path: Path) -> None:
    code = "from reason2decide.cli import main; main()"
    args = ["data", "synth-triage", "--noise", "2", "--out", str(tmp_path)]
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert "noise" in proc.stderr and "Traceback" not in proc.stderr + proc.stdout


def test_synth_triage_can_mask_the_label_in_rationales(tmp_path: Path) -> None:
    from reason2decide.data.leakage import count_leaking
    from reason2decide.data.readers import read_examples

    plain, masked = tmp_path / "plain", tmp_path / "masked"
    args = ["data", "synth-triage", "--n", "60", "--seed", "1"]
    assert runner.invoke(app, [*args, "--out", str(plain)]).exit_code == 0
    result = runner.invoke(app, [*args, "--out", str(masked), "--mask-label-in-rationale"])
    assert result.exit_code == 0, result.output
    for split in ("train.jsonl", "val.jsonl", "test.jsonl"):
        before, after = read_examples(plain / split), read_examples(masked / split)
        assert count_leaking(before)[0] > 0
        assert count_leaking(after)[0] == 0
        assert [e.label for e in after] == [e.label for e in before]
        assert any("[LABEL]" in e.rationale for e in after)
