"""End to end on a tiny T5: a bench of sft and r2d × 2 seeds that is interrupted, resumed,
rerun (nothing trained) and partly re-evaluated, writing results and plots each time, with the
reference baselines' rows and the paired bootstrap differences."""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path

import pytest
from transformers import TrainerCallback
from typer.testing import CliRunner

from reason2decide.bench import BenchSpec, run_bench
from reason2decide.cli import app
from tiny_models import save_tiny_t5, write_toy_dataset

runner = CliRunner()
# The toy data repeats questions and names labels in rationales: expected, and not under test.
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*contain their label verbatim"),
    pytest.mark.filterwarnings("ignore:.*also occur in train"),
]

TRAINING = {
    "max_steps": 4,
    "stage1_max_steps": 2,
    "batch_size": 8,
    "eval_steps": 2,
    "logging_steps": 1,
    "lr": 3e-3,
    "max_input_length": 48,
    "max_target_length": 12,
}


class Interrupt(TrainerCallback):
    """Raise KeyboardInterrupt in one run's Stage 2 once its step-2 checkpoint exists."""

    def __init__(self, run: str, at: int) -> None:
        self.run, self.at = run, at

    def on_step_end(self, args, state, control, **kwargs):
        if f"{self.run}/stage2" in args.output_dir and state.global_step == self.at:
            raise KeyboardInterrupt("simulated interruption")


def cli_args(data: Path, model: Path, out: Path, **changes: str) -> list[str]:
    options = {
        "--data": str(data),
        "--output": str(out),
        "--methods": "sft,r2d",
        "--seeds": "0,1",
        "--model": str(model),
        "--eval-batch-size": "8",
        **{f"--{k.replace('_', '-')}": str(v) for k, v in TRAINING.items()},
        **changes,
    }
    return ["bench", *[x for pair in options.items() for x in pair], "--no-bertscore"]


def mtimes(out: Path, name: str) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in sorted(out.rglob(name))}


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("bench")
    texts = write_toy_dataset(root / "data", n_train=32, n_val=12)
    shutil.copy(root / "data" / "val.jsonl", root / "data" / "test.jsonl")
    return root / "data", save_tiny_t5(root / "t5", texts)


def test_bench_interrupt_resume_skip_and_reevaluate(toy, tmp_path):
    data, model = toy
    out = tmp_path / "bench"
    runs = out / "runs"

    # 1. interrupted in the last run (seed-major order: sft 0, r2d 0, sft 1, r2d 1)
    spec = BenchSpec(
        data=data,
        output=out,
        methods=["sft", "r2d"],
        seeds=[0, 1],
        training={"model": str(model), **TRAINING},
        eval_batch_size=8,
        with_bertscore=False,
        progress=False,
    )
    said: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        run_bench(spec, say=said.append, callbacks=[Interrupt("r2d/seed1", at=3)])
    assert any("r2d seed 1: interrupted" in line for line in said)
    for done in ("sft/seed0", "r2d/seed0", "sft/seed1"):
        assert (runs / done / "eval/metrics.json").is_file(), done
    interrupted = json.loads((runs / "r2d/seed1/run.json").read_text())
    assert interrupted["status"] == "interrupted"  # Ctrl-C is recorded (issue 15)
    assert (runs / "r2d/seed1/stage2/checkpoint-2").is_dir()
    assert not (out / "results.md").exists()

    # 2. the same bench from the CLI: three runs skipped, the interrupted one resumed
    result = runner.invoke(app, cli_args(data, model, out))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert sum("skipped (already complete)" in line for line in lines) == 3
    assert any("[4/4] r2d seed 1: resuming" in line for line in lines)
    assert any("r2d seed 1: resumed in" in line for line in lines)
    resumed = json.loads((runs / "r2d/seed1/run.json").read_text())
    assert resumed["status"] == "complete" and resumed["resumed_at"]
    assert resumed["stages"]["stage2"]["resumed_from_step"] == 2
    assert resumed["stages"]["stage2"]["steps_done"] == 4
    for name in ("results.md", "results.csv", "results.json"):
        assert (out / name).is_file(), name

    # results equal the per-run metrics; SFT's rationale metrics are absent, not 0
    results = json.loads((out / "results.json").read_text())
    accuracies = [
        json.loads((runs / f"r2d/seed{s}/eval/metrics.json").read_text())["accuracy"]
        for s in (0, 1)
    ]
    r2d_acc = results["summary"]["r2d"]["metrics"]["accuracy"]
    assert r2d_acc["mean"] == pytest.approx(statistics.fmean(accuracies))
    assert r2d_acc["std"] == pytest.approx(statistics.stdev(accuracies))
    assert r2d_acc["n"] == 2
    sft_bleu = results["summary"]["sft"]["metrics"]["bleu"]
    assert sft_bleu["mean"] is None and sft_bleu["n"] == 0
    assert results["summary"]["r2d"]["metrics"]["bleu"]["n"] == 2
    assert results["summary"]["sft"]["runs"][1]["path"] == str(runs / "sft/seed1")
    assert results["budget"]["max_steps"] == 4 and results["budget"]["stage1_max_steps"] == 2
    # Reason2Decide-C's confidence definition is part of the recorded configuration
    assert results["config"]["r2dc_confidence"] == "token-geomean"
    assert results["command"].startswith("r2d bench --data ")
    assert "--max-steps 4" in results["command"] and "--no-bertscore" in results["command"]
    assert results["environment"]["torch"] and results["wall_time_s"]["runs_total"] > 0
    # CPU time: every trained run recorded its training's and its evaluation's
    assert results["cpu_time_s"]["runs"] == results["cpu_time_s"]["of_trained_runs"] == 4
    assert results["cpu_time_s"]["runs_total"] > 0
    for run in (r for r in results["runs"] if not r.get("baseline")):
        assert run["train_cpu_s"] > 0 and run["eval_cpu_s"] > 0, run["path"]
    assert results["summary"]["r2d"]["metrics"]["train_cpu_s"]["n"] == 2
    r2d_runs = [r for r in results["runs"] if r["method"] == "r2d"]
    assert r2d_runs[0]["steps"] == {"stage1": 2, "stage2": 4}
    csv_lines = (out / "results.csv").read_text().splitlines()
    assert len(csv_lines) == 7 and csv_lines[1].startswith("sft,false,2,0;1,")
    assert csv_lines[3].startswith("majority,true,0,,")
    assert "compared_to" in csv_lines[0] and "accuracy_diff_low" in csv_lines[0]
    md = (out / "results.md").read_text()
    assert "| sft | 2 |" in md and "| r2d | 2 |" in md and "—" in md
    assert "stage1_max_steps = 2" in md and "r2d bench --data" in md
    assert "CPU s (all cores together) over every trained run" in md
    assert "| train s | train CPU s | eval s | eval CPU s |" in md

    # the reference baselines: rows of their own, run once, label-only or rationale-only
    summary = results["summary"]
    baselines = ["majority", "tfidf-lr", "copy-last-sentences", "copy-input"]
    assert list(summary) == ["sft", "r2d", *baselines]
    for name in baselines:
        assert summary[name]["baseline"] is True and summary[name]["n_seeds"] == 0, name
        assert f"| {name} (baseline) | — |" in md, name
        assert (out / "baselines" / name / "predictions.jsonl").is_file(), name
    assert summary["r2d"]["baseline"] is False
    # 16 "yes" and 16 "no" in train: the tie goes to the first label ("no"); test is half "no"
    assert results["baselines"]["majority"]["label"] == "no"
    assert summary["majority"]["metrics"]["accuracy"]["mean"] == pytest.approx(0.5)
    assert results["baselines"]["tfidf-lr"]["C"] in (0.01, 0.1, 1.0, 10.0, 100.0)
    for label_only in ("majority", "tfidf-lr"):
        assert summary[label_only]["metrics"]["bleu"]["mean"] is None
        assert summary[label_only]["metrics"]["accuracy"]["mean"] is not None
    for copy in ("copy-last-sentences", "copy-input"):
        assert summary[copy]["metrics"]["accuracy"]["mean"] is None
        assert summary[copy]["metrics"]["bleu"]["mean"] is not None
    assert "### Baselines" in md and "C = " in md

    # paired bootstrap against the first method (sft), over 2 seeds × 12 test cases
    comparisons = results["comparisons"]
    assert comparisons["reference"] == "sft" and comparisons["n_resamples"] == 1000
    assert list(comparisons["rows"]) == ["r2d", *baselines]
    r2d_acc = comparisons["rows"]["r2d"]["accuracy"]
    assert r2d_acc["n_units"] == 24 and r2d_acc["n_cases"] == 12
    assert r2d_acc["low"] <= r2d_acc["difference"] <= r2d_acc["high"]
    means = {row: summary[row]["metrics"]["accuracy"]["mean"] for row in ("sft", "r2d")}
    assert r2d_acc["difference"] == pytest.approx(means["r2d"] - means["sft"])
    assert comparisons["rows"]["majority"]["accuracy"]["n_units"] == 24  # paired with each seed
    assert comparisons["rows"]["r2d"]["bleu"] is None  # sft has no rationales
    assert "## Differences from sft" in md
    assert "exclude" in md.split("## Differences from sft")[1]
    assert "| r2d | 24 (12) |" in md  # the pairs each difference is over, shown

    plots = out / "plots"
    expected = [
        "metric_accuracy",
        "metric_macro_f1",
        "metric_bleu",
        "curves_loss",
        "curves_alpha",
        "curves_p_pred",
        "curves_eval_macro_f1",
        "curves_stage1_loss",
    ]
    for name in expected:
        png = plots / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f"plots/{name}.png" in md
    assert not (plots / "metric_bertscore_f1.png").exists(), "no BERTScore, no chart"

    # 3. again, compared with r2d: every run skipped, nothing trained, evaluated or refitted
    trained = mtimes(runs, "run.json")
    evaluated = mtimes(runs, "metrics.json")
    fitted = mtimes(out / "baselines", "metrics.json")
    result = runner.invoke(app, cli_args(data, model, out, **{"--compare-to": "r2d"}))
    assert result.exit_code == 0, result.output
    assert result.output.count("skipped (already complete)") == 4
    assert "(reused)" in result.output and mtimes(out / "baselines", "metrics.json") == fitted
    results = json.loads((out / "results.json").read_text())
    assert results["comparisons"]["reference"] == "r2d"
    assert results["comparisons"]["rows"]["copy-input"]["bleu"]["n_units"] == 24
    assert "## Differences from r2d" in (out / "results.md").read_text()
    for word in ("training", "resuming", "evaluating"):
        assert word not in result.output
    assert mtimes(runs, "run.json") == trained and mtimes(runs, "metrics.json") == evaluated

    # 4. one run's evaluation deleted: only that run is evaluated again
    shutil.rmtree(runs / "sft/seed1/eval")
    result = runner.invoke(app, cli_args(data, model, out))
    assert result.exit_code == 0, result.output
    assert result.output.count("skipped (already complete)") == 3
    assert "[3/4] sft seed 1: trained earlier, evaluating" in result.output
    assert mtimes(runs, "run.json") == trained
    now = mtimes(runs, "metrics.json")
    assert {k for k in now if now[k] != evaluated.get(k)} == {"sft/seed1/eval/metrics.json"}

    # 5. an unknown reference row, or another budget in the same folder, is refused before
    # anything runs
    result = runner.invoke(app, cli_args(data, model, out, **{"--compare-to": "dss"}))
    assert result.exit_code == 2, result.output
    assert "--compare-to 'dss' is not a row" in result.output and "majority" in result.output
    result = runner.invoke(app, cli_args(data, model, out, **{"--max-steps": "5"}))
    assert result.exit_code == 2, result.output
    assert "another configuration" in result.output and "max_steps=4" in result.output
