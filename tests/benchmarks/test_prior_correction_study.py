"""benchmarks/prior_correction_study.py: τ chosen on each run's validation predictions, test
decisions re-made, before/after reported with paired intervals."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def study(benchmark_script):
    return benchmark_script("prior_correction_study")


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def leaning_predictions(n_per_label: dict[str, int]) -> list[dict]:
    """A model that ranks every case right but leans on "yes": a "maybe" case gets maybe 0.3
    against yes 0.45, so the plain arg-max never answers "maybe"."""
    shapes = {
        "yes": {"yes": 0.8, "no": 0.1, "maybe": 0.1},
        "no": {"yes": 0.2, "no": 0.7, "maybe": 0.1},
        "maybe": {"yes": 0.45, "no": 0.25, "maybe": 0.3},
    }
    rows = []
    for gold, n in n_per_label.items():
        for i in range(n):
            probs = shapes[gold]
            label = max(probs, key=probs.get)
            rows.append(
                {"id": f"{gold}-{i}", "gold_label": gold, "label": label, "probabilities": probs}
            )
    return rows


def test_correction_recovers_the_rare_label_and_reports_intervals(study, tmp_path):
    data = tmp_path / "data"
    train = [
        {"id": f"t{i}", "question": f"q {i}", "label": label}
        for i, label in enumerate(["yes"] * 60 + ["no"] * 30 + ["maybe"] * 10)
    ]
    write_jsonl(data / "train.jsonl", train)
    runs = tmp_path / "runs"
    for seed in (0, 1):
        run = runs / "r2d" / f"seed{seed}"
        write_jsonl(
            run / "val" / "predictions.jsonl", leaning_predictions({"yes": 6, "no": 3, "maybe": 2})
        )
        write_jsonl(
            run / "eval" / "predictions.jsonl",
            leaning_predictions({"yes": 30, "no": 15, "maybe": 5}),
        )
    # a run without validation predictions (and no model to score them) is skipped, said so
    write_jsonl(
        runs / "sft" / "seed0" / "eval" / "predictions.jsonl", leaning_predictions({"yes": 1})
    )
    out = tmp_path / "report" / "prior"
    out.parent.mkdir()
    assert study.main(["--runs", str(runs), "--data", str(data), "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert set(report["methods"]) == {"r2d"}
    summary = report["methods"]["r2d"]
    assert summary["tau"][0] > 0
    assert summary["macro_f1_before"]["mean"] < 0.7
    assert summary["macro_f1_after"]["mean"] == pytest.approx(1.0)
    interval = summary["after_minus_before"]["macro_f1"]
    assert interval["excludes_zero"] and interval["low"] > 0
    assert report["runs"]["r2d seed 0"]["test"]["after"]["f1"]["maybe"] == pytest.approx(1.0)
    assert "| r2d | 2 |" in out.with_suffix(".md").read_text()


def test_no_usable_run_is_an_error(study, tmp_path):
    write_jsonl(tmp_path / "data" / "train.jsonl", [{"id": "a", "question": "q", "label": "yes"}])
    (tmp_path / "runs").mkdir()
    assert study.main(["--runs", str(tmp_path / "runs"), "--data", str(tmp_path / "data")]) == 1


def test_runs_already_corrected_are_refused(study, tmp_path):
    write_jsonl(tmp_path / "data" / "train.jsonl", [{"id": "a", "question": "q", "label": "yes"}])
    run = tmp_path / "runs" / "r2d" / "seed0"
    write_jsonl(run / "val" / "predictions.jsonl", leaning_predictions({"yes": 2, "maybe": 1}))
    write_jsonl(run / "eval" / "predictions.jsonl", leaning_predictions({"yes": 2, "maybe": 1}))
    (run / "eval" / "metrics.json").write_text(json.dumps({"prior_tau": 0.5}))
    with pytest.raises(SystemExit, match="already corrected"):
        study.main(["--runs", str(tmp_path / "runs"), "--data", str(tmp_path / "data")])
