"""benchmarks/bench_in_parts.py: a grid run one (method, seed) at a time whose finished runs are
kept without weights and carried to a fresh machine, where the bench trains nothing again."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tiny_models import save_tiny_t5, write_toy_dataset

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*contain their label verbatim"),
    pytest.mark.filterwarnings("ignore:.*also occur in train"),
]


@pytest.fixture(scope="module")
def parts(benchmark_script):
    return benchmark_script("bench_in_parts")


def test_bench_options_read_and_replaced(parts):
    args = ["--data", "d", "--methods=r2d,sft", "--seeds", "0,1", "--output", "o"]
    assert parts.bench_option(args, "methods") == "r2d,sft"
    assert parts.bench_option(args, "seeds") == "0,1"
    replaced = parts.with_option(parts.with_option(args, "methods", "sft"), "seeds", "1")
    assert replaced == ["--data", "d", "--output", "o", "--methods", "sft", "--seeds", "1"]
    with pytest.raises(SystemExit, match="--config"):
        parts.bench_option(args, "config")
    assert parts.bench_option(args, "config", "none") == "none"


def test_zero_shot_at_temperature_zero_runs_for_the_first_seed_only(parts):
    seeds = ["3", "1", "2"]
    assert parts.method_seeds("zero-shot-llm", seeds, []) == ["3"]
    assert parts.method_seeds("zero-shot-llm", seeds, ["--llm-temperature", "0.7"]) == seeds
    assert parts.method_seeds("r2d", seeds, []) == seeds


def test_keep_run_leaves_weights_and_checkpoints_behind(parts, tmp_path):
    run = tmp_path / "run"
    for name in (
        "run.json",
        "eval/metrics.json",
        "eval/predictions.jsonl",
        "stage2/stage.json",
        "model/model.safetensors",
        "model/config.json",
        "stage2/checkpoint-25/optimizer.pt",
        "stage1/adapter.bin",
    ):
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_text(name)
    kept = tmp_path / "keep" / "r2d" / "seed0"
    kept.parent.mkdir(parents=True)
    size = parts.keep_run(run, kept)
    files = sorted(str(p.relative_to(kept)) for p in kept.rglob("*") if p.is_file())
    assert files == ["eval/metrics.json", "eval/predictions.jsonl", "run.json", "stage2/stage.json"]
    assert size == sum(len(f) for f in files)
    assert not kept.with_name("seed0.partial").exists()


def test_keep_run_refuses_a_run_too_large(parts, tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    (run / "huge.npy").write_bytes(b"0" * 100)
    monkeypatch.setattr(parts, "MAX_KEPT_BYTES", 10)
    with pytest.raises(SystemExit, match="without its weights"):
        parts.keep_run(run, tmp_path / "kept")
    assert not (tmp_path / "kept").exists()


def test_commit_takes_the_kept_run_alone(parts, tmp_path, monkeypatch):
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    git("init", "-q")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "t")
    (tmp_path / "other.txt").write_text("staged, not committed")
    git("add", "other.txt")
    kept = tmp_path / "results" / "runs" / "sft" / "seed0"
    kept.mkdir(parents=True)
    (kept / "run.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    assert parts.commit(Path("results/runs/sft/seed0"), "kept sft seed 0")
    assert git("show", "--name-only", "--format=%s", "HEAD").split() == [
        "kept",
        "sft",
        "seed",
        "0",
        "results/runs/sft/seed0/run.json",
    ]
    assert git("diff", "--cached", "--name-only").split() == ["other.txt"]


def test_commit_outside_git_is_said_not_raised(parts, tmp_path, capsys):
    kept = tmp_path / "seed0"
    kept.mkdir()
    assert not parts.commit(kept, "kept", tries=1)
    assert "could not commit" in capsys.readouterr().out


def test_grid_continues_on_a_fresh_machine(parts, tmp_path, capfd):
    data = tmp_path / "data"
    texts = write_toy_dataset(data, n_train=24, n_val=8)
    shutil.copy(data / "val.jsonl", data / "test.jsonl")
    model = save_tiny_t5(tmp_path / "t5", texts)
    keep = tmp_path / "kept"
    bench = [
        *("--data", str(data), "--output", str(tmp_path / "grid"), "--model", str(model)),
        *["--methods", "sft", "--seeds", "0,1", "--max-steps", "2", "--batch-size", "8"],
        *["--eval-steps", "2"],
        *["--max-input-length", "48", "--max-target-length", "12", "--eval-batch-size", "8"],
        "--no-bertscore",
    ]
    val = ["--val-labels", str(data / "val.jsonl")]
    assert parts.main(["--keep", str(keep), *val, "--", *bench]) == 0
    for seed in (0, 1):
        kept = keep / "sft" / f"seed{seed}"
        assert json.loads((kept / "run.json").read_text())["status"] == "complete"
        assert (kept / "eval" / "predictions.jsonl").is_file()
        val_rows = (kept / "val" / "predictions.jsonl").read_text().splitlines()
        assert len(val_rows) == 8 and "probabilities" in json.loads(val_rows[0])
        assert not (kept / "model").exists()
    capfd.readouterr()

    # a fresh machine: the output folder is gone, the kept runs are not
    shutil.rmtree(tmp_path / "grid")
    assert parts.main(["--keep", str(keep), "--", *bench]) == 0
    out = capfd.readouterr().out
    assert "restored sft/seed0" in out and "restored sft/seed1" in out
    assert ": training" not in out
    assert out.count("bench:") == 1  # kept runs start no part of their own
    assert out.count("skipped (already complete)") == 2
    results = json.loads((tmp_path / "grid" / "results.json").read_text())
    assert results["summary"]["sft"]["metrics"]["accuracy"]["n"] == 2


def test_validation_labels_are_scored_with_the_models_own_probabilities(
    parts, tmp_path, monkeypatch
):
    calls = []
    monkeypatch.setattr(parts.subprocess, "run", lambda args, check: calls.append(args))
    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    parts.score_val_labels(["r2d"], run, tmp_path / "val.jsonl")
    assert "--no-rationale" in calls[-1] and "--prior-tau" not in calls[-1]
    info = {"prior_correction": {"tau": 0.75}, "label_counts": {"yes": 3}}
    (run / "model" / "reason2decide.json").write_text(json.dumps(info))
    parts.score_val_labels(["r2d"], run, tmp_path / "val.jsonl")
    assert calls[-1][-2:] == ["--prior-tau", "0"]  # not corrected twice by the study
    (run / "val").mkdir()
    (run / "val" / "predictions.jsonl").write_text("{}\n")
    parts.score_val_labels(["r2d"], run, tmp_path / "val.jsonl")
    assert len(calls) == 2  # already scored: nothing run
