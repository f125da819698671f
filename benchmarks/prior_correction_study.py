"""What the decision prior correction (``--prior-correction val``) would change in finished runs.

For each bench run (``RUNS/METHOD/seedN`` with ``eval/predictions.jsonl``, the test predictions
with their label probabilities), this script chooses τ on the run's validation predictions
(``val/predictions.jsonl``; with ``--models``, scored first where missing, labels only, from the
run's model), re-decides the test cases by ``log p(y|x) − τ·log π(y)`` with π the training label
counts, and reports accuracy and macro-F1 before and after: per run, and per method as mean ±
std over seeds with a paired bootstrap 95 % interval of after − before over the test cases
pooled across seeds. It is what a model trained with ``--prior-correction val`` decides (the
same functions, applied to probabilities saved to 6 decimals: a near-tie can fall the other
way), for runs trained without that option; runs whose predictions were already corrected
(``prior_tau`` > 0 in their metrics) are refused.

Only the decisions are re-made: an r2d model's rationale is conditioned on its decision, so
the rationale metrics of a corrected r2d model would differ too, and are not reported here.

    python benchmarks/prior_correction_study.py --runs RUNS --data PREPARED_DATA \\
        [--models BENCH_OUTPUT/runs] [--out results/DIR/prior-correction]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

import torch

from reason2decide.bench.significance import macro_f1_statistic, mean_statistic, paired_bootstrap
from reason2decide.data.readers import read_examples
from reason2decide.io import read_json, read_jsonl, write_json, write_jsonl
from reason2decide.label_metrics import label_metrics
from reason2decide.methods.prior_correction import (
    choose_tau,
    correct_probabilities,
    label_log_prior,
)
from reason2decide.training.decision_prior import label_counts

VAL_PREDICTIONS = Path("val") / "predictions.jsonl"
TEST_PREDICTIONS = Path("eval") / "predictions.jsonl"


def score_val(model_run: Path, val: Path, target: Path) -> None:
    """Write the validation label predictions (with probabilities) of the run's model."""
    from reason2decide.inference import Predictor

    predictor = Predictor.from_output(model_run, prior_tau=0.0)
    examples = read_examples(val, predictor.columns)
    predictions = predictor.predict(
        [e.question for e in examples], with_rationale=False, progress=True
    )
    write_jsonl(
        target,
        [
            {"id": e.id, "gold_label": e.label, **p.to_dict()}
            for e, p in zip(examples, predictions, strict=True)
        ],
    )


def probabilities(records: list[dict[str, Any]], labels: list[str]) -> torch.Tensor:
    return torch.tensor([[float(r["probabilities"][label]) for label in labels] for r in records])


def decide(probs: torch.Tensor, labels: list[str], log_prior: torch.Tensor, tau: float) -> list:
    return [labels[i] for i in correct_probabilities(probs, log_prior, tau).argmax(-1).tolist()]


def study_run(run: Path, labels: list[str], log_prior: torch.Tensor) -> dict[str, Any]:
    """τ chosen on the run's validation predictions and the test decisions before and after."""
    val = read_jsonl(run / VAL_PREDICTIONS)
    test = read_jsonl(run / TEST_PREDICTIONS)
    for part in ("val", "eval"):
        metrics = run / part / "metrics.json"
        if metrics.is_file() and read_json(metrics).get("prior_tau"):
            raise SystemExit(f"{run / part}: predictions already corrected (prior_tau > 0)")
    choice = choose_tau(
        probabilities(val, labels), [r["gold_label"] for r in val], labels, log_prior
    )
    gold = [r["gold_label"] for r in test]
    probs = probabilities(test, labels)
    decisions = {
        # as recorded: rounded probabilities can tie where the model's scores did not
        "before": [r["label"] for r in test],
        "after": decide(probs, labels, log_prior, choice.tau),
        "tau=1": decide(probs, labels, log_prior, 1.0),
    }
    scores = {}
    for name, predicted in decisions.items():
        metrics = label_metrics(gold, predicted, labels)
        scores[name] = {
            "accuracy": metrics["accuracy"],
            "macro_f1": metrics["macro_f1"],
            "f1": {label: metrics["per_class"][label]["f1"] for label in labels},
        }
    every_tau = {}
    for tau in choice.macro_f1:
        predicted = decisions["before"] if tau == 0 else decide(probs, labels, log_prior, tau)
        metrics = label_metrics(gold, predicted, labels)
        every_tau[str(tau)] = {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"]}
    return {
        "tau": choice.tau,
        "validation": choice.to_dict(),
        "test_every_tau": every_tau,
        "test": scores,
        "ids": [r["id"] for r in test],
        "gold": gold,
        "decisions": decisions,
    }


def method_summary(runs: dict[int, dict[str, Any]], labels: list[str]) -> dict[str, Any]:
    """Mean ± std over seeds, and the paired bootstrap of after − before (cases pooled)."""
    summary: dict[str, Any] = {"seeds": sorted(runs), "tau": [runs[s]["tau"] for s in sorted(runs)]}
    for metric in ("accuracy", "macro_f1"):
        for name in ("before", "after", "tau=1"):
            values = [runs[s]["test"][name][metric] for s in sorted(runs)]
            summary[f"{metric}_{name}"] = {
                "mean": statistics.fmean(values),
                "std": statistics.stdev(values) if len(values) > 1 else None,
            }
    ids = [i for s in sorted(runs) for i in runs[s]["ids"]]
    gold = [g for s in sorted(runs) for g in runs[s]["gold"]]
    before = [p for s in sorted(runs) for p in runs[s]["decisions"]["before"]]
    after = [p for s in sorted(runs) for p in runs[s]["decisions"]["after"]]
    summary["after_minus_before"] = {
        "accuracy": paired_bootstrap(
            mean_statistic([a == g for a, g in zip(after, gold, strict=True)]),
            mean_statistic([b == g for b, g in zip(before, gold, strict=True)]),
            ids,
        ).to_dict(),
        "macro_f1": paired_bootstrap(
            macro_f1_statistic(gold, after, labels),
            macro_f1_statistic(gold, before, labels),
            ids,
        ).to_dict(),
    }
    return summary


def markdown(per_run: dict, per_method: dict, labels: list[str], counts: dict) -> str:
    def ms(d: dict) -> str:
        return f"{d['mean']:.3f}" + ("" if d["std"] is None else f" ± {d['std']:.3f}")

    def iv(d: dict) -> str:
        mark = " (excludes 0)" if d["excludes_zero"] else ""
        return f"{d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]{mark}"

    lines = [
        "# Decision prior correction on finished runs",
        "",
        f"Training label counts (π): {', '.join(f'{k} {v}' for k, v in counts.items())}. "
        "τ chosen per run on its validation predictions (macro-F1; ties: the smallest τ).",
        "",
        "| method | seeds | τ chosen | accuracy before | after | macro-F1 before | after "
        "| Δ accuracy [95 %] | Δ macro-F1 [95 %] | macro-F1 at τ = 1 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for method, s in per_method.items():
        d = s["after_minus_before"]
        lines.append(
            f"| {method} | {len(s['seeds'])} | {', '.join(str(t) for t in s['tau'])} "
            f"| {ms(s['accuracy_before'])} | {ms(s['accuracy_after'])} "
            f"| {ms(s['macro_f1_before'])} | {ms(s['macro_f1_after'])} "
            f"| {iv(d['accuracy'])} | {iv(d['macro_f1'])} | {ms(s['macro_f1_tau=1'])} |"
        )
    lines += [
        "",
        "Per run (test; per-label F1 after the correction):",
        "",
        "| run | τ | accuracy | macro-F1 | " + " | ".join(f"F1 {label}" for label in labels) + " |",
        "| --- | --- | --- | --- | " + " | ".join("---" for _ in labels) + " |",
    ]
    for name, r in per_run.items():
        after = r["test"]["after"]
        before = r["test"]["before"]
        lines.append(
            f"| {name} | {r['tau']} | {before['accuracy']:.3f} → {after['accuracy']:.3f} "
            f"| {before['macro_f1']:.3f} → {after['macro_f1']:.3f} | "
            + " | ".join(
                f"{before['f1'][label]:.3f} → {after['f1'][label]:.3f}" for label in labels
            )
            + " |"
        )
    taus = list(next(iter(per_run.values()))["test_every_tau"])
    lines += [
        "",
        "Test accuracy / macro-F1 at every τ (to read the choice against, not to choose by: "
        "τ is chosen on validation) and validation macro-F1:",
        "",
        "| run | " + " | ".join(f"τ = {t}" for t in taus) + " |",
        "| --- | " + " | ".join("---" for _ in taus) + " |",
    ]
    for name, r in per_run.items():
        cells = []
        for t in taus:
            test = r["test_every_tau"][t]
            val = r["validation"]["validation_macro_f1"][t]
            cells.append(f"{test['accuracy']:.3f} / {test['macro_f1']:.3f} (val {val:.3f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True, help="RUNS/METHOD/seedN folders")
    parser.add_argument("--data", type=Path, required=True, help="train.jsonl and val.jsonl")
    parser.add_argument("--models", type=Path, help="bench runs with model/ to score val from")
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    args = parser.parse_args(argv)

    train = read_examples(args.data / "train.jsonl")
    counts = label_counts(train)
    per_run: dict[str, dict[str, Any]] = {}
    per_method: dict[str, dict[str, Any]] = {}
    for run in sorted(p for p in args.runs.glob("*/seed*") if (p / TEST_PREDICTIONS).is_file()):
        method, seed = run.parent.name, int(run.name.removeprefix("seed"))
        test = read_jsonl(run / TEST_PREDICTIONS)
        if not test or test[0].get("probabilities") is None:
            print(f"{method} seed {seed}: no label probabilities, skipped", file=sys.stderr)
            continue
        labels = list(test[0]["probabilities"])
        if not (run / VAL_PREDICTIONS).is_file():
            model_run = args.models / method / run.name if args.models else None
            if model_run is None or not (model_run / "model").is_dir():
                print(f"{method} seed {seed}: no validation predictions, skipped", file=sys.stderr)
                continue
            print(f"{method} seed {seed}: scoring the validation cases", file=sys.stderr)
            score_val(model_run, args.data / "val.jsonl", run / VAL_PREDICTIONS)
        log_prior = label_log_prior(labels, counts)
        per_run[f"{method} seed {seed}"] = result = study_run(run, labels, log_prior)
        per_method.setdefault(method, {})[seed] = result
    if not per_run:
        print("no run with test and validation predictions", file=sys.stderr)
        return 1
    summaries = {m: method_summary(runs, labels) for m, runs in per_method.items()}
    text = markdown(per_run, summaries, labels, counts)
    print(text)
    if args.out:
        args.out.with_suffix(".md").write_text(text, encoding="utf-8")
        slim = {
            k: {x: v for x, v in r.items() if x not in ("ids", "gold", "decisions")}
            for k, r in per_run.items()
        }
        write_json(
            args.out.with_suffix(".json"),
            {"runs": slim, "methods": summaries, "label_counts": counts},
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
