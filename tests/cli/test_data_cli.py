"""`r2d data synth-triage` and `r2d data prepare synth-triage`: write the splits, print sizes
and labels, fail cleanly."""

from __future__ import annotations

import hashlib
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
    names = sorted(p.name for p in out.iterdir())
    assert names == ["dataset.json", "test.jsonl", "train.jsonl", "val.jsonl"]
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


#: sha256 of the files the README's demo command (`r2d data synth-triage --out DIR`, seed 0,
#: 2,000 cases) wrote before synth-triage became a registered source (commit 1555d5b).
DEMO_SHA256 = {
    "train.jsonl": "287a26bd5a24a28780cedfff45581a0fa7813209c4381f3c186cd86246771cb8",
    "val.jsonl": "5ec8a7caf89541750a06e760015ac2dcc3af96415ccdba18d2c204da8257b8eb",
    "test.jsonl": "0c4ff8b6fcce7b9b0835615bce22bfce516d1983ba263288bb3b040ef0e40794",
}


def _hashes(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in DEMO_SHA256}


def test_the_demo_command_writes_the_same_bytes_as_before(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "synth-triage", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "synth-triage (seed 0): train 1600, val 200, test 200" in result.output
    assert "emergency now" in result.output and "491 (24.6%)" in result.output
    assert _hashes(tmp_path / "demo") == DEMO_SHA256


def test_prepare_synth_triage_is_the_same_source(tmp_path: Path) -> None:
    args = ["data", "prepare", "synth-triage", "--seed", "0", "--out", str(tmp_path / "p")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "synth-triage: train 1600, val 200, test 200" in result.output
    assert _hashes(tmp_path / "p") == DEMO_SHA256
    small = ["data", "prepare", "synth-triage", "--n", "40", "--noise", "0"]
    result = runner.invoke(app, [*small, "--val-fraction", "0.25", "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert "train 26, val 10, test 4" in result.output
    result = runner.invoke(app, [*small, "--out", str(tmp_path / "bad"), "--n", "many"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_prepare_rejects_a_synth_triage_option_for_another_source(tmp_path: Path) -> None:
    args = ["data", "prepare", "pubmedqa", "--noise", "0.1", "--out", str(tmp_path)]
    result = runner.invoke(app, [*args, "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "--noise applies to synth-triage only, not to 'pubmedqa'" in result.output


def test_data_list_shows_synth_triage() -> None:
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 0, result.output
    assert "synth-triage" in result.output and "none (generated offline)" in result.output
    assert "--noise" in result.output
