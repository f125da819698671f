"""Reference baselines of every benchmark table: what a trained method's number has to beat.

Decision baselines (no rationale; rationale metrics are absent):

- ``majority``: the most frequent label of the training split for every case (ties: the first
  in label-set order); its probabilities are the training split's label frequencies, so it has
  an ECE too. A multiple-choice case (one with its own options) gets instead the option at the
  answer position most frequent among the training split's multiple-choice cases (ties: the
  earlier position; where the case has fewer options, the most frequent position it has), with
  the training position frequencies over its options as probabilities: "always answer A" when
  A is the most common answer, which is what random guessing is beaten by.
- ``tfidf-lr``: a classical text classifier, TF-IDF of word 1- and 2-grams (lower-cased,
  sublinear term frequency) and a logistic regression, fitted on the training split. The
  inverse regularisation ``C`` (0.01, 0.1, 1, 10, 100) and the class weight (none or
  ``balanced``) are chosen by macro-F1 on the validation split (ties: accuracy, then the first
  in that order); without a validation split, ``C = 1`` and no class weight.

Rationale floor baselines (no decision; label metrics are absent), scored against the gold
rationales with the same BLEU and BERTScore as the trained methods:

- ``copy-last-sentences``: the last two sentences of the input (sentences end at ``.``, ``!``
  or ``?`` followed by a space, or at a line break);
- ``copy-input``: the whole input text, the question as the model reads it.

One file on purpose (a little over 400 lines): the baselines share the scoring of a bench
row (the same metrics, the same per-case options, the same output files), and each is short.

Every baseline is deterministic and sees no seed: it runs once per bench
(:func:`run_reference_baselines`, from the bench's plan). Scoring reuses
:mod:`reason2decide.evaluation` (``evaluate_records``, ``rationale_metrics``,
``rationale_length_stats``); nothing here computes a metric itself.
"""

from __future__ import annotations

import re
import time
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reason2decide.bench.aggregate import RunResult, flatten_metrics
from reason2decide.bench.examples import columns
from reason2decide.bench.spec import (
    BASELINES_DIR,
    METRICS_FILE,
    PREDICTIONS_FILE,
    BenchPlan,
    BenchSpec,
    Say,
)
from reason2decide.data.choices import letter, text_position
from reason2decide.data.example import Example
from reason2decide.data.readers import read_examples
from reason2decide.evaluation.faithfulness import rationale_length_stats
from reason2decide.evaluation.report import evaluate_records, rationale_metrics
from reason2decide.io import read_json, read_jsonl, write_json, write_jsonl
from reason2decide.label_metrics import label_metrics

#: Decision baselines, then rationale baselines, in table order.
LABEL_BASELINES = ("majority", "tfidf-lr")
RATIONALE_BASELINES = ("copy-last-sentences", "copy-input")
BASELINES = (*LABEL_BASELINES, *RATIONALE_BASELINES)

#: How many sentences ``copy-last-sentences`` copies.
LAST_SENTENCES = 2
#: The ``C`` values and class weights ``tfidf-lr`` chooses from on the validation split.
C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)
CLASS_WEIGHTS = (None, "balanced")
#: Bumped when a baseline's definition changes: saved baseline results are then recomputed.
VERSION = 2

DESCRIPTIONS = {
    "majority": "the most frequent training label for every case (multiple-choice cases: "
    "the most frequent training answer position)",
    "tfidf-lr": "TF-IDF (word 1-2-grams) + logistic regression fitted on the training split; "
    "C and class weight chosen by validation macro-F1",
    "copy-last-sentences": f"rationale = the last {LAST_SENTENCES} sentences of the input",
    "copy-input": "rationale = the whole input text",
}


_LABEL_KEYS = ("accuracy", "macro_f1", "ece")
_FAITHFULNESS_KEYS = ("consistency", "sufficiency", "gold_robustness")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass
class BaselineResult:
    """One baseline's test metrics and prediction records (the same record format as a trained
    run's ``eval/predictions.jsonl``), ``info`` (description and chosen settings) and whether it
    was ``computed`` now or read from an earlier bench, and how many ``seconds`` computing it
    took (fitting, predicting and scoring)."""

    name: str
    metrics: dict[str, Any]
    records: list[dict[str, Any]]
    info: dict[str, Any] = field(default_factory=dict)
    computed: bool = True
    seconds: float | None = None

    @property
    def kind(self) -> str:
        """``"label"`` (a decision baseline) or ``"rationale"`` (a rationale floor)."""
        return "label" if self.name in LABEL_BASELINES else "rationale"


# ---------------------------------------------------------------------- the predictions
def majority_label(train_labels: Sequence[str], labels: Sequence[str]) -> str:
    """The most frequent of ``train_labels`` (ties: the first in ``labels`` order)."""
    counts = Counter(train_labels)
    if not counts:
        raise ValueError("no training labels")
    order = {label: i for i, label in enumerate(labels)}
    return min(counts, key=lambda label: (-counts[label], order.get(label, len(order)), label))


def answer_positions(train: Sequence[Example]) -> Counter[int]:
    """How often each answer position is the gold one among the multiple-choice cases."""
    counts: Counter[int] = Counter()
    for example in train:
        if example.choices is not None:
            position = text_position(example.label, example.choices)
            if position is not None:
                counts[position] += 1
    return counts


def majority_option(choices: Sequence[str], positions: Counter[int]) -> dict[str, Any]:
    """The prediction of ``majority`` for a case with ``choices``: the option at the most
    frequent training position it has (ties and no counts: the earliest), and the training
    frequencies of its positions as probabilities (uniform without counts)."""
    weights = [float(positions.get(i, 0)) for i in range(len(choices))]
    total = sum(weights)
    if not total:
        weights, total = [1.0] * len(choices), float(len(choices))
    best = max(range(len(choices)), key=lambda i: (weights[i], -i))
    probabilities = {option: w / total for option, w in zip(choices, weights, strict=True)}
    return {"label": choices[best], "probabilities": probabilities}


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``: split at line breaks and after ``.``, ``!`` or ``?``
    followed by white space; blank pieces are dropped."""
    sentences: list[str] = []
    for line in text.splitlines():
        sentences += [s.strip() for s in _SENTENCE_END.split(line) if s.strip()]
    return sentences


def last_sentences(text: str, n: int = LAST_SENTENCES) -> str:
    """The last ``n`` sentences of ``text``, joined by a space."""
    return " ".join(split_sentences(text)[-n:])


def _tfidf_pipeline(c: float, class_weight: str | None) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        LogisticRegression(C=c, class_weight=class_weight, max_iter=2000),
    )


def _fit(c: float, class_weight: str | None, texts: list[str], labels: list[str]) -> Any:
    from sklearn.exceptions import ConvergenceWarning

    model = _tfidf_pipeline(c, class_weight)
    with warnings.catch_warnings():
        # A strongly regularised or separable fit may stop at max_iter; its predictions are
        # still scored on validation like any other candidate's.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(texts, labels)
    return model


def fit_tfidf_lr(
    train: Sequence[Example], val: Sequence[Example] | None, labels: Sequence[str]
) -> tuple[Any, dict[str, Any]]:
    """The fitted TF-IDF + logistic-regression pipeline and what was chosen: ``C``,
    ``class_weight`` and each candidate's validation macro-F1 and accuracy.

    Needs at least two distinct labels in ``train``.
    """
    texts = [e.question for e in train]
    gold = [e.label for e in train]
    if len(set(gold)) < 2:
        raise ValueError("the training split has a single label")
    if not val:
        return _fit(1.0, None, texts, gold), {"C": 1.0, "class_weight": None, "selection": None}
    candidates = []
    best: tuple[tuple[float, float], Any, float, str | None] | None = None
    for c in C_GRID:
        for weight in CLASS_WEIGHTS:
            model = _fit(c, weight, texts, gold)
            predicted = [str(p) for p in model.predict([e.question for e in val])]
            scores = label_metrics([e.label for e in val], predicted, labels)
            key = (scores["macro_f1"], scores["accuracy"])
            candidates.append(
                {
                    "C": c,
                    "class_weight": weight,
                    "val_macro_f1": scores["macro_f1"],
                    "val_accuracy": scores["accuracy"],
                }
            )
            if best is None or key > best[0]:
                best = (key, model, c, weight)
    assert best is not None
    return best[1], {"C": best[2], "class_weight": best[3], "selection": candidates}


def _record(example: Example, **prediction: Any) -> dict[str, Any]:
    return {
        "id": example.id,
        "question": example.question,
        "gold_label": example.label,
        "gold_rationale": example.rationale,
        # a multiple-choice case's options: its label metrics are then by answer position, as
        # for the trained methods (a label-set baseline's answer outside them counts as wrong)
        **({} if example.choices is None else {"choices": list(example.choices)}),
        "label": None,
        "probabilities": None,
        "rationale": None,
        **prediction,
    }


def predict_baseline(
    name: str,
    train: Sequence[Example],
    val: Sequence[Example] | None,
    test: Sequence[Example],
    labels: Sequence[str],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One baseline's prediction records for ``test`` and its ``info``."""
    info: dict[str, Any] = {"description": DESCRIPTIONS[name]}
    if name == "majority":
        closed = [e for e in train if e.choices is None] or list(train)
        counts = Counter(e.label for e in closed)
        label = majority_label([e.label for e in closed], labels)
        probabilities = {k: counts[k] / len(closed) for k in labels if counts[k]}
        info["label"] = label
        positions = answer_positions(train)
        if positions:
            info["position_counts"] = {letter(p): n for p, n in sorted(positions.items())}
        records = [
            _record(e, label=label, probabilities=probabilities)
            if e.choices is None
            else _record(e, **majority_option(e.choices, positions))
            for e in test
        ]
    elif name == "tfidf-lr":
        model, chosen = fit_tfidf_lr(train, val, labels)
        info.update(chosen)
        classes = [str(c) for c in model.classes_]
        probabilities = model.predict_proba([e.question for e in test])
        records = []
        for example, row in zip(test, probabilities, strict=True):
            probs = {c: float(p) for c, p in zip(classes, row, strict=True)}
            top = max(classes, key=lambda c: probs[c])
            records.append(_record(example, label=top, probabilities=probs))
    elif name == "copy-last-sentences":
        info["sentences"] = LAST_SENTENCES
        records = [_record(e, rationale=last_sentences(e.question)) for e in test]
    elif name == "copy-input":
        records = [_record(e, rationale=e.question) for e in test]
    else:
        raise ValueError(f"unknown baseline {name!r}")
    return records, info


# ---------------------------------------------------------------------- scoring
def score_baseline(
    name: str,
    records: Sequence[Mapping[str, Any]],
    labels: Sequence[str],
    *,
    with_bertscore: bool = True,
    bertscore_model: str | None = None,
    bertscore_layers: int | None = None,
) -> dict[str, Any]:
    """A baseline's metrics, keyed as a trained run's ``eval/metrics.json``: a decision baseline
    has no rationale metrics, a rationale baseline no decision metrics (``None``); neither has
    consistency, sufficiency or gold robustness (no model reads a rationale)."""
    if name in LABEL_BASELINES:
        metrics = evaluate_records(records, labels, with_bertscore=False)
    else:
        metrics = dict.fromkeys(_LABEL_KEYS)
        metrics.update(
            rationale_metrics(
                records,
                bertscore_model=bertscore_model,
                bertscore_layers=bertscore_layers,
                with_bertscore=with_bertscore,
            )
        )
        metrics["rationale_length"] = rationale_length_stats(
            [r["rationale"] for r in records], [r["gold_rationale"] for r in records]
        )
    metrics.update(dict.fromkeys(_FAITHFULNESS_KEYS))
    return metrics


def run_baselines(
    folder: Path,
    train: Sequence[Example],
    val: Sequence[Example] | None,
    test: Sequence[Example],
    labels: Sequence[str],
    settings: Mapping[str, Any],
    *,
    with_bertscore: bool = True,
    bertscore_model: str | None = None,
    bertscore_layers: int | None = None,
    say: Callable[[str], None] = print,
) -> list[BaselineResult]:
    """Every baseline that applies, scored on ``test``; each writes ``folder/<name>/``
    (``predictions.jsonl``, then ``metrics.json``) and is read back instead of recomputed when
    its ``metrics.json`` was made with the same ``settings`` (the caller's description of data
    and evaluation; the baseline definitions' version is added here).

    ``tfidf-lr`` is left out when the training split has one label or every test case has its
    own options, the rationale baselines when no test case has a gold rationale (``say`` says
    so).
    """
    saved_settings = {**dict(settings), "labels": list(labels), "version": VERSION}
    names = list(LABEL_BASELINES)
    if len({e.label for e in train}) < 2:
        names.remove("tfidf-lr")
        say("note: the training split has a single label; the tfidf-lr baseline is left out.")
    elif test and all(e.choices is not None for e in test):
        # A classifier over the training answer texts cannot choose among options it has not
        # seen (MedMCQA: 3,091 distinct answer texts in 3,346 cases), and fitting one class
        # per answer text takes hours.
        names.remove("tfidf-lr")
        say(
            "note: every test case is scored over its own options; the tfidf-lr baseline "
            "(a classifier over the training answer texts) is left out."
        )
    if any(e.rationale and e.rationale.strip() for e in test):
        names += RATIONALE_BASELINES
    else:
        say("note: no test case has a gold rationale; the copy baselines are left out.")

    results = []
    for name in names:
        where = Path(folder) / name
        metrics_path, predictions_path = where / METRICS_FILE, where / PREDICTIONS_FILE
        if metrics_path.is_file() and predictions_path.is_file():
            try:
                saved = read_json(metrics_path)
                if (saved.get("baseline") or {}).get("settings") == saved_settings:
                    results.append(
                        BaselineResult(
                            name,
                            saved,
                            read_jsonl(predictions_path),
                            info=saved["baseline"].get("info", {}),
                            computed=False,
                            seconds=saved["baseline"].get("seconds"),
                        )
                    )
                    continue
            except (OSError, ValueError):
                pass  # unreadable: computed again below
        started = time.perf_counter()
        records, info = predict_baseline(name, train, val, test, labels)
        metrics = score_baseline(
            name,
            records,
            labels,
            with_bertscore=with_bertscore,
            bertscore_model=bertscore_model,
            bertscore_layers=bertscore_layers,
        )
        seconds = round(time.perf_counter() - started, 2)
        metrics["baseline"] = {
            "name": name,
            "settings": saved_settings,
            "info": info,
            "seconds": seconds,
        }
        write_jsonl(predictions_path, records)
        write_json(metrics_path, metrics)
        results.append(BaselineResult(name, metrics, records, info=info, seconds=seconds))
    return results


# ---------------------------------------------------------------------- in a bench
def run_reference_baselines(
    spec: BenchSpec,
    plan: BenchPlan,
    examples: Sequence[Example],
    labels: Sequence[str],
    say: Say,
) -> list[RunResult]:
    """The reference baselines on the test examples (recomputed only when the data or the
    evaluation settings changed), as results rows marked ``baseline``."""
    from reason2decide.data.fingerprint import fingerprint

    started = time.perf_counter()
    config, splits = plan.shared, plan.splits
    train = read_examples(splits["train"], columns(config, None))
    val = read_examples(splits["val"], columns(config, None))
    folder = plan.output / BASELINES_DIR
    found = run_baselines(
        folder,
        train,
        val,
        examples,
        labels,
        {
            **plan.settings,
            "train_sha256": fingerprint(splits["train"])["sha256"],
            "val_sha256": fingerprint(splits["val"])["sha256"],
            "question_col": config.question_col,
            "label_col": config.label_col,
            "rationale_col": config.rationale_col,
            "columns": config.columns().to_dict(),
        },
        with_bertscore=spec.with_bertscore,
        bertscore_model=spec.bertscore_model,
        bertscore_layers=spec.bertscore_layers,
        say=say,
    )
    seconds = round(time.perf_counter() - started, 2)
    computed = [b.name for b in found if b.computed]
    say(
        f"baselines: {', '.join(b.name for b in found)}"
        + (f" (computed {', '.join(computed)} in {seconds:.0f} s)" if computed else " (reused)")
    )
    return [
        RunResult(
            method=b.name,
            seed=None,
            path=str(folder / b.name),
            metrics=flatten_metrics(b.metrics),
            action="computed" if b.computed else "skipped",
            eval_wall_s=b.seconds,
            extra={"train_wall_s": None, "steps": {}, "baseline": {"kind": b.kind, **b.info}},
            baseline=True,
        )
        for b in found
    ]
