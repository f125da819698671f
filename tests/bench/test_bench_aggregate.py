"""Aggregation of hand-made run metrics equals hand-computed means and sample standard
deviations; absent metrics stay absent; the CSV/Markdown renderings carry the same numbers."""

from __future__ import annotations

import csv
import math

import pytest
from rich.console import Console

from reason2decide.bench.aggregate import (
    RunResult,
    aggregate,
    flatten_metrics,
    format_summary,
    summarize,
)
from reason2decide.bench.report import budget_note, csv_rows, results_table, write_csv


def metrics(accuracy, macro_f1, bleu=None, consistency=None, words=None, eps=10.0):
    """A metrics.json as evaluate_model writes it (only the keys the bench reads)."""
    return {
        "accuracy": accuracy,
        "macro_f1": macro_f1,
        "ece": 0.1,
        "bleu": bleu,
        "bertscore_precision": None,
        "bertscore_recall": None,
        "bertscore_f1": None,
        "consistency": consistency,
        "sufficiency": None,
        "gold_robustness": 0.5,
        "rationale_length": {
            "generated_words": None if words is None else {"mean": words, "median": words},
            "gold_words": {"mean": 9.0},
            "empty_generated": None if words is None else 0.0,
        },
        "inference": {"examples_per_second": eps},
        "per_class": {"yes": {"f1": 0.3}},
    }


def run(method, seed, m, wall=100.0, steps=(("stage2", 30),)):
    manifest = {
        "wall_time_s": wall,
        "cpu_time_s": 2 * wall,
        "stages": {k: {"steps_done": v} for k, v in steps},
    }
    return RunResult(method, seed, f"/b/runs/{method}/seed{seed}", flatten_metrics(m, manifest))


@pytest.fixture
def runs():
    two = (("stage1", 10), ("stage2", 30))
    return [
        run("r2d", 0, metrics(0.60, 0.50, bleu=0.20, consistency=0.9, words=12.0), 100.0, two),
        run("r2d", 1, metrics(0.70, 0.40, bleu=0.30, consistency=0.8, words=14.0), 110.0, two),
        run("r2d", 2, metrics(0.80, 0.60, bleu=None, consistency=0.7, words=16.0), 120.0, two),
        run("sft", 1, metrics(0.55, 0.35), 40.0, (("sft", 30),)),
        run("sft", 0, metrics(0.65, 0.45), 50.0, (("sft", 25),)),
    ]


def test_mean_and_sample_std_equal_hand_computed_values(runs):
    summary = aggregate(runs, ["r2d", "sft"])
    acc = summary["r2d"].metrics["accuracy"]
    # mean (0.6+0.7+0.8)/3 = 0.7; deviations -0.1, 0, 0.1: sample variance 0.02/2 = 0.01
    assert acc.mean == pytest.approx(0.70) and acc.std == pytest.approx(0.10) and acc.n == 3
    f1 = summary["sft"].metrics["macro_f1"]
    # (0.35+0.45)/2 = 0.40; deviations ±0.05: variance 2·0.0025/1 = 0.005
    assert f1.mean == pytest.approx(0.40) and f1.std == pytest.approx(math.sqrt(0.005))
    words = summary["r2d"].metrics["rationale_words"]
    assert words.mean == pytest.approx(14.0) and words.std == pytest.approx(2.0)
    assert summary["r2d"].metrics["train_steps"].mean == pytest.approx(40.0)
    assert summary["sft"].metrics["train_steps"].mean == pytest.approx(27.5)
    assert summary["r2d"].metrics["train_wall_s"].mean == pytest.approx(110.0)
    assert summary["r2d"].metrics["train_cpu_s"].mean == pytest.approx(220.0)
    # seeds are sorted and each run's folder is listed
    assert summary["sft"].seeds == [0, 1]
    assert summary["sft"].runs == [
        {"seed": 0, "path": "/b/runs/sft/seed0"},
        {"seed": 1, "path": "/b/runs/sft/seed1"},
    ]


def test_absent_metrics_stay_absent_and_partial_ones_count_their_seeds(runs):
    summary = aggregate(runs, ["r2d", "sft"])
    sft = summary["sft"].metrics
    for key in ("bleu", "consistency", "bertscore_f1", "rationale_words", "empty_rationales"):
        assert sft[key].mean is None and sft[key].std is None and sft[key].n == 0, key
    assert format_summary(sft["bleu"], 2) == "—"
    bleu = summary["r2d"].metrics["bleu"]  # seed 2 has no BLEU: mean of 0.2 and 0.3 only
    assert bleu.n == 2 and bleu.mean == pytest.approx(0.25)
    assert bleu.std == pytest.approx(math.sqrt(0.005))
    assert bleu.values == (0.2, 0.3, None)
    assert format_summary(bleu, 3) == "0.2500 ± 0.0707 (n=2)"


def test_summarize_corners():
    assert summarize([]).n == 0 and summarize([]).mean is None
    nothing = summarize([None, float("nan")])
    assert (nothing.mean, nothing.std, nothing.n, nothing.values) == (None, None, 0, (None, None))
    one = summarize([0.5, None])
    assert one.mean == 0.5 and one.std is None and one.n == 1
    assert format_summary(one, 1) == "0.5000"
    assert summarize([float("inf"), 1.0, 3.0]).mean == pytest.approx(2.0)
    assert summarize([True, 2.0]).n == 1, "a bool is not a metric value"


def test_flatten_reads_nested_values_and_missing_manifest():
    flat = flatten_metrics(metrics(0.5, 0.4, words=7.0, eps=3.5))
    assert flat["rationale_words"] == 7.0 and flat["examples_per_second"] == 3.5
    assert flat["empty_rationales"] == 0.0 and flat["train_wall_s"] is None
    assert flatten_metrics({"accuracy": 1})["bleu"] is None


def test_csv_and_table_carry_the_aggregated_numbers(runs, tmp_path):
    summary = aggregate(runs, ["r2d", "sft"])
    path = tmp_path / "results.csv"
    write_csv(path, csv_rows(summary))
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["method"] for r in rows] == ["r2d", "sft"]
    assert float(rows[0]["accuracy_mean"]) == pytest.approx(0.7)
    assert float(rows[0]["accuracy_std"]) == pytest.approx(0.1)
    assert rows[0]["bleu_n"] == "2" and rows[0]["n_seeds"] == "3" and rows[0]["seeds"] == "0;1;2"
    assert rows[1]["bleu_mean"] == "" and rows[1]["bleu_n"] == "0"
    assert rows[1]["run_folders"] == "/b/runs/sft/seed0;/b/runs/sft/seed1"
    console = Console(width=200, record=True)
    console.print(results_table(summary))
    text = console.export_text()
    assert [c.header for c in results_table(summary).columns] == ["metric", "r2d", "sft"]
    assert "0.7000±0.1000" in text and "14.0±2.0" in text
    assert "BERTScore" not in text, "a metric no method has gets no row"


def test_budget_note_says_two_stage_methods_get_stage1_on_top():
    config = {
        "max_steps": 300,
        "stage1_max_steps": 200,
        "batch_size": 8,
        "gradient_accumulation_steps": 1,
        "lr": 1e-4,
        "stage1_lr": None,
    }
    note = budget_note(["r2d", "sft", "dss"], config)
    assert "max_steps = 300" in note and "stage1_max_steps = 200" in note
    assert "up to 500 optimisation steps" in note and "200 more" in note
    assert "(sft, dss)" in note and "(r2d)" in note
    assert "200 more" not in budget_note(["r2d"], config)


def test_a_run_from_before_cpu_time_was_recorded_has_none():
    old = flatten_metrics(metrics(0.5, 0.4), {"wall_time_s": 10.0, "stages": {}})
    assert old["train_wall_s"] == 10.0 and old["train_cpu_s"] is None
