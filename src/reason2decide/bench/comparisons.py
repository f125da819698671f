"""Every results row against a reference row: paired bootstrap intervals of the differences.

The per-example scores come from each run's prediction records (``eval/predictions.jsonl``,
or a baseline's ``predictions.jsonl``), scored one example at a time with the evaluation
functions the metrics themselves use (:func:`~reason2decide.evaluation.bleu.example_bleu`,
:func:`~reason2decide.evaluation.bertscore.bertscore_per_example`,
:func:`~reason2decide.evaluation.faithfulness.faithfulness_metrics`, ...), so that their mean
over a run is the run's metric. Per-example BERTScore needs the encoder again: it is kept in
``example_scores.json`` beside the predictions and reused while the predictions file and the
encoder are the same.

Pairing: a unit is (seed, test case). Two rows trained per seed are paired on the seeds both
have; a row that does not depend on the seed (the baselines, ``zero-shot-llm`` at temperature
0; its predictions are keyed by seed ``None``) is paired with every seed of the other row. A
test case is its id (the n-th repeat of an id is a case of its own). The bootstrap itself is
:mod:`~reason2decide.bench.significance`.
"""

from __future__ import annotations

import hashlib
import string
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reason2decide.bench.aggregate import RunResult
from reason2decide.bench.significance import (
    BOOTSTRAP_SEED,
    N_RESAMPLES,
    Interval,
    Statistic,
    macro_f1_statistic,
    mean_statistic,
    paired_bootstrap,
)
from reason2decide.bench.spec import EVAL_DIR, PREDICTIONS_FILE, BenchPlan, BenchSpec, Say
from reason2decide.bench.zero_shot import ZERO_SHOT_METHOD
from reason2decide.data.choices import option_index
from reason2decide.io import read_json, read_jsonl, write_json

#: Metrics compared, in table order. macro-F1 is recomputed on each resample; every other one
#: is a mean of per-example scores. (ECE is left out: it bins confidences, it is not a
#: per-example score; training time and speed are not per-example either.)
COMPARED = (
    "accuracy",
    "macro_f1",
    "bleu",
    "bertscore_precision",
    "bertscore_recall",
    "bertscore_f1",
    "consistency",
    "sufficiency",
    "gold_robustness",
    "rationale_words",
    "empty_rationales",
)
_BERTSCORE = ("bertscore_precision", "bertscore_recall", "bertscore_f1")
EXAMPLE_SCORES_FILE = "example_scores.json"

CaseKey = tuple[str, int]


@dataclass
class RowPredictions:
    """Where a results row's prediction records are: ``predictions[seed]`` is a
    predictions.jsonl; the key ``None`` marks a row that does not depend on the seed."""

    name: str
    predictions: dict[int | None, Path]

    @property
    def seedless(self) -> bool:
        return None in self.predictions


@dataclass
class Comparisons:
    """The differences ``row - reference`` per row and metric (None: no common units)."""

    reference: str
    n_resamples: int
    seed: int
    confidence: float
    intervals: dict[str, dict[str, Interval | None]] = field(default_factory=dict)

    def excluding_zero(self) -> list[tuple[str, str, Interval]]:
        """``(row, metric, interval)`` of every difference whose interval excludes zero."""
        return [
            (row, metric, interval)
            for row, by_metric in self.intervals.items()
            for metric, interval in by_metric.items()
            if interval is not None and interval.excludes_zero
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "difference": "row - reference",
            "method": "paired bootstrap over test cases pooled across seeds, percentile interval",
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "confidence": self.confidence,
            "rows": {
                row: {m: (i.to_dict() if i is not None else None) for m, i in by_metric.items()}
                for row, by_metric in self.intervals.items()
            },
        }


# ---------------------------------------------------------------------- per-example scores
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _bertscores(
    records: Sequence[Mapping[str, Any]],
    predictions: Path,
    *,
    model: str | None,
    layers: int | None,
) -> dict[str, list[float | None]]:
    """Each record's BERTScore P/R/F1 (None where its rationale is not scored), read from
    ``example_scores.json`` beside ``predictions`` when that file was made from the same
    predictions with the same encoder, else computed and saved there."""
    from reason2decide.evaluation.bertscore import bertscore_per_example, resolve_encoder
    from reason2decide.evaluation.report import scored_rationale

    name, num_layers = resolve_encoder(model, layers)
    key = {"predictions_sha256": _sha256(predictions), "encoder": name, "num_layers": num_layers}
    cache = predictions.parent / EXAMPLE_SCORES_FILE
    if cache.is_file():
        try:
            saved = read_json(cache)
            if saved.get("key") == key:
                return {k: saved[k] for k in _BERTSCORE}
        except (OSError, ValueError, KeyError):
            pass  # unreadable: computed again
    scored = [i for i, r in enumerate(records) if scored_rationale(r)]
    values: dict[str, list[float | None]] = {k: [None] * len(records) for k in _BERTSCORE}
    if scored:
        per_example = bertscore_per_example(
            [records[i]["gold_rationale"] for i in scored],
            [records[i]["rationale"] for i in scored],
            model=name,
            num_layers=num_layers,
        )
        for k in _BERTSCORE:
            for i, v in zip(scored, per_example[k], strict=True):
                values[k][i] = v
    write_json(cache, {"key": key, **values})
    return values


def example_scores(
    records: Sequence[Mapping[str, Any]],
    bertscores: Mapping[str, Sequence[float | None]] | None = None,
) -> dict[str, list[Any]]:
    """Per record, the score whose mean over the records is each metric of :data:`COMPARED`
    (None where the record does not count for that metric), plus ``label`` and
    ``gold_label`` for macro-F1, and for a record with its own options (``choices``) the
    letters of the gold and the predicted option's positions, ``gold_position`` and
    ``position`` (``""`` for a prediction that is none of the options), over which a
    multiple-choice evaluation's macro-F1 is taken. ``bertscores`` are the records' BERTScore
    P/R/F1, if any."""
    from reason2decide.evaluation.bleu import example_bleu
    from reason2decide.evaluation.faithfulness import (
        faithfulness_metrics,
        rationale_length_stats,
    )
    from reason2decide.evaluation.report import scored_rationale

    scores: dict[str, list[Any]] = {
        k: [] for k in (*COMPARED, "label", "gold_label", "position", "gold_position")
    }
    for i, r in enumerate(records):
        label, gold = r.get("label"), r.get("gold_label")
        scores["label"].append(label)
        scores["gold_label"].append(gold)
        position, gold_position = _positions(r)
        scores["position"].append(position)
        scores["gold_position"].append(gold_position)
        scores["accuracy"].append(None if label is None else float(label == gold))
        scores["macro_f1"].append(None)  # not a mean: computed from label and gold_label
        scored = scored_rationale(r)
        scores["bleu"].append(example_bleu(r["gold_rationale"], r["rationale"]) if scored else None)
        for k in _BERTSCORE:
            scores[k].append(bertscores[k][i] if bertscores is not None and scored else None)
        faithful = faithfulness_metrics(
            [gold or ""],
            [label],
            [r.get("label_from_rationale")],
            [r.get("label_from_gold_rationale")],
        )
        for k, v in faithful.items():
            scores[k].append(None if label is None else v)
        lengths = rationale_length_stats([r.get("rationale")], [r.get("gold_rationale")])
        words = lengths["generated_words"]
        scores["rationale_words"].append(None if words is None else float(words["mean"]))
        scores["empty_rationales"].append(lengths["empty_generated"])
    return scores


def _positions(record: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The letters of a record's predicted and gold option (``""`` for a prediction that is
    none of its options); ``(None, None)`` without options, a label or a gold label among them."""
    choices, label, gold = record.get("choices"), record.get("label"), record.get("gold_label")
    if not choices or not isinstance(label, str) or not isinstance(gold, str):
        return None, None
    gold_index = option_index(gold, choices)
    if gold_index is None:
        return None, None
    index = option_index(label, choices)
    return ("" if index is None else string.ascii_uppercase[index]), (
        string.ascii_uppercase[gold_index]
    )


def _case_keys(records: Sequence[Mapping[str, Any]]) -> list[CaseKey]:
    seen: dict[str, int] = {}
    keys = []
    for r in records:
        case = str(r.get("id"))
        keys.append((case, seen.get(case, 0)))
        seen[case] = seen.get(case, 0) + 1
    return keys


# ---------------------------------------------------------------------- comparing rows
class _Scores:
    """Per-example scores of every (row, seed), loaded once."""

    def __init__(self, with_bertscore: bool, model: str | None, layers: int | None) -> None:
        self.with_bertscore, self.model, self.layers = with_bertscore, model, layers
        self._cache: dict[Path, dict[CaseKey, dict[str, Any]]] = {}

    def of(self, path: Path) -> dict[CaseKey, dict[str, Any]]:
        if path not in self._cache:
            records = read_jsonl(path)
            bert = (
                _bertscores(records, path, model=self.model, layers=self.layers)
                if self.with_bertscore
                else None
            )
            scores = example_scores(records, bert)
            keys = _case_keys(records)
            self._cache[path] = {
                key: {name: values[i] for name, values in scores.items()}
                for i, key in enumerate(keys)
            }
        return self._cache[path]


def _pairs(
    row: RowPredictions, reference: RowPredictions, scores: _Scores
) -> list[tuple[CaseKey, dict[str, Any], dict[str, Any]]]:
    """``(case, row's scores, reference's scores)`` for every paired unit."""
    if row.seedless and reference.seedless:
        seeds: list[tuple[int | None, int | None]] = [(None, None)]
    elif row.seedless:
        seeds = [(None, s) for s in reference.predictions]
    elif reference.seedless:
        seeds = [(s, None) for s in row.predictions]
    else:
        seeds = [(s, s) for s in row.predictions if s in reference.predictions]
    pairs = []
    for seed_a, seed_b in seeds:
        a, b = scores.of(row.predictions[seed_a]), scores.of(reference.predictions[seed_b])
        pairs += [(case, a[case], b[case]) for case in a if case in b]
    return pairs


def _statistic(metric: str, units: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> Statistic:
    if metric != "macro_f1":
        return mean_statistic([u[metric] for u in units])
    if all(u["gold_position"] is not None for u in units):
        # Every case has its own options: macro-F1 over the answer positions that occur (as
        # gold or prediction), as the evaluation computes it, not over option texts.
        gold = [u["gold_position"] for u in units]
        predicted = [u["position"] for u in units]
        letters = sorted({*gold, *predicted} - {""})
        return macro_f1_statistic(gold, predicted, letters)
    return macro_f1_statistic([u["gold_label"] for u in units], [u["label"] for u in units], labels)


def compare_rows(
    rows: Sequence[RowPredictions],
    reference: str,
    labels: Sequence[str],
    *,
    with_bertscore: bool = True,
    bertscore_model: str | None = None,
    bertscore_layers: int | None = None,
    n_resamples: int = N_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = 0.95,
) -> Comparisons:
    """Every row but ``reference`` against it: for each metric of :data:`COMPARED` that both
    have on common units, the difference ``row - reference`` over the pooled units and its
    paired bootstrap interval (macro-F1 over ``labels``; where every case has its own options,
    over the answer positions that occur, as the evaluation's macro-F1)."""
    by_name = {r.name: r for r in rows}
    ref = by_name[reference]
    scores = _Scores(with_bertscore, bertscore_model, bertscore_layers)
    result = Comparisons(reference, n_resamples, seed, confidence)
    for row in rows:
        if row.name == reference:
            continue
        pairs = _pairs(row, ref, scores)
        intervals: dict[str, Interval | None] = {}
        for metric in COMPARED:
            key = "label" if metric == "macro_f1" else metric
            kept = [p for p in pairs if p[1][key] is not None and p[2][key] is not None]
            if not kept:
                intervals[metric] = None
                continue
            a, b = (_statistic(metric, [p[side] for p in kept], labels) for side in (1, 2))
            intervals[metric] = paired_bootstrap(
                a,
                b,
                [p[0] for p in kept],
                n_resamples=n_resamples,
                seed=seed,
                confidence=confidence,
            )
        result.intervals[row.name] = intervals
    return result


# ---------------------------------------------------------------------- a bench's rows
def row_predictions(
    spec: BenchSpec, plan: BenchPlan, results: Sequence[RunResult]
) -> list[RowPredictions]:
    """Where each row's prediction records are (a seed-independent row under seed None: the
    baselines, and ``zero-shot-llm`` at temperature 0), rows in plan order."""
    seedless_llm = spec.llm is not None and spec.llm.temperature == 0
    rows: dict[str, RowPredictions] = {}
    for run in results:
        if run.baseline:
            seed, path = None, Path(run.path) / PREDICTIONS_FILE
        else:
            seed = None if run.method == ZERO_SHOT_METHOD and seedless_llm else run.seed
            path = Path(run.path) / EVAL_DIR / PREDICTIONS_FILE
        rows.setdefault(run.row, RowPredictions(run.row, {})).predictions[seed] = path
    order = plan.rows
    return [rows[r] for r in order if r in rows] + [rows[r] for r in rows if r not in order]


def compare_with_reference(
    spec: BenchSpec,
    plan: BenchPlan,
    results: Sequence[RunResult],
    labels: Sequence[str],
    say: Say,
) -> Comparisons | None:
    """Paired bootstrap intervals of every row against the plan's reference row (None when
    ``bootstrap_resamples`` is 0, or there is nothing to compare)."""
    if spec.bootstrap_resamples == 0:
        return None
    rows = row_predictions(spec, plan, results)
    reference = plan.reference
    if len(rows) < 2:
        return None
    if reference not in {r.name for r in rows}:
        say(f"note: the reference row {reference!r} did not run; no intervals computed.")
        return None
    started = time.perf_counter()
    comparisons = compare_rows(
        rows,
        reference,
        labels,
        with_bertscore=spec.with_bertscore,
        bertscore_model=spec.bertscore_model,
        bertscore_layers=spec.bertscore_layers,
        n_resamples=spec.bootstrap_resamples,
    )
    say(
        f"paired bootstrap against {reference} ({spec.bootstrap_resamples} resamples) in "
        f"{time.perf_counter() - started:.0f} s: {len(comparisons.excluding_zero())} "
        "differences exclude zero"
    )
    return comparisons
