"""One metrics report for a set of predictions: decision metrics, rationale metrics, calibration."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.table import Table

from reason2decide.data.choices import option_index
from reason2decide.errors import R2DError
from reason2decide.evaluation.bertscore import bertscore, resolve_encoder
from reason2decide.evaluation.bleu import rationale_bleu
from reason2decide.evaluation.repetition import repetition_stats
from reason2decide.io import write_json
from reason2decide.label_metrics import choice_metrics, expected_calibration_error, label_metrics

ABSENT = "—"
_RATIONALE_KEYS = ("bleu", "bertscore_precision", "bertscore_recall", "bertscore_f1")


def _has_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def evaluate_records(
    records: Iterable[Mapping[str, Any]],
    labels: Sequence[str],
    *,
    bertscore_model: str | None = None,
    bertscore_layers: int | None = None,
    with_bertscore: bool = True,
) -> dict[str, Any]:
    """All metrics for prediction records.

    Each record has ``gold_label`` and ``label`` (predicted), and optionally ``probabilities``
    (label → probability), ``gold_rationale`` and ``rationale``. The result holds the output of
    ``label_metrics``; ``ece`` over the records with probabilities (``n_probabilities`` of them);
    and BLEU and BERTScore P/R/F1 over the ``n_rationales`` records that have both a gold
    rationale (non-blank) and a generated one (``None`` means none was generated; a blank one is
    scored, and scores 0). ``repetition_rate`` is the mean share of repeated word 3-grams
    within each generated rationale (``repetition`` has the details and the gold's rate).
    Metrics that cannot be computed (no rationales, no probabilities, BERTScore switched off)
    are ``None``, never 0.

    Records of multiple-choice cases carry ``choices`` (the case's options); ``choices`` in the
    result then holds :func:`~reason2decide.label_metrics.choice_metrics` over them (accuracy,
    macro-F1 over answer positions, per-position scores, position confusion). When every record
    has options, ``macro_f1`` is the macro-F1 over positions, and ``macro_f1_text`` the macro-F1
    over option texts where the set is closed (every case has the same options; the per-class
    scores and the confusion are then over those texts), else ``None`` (and no per-class scores).
    """
    rows = list(records)
    if not rows:
        raise R2DError("no prediction records to evaluate", hint="the prediction file is empty")
    for i, row in enumerate(rows):
        for key in ("gold_label", "label"):
            if not isinstance(row.get(key), str):
                raise R2DError(
                    f"record {i} has no {key} string",
                    line=i + 1,
                    field=key,
                    hint="each record needs 'gold_label' and 'label'",
                )

    gold = [row["gold_label"] for row in rows]
    with_choices = [row for row in rows if row.get("choices")]
    if with_choices and len(with_choices) == len(rows):
        metrics: dict[str, Any] = _choice_decision_metrics(rows)
    else:
        metrics = label_metrics(gold, [row["label"] for row in rows], labels)
    if with_choices:
        metrics["choices"] = choice_report(with_choices)
        if len(with_choices) == len(rows):
            metrics["macro_f1"] = metrics["choices"]["macro_f1"]

    with_probs = [row for row in rows if row.get("probabilities")]
    metrics["n_probabilities"] = len(with_probs)
    metrics["ece"] = (
        expected_calibration_error(
            [row["gold_label"] for row in with_probs],
            [row["probabilities"] for row in with_probs],
            predicted=[row["label"] for row in with_probs],
        )
        if with_probs
        else None
    )

    metrics.update(
        rationale_metrics(
            rows,
            bertscore_model=bertscore_model,
            bertscore_layers=bertscore_layers,
            with_bertscore=with_bertscore,
        )
    )
    return metrics


def choice_report(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """:func:`~reason2decide.label_metrics.choice_metrics` of records with ``choices``."""
    gold: list[int] = []
    for i, row in enumerate(records):
        position = option_index(row["gold_label"], row["choices"])
        if position is None:
            raise R2DError(
                f"record {i}: the gold label {row['gold_label']!r} is none of its choices",
                field="gold_label",
            )
        gold.append(position)
    return choice_metrics(
        gold,
        [option_index(row["label"], row["choices"]) for row in records],
        [len(row["choices"]) for row in records],
    )


def _choice_decision_metrics(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The label-set part of the report when every case has its own options: over the option
    texts where every case has the same options, else accuracy only (no per-text classes)."""
    gold = [row["gold_label"] for row in rows]
    predicted = [row["label"] for row in rows]
    if len({frozenset(row["choices"]) for row in rows}) == 1:
        metrics = label_metrics(gold, predicted, list(rows[0]["choices"]))
        metrics["macro_f1_text"] = metrics["macro_f1"]
        return metrics
    outside = sum(
        option_index(p, row["choices"]) is None for p, row in zip(predicted, rows, strict=True)
    )
    return {
        "n": len(rows),
        "accuracy": sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(rows),
        "macro_f1": None,
        "macro_f1_text": None,
        "per_class": {},
        "confusion_matrix": None,
        "n_predicted_outside_labels": outside,
        "n_gold_outside_labels": 0,
    }


def scored_rationale(row: Mapping[str, Any]) -> bool:
    """Whether a record's rationale is scored: it has a non-blank gold rationale and a
    generated one (a string, blank or not)."""
    return _has_text(row.get("gold_rationale")) and isinstance(row.get("rationale"), str)


def rationale_metrics(
    records: Iterable[Mapping[str, Any]],
    *,
    bertscore_model: str | None = None,
    bertscore_layers: int | None = None,
    with_bertscore: bool = True,
) -> dict[str, Any]:
    """The rationale half of :func:`evaluate_records`: ``n_rationales``, BLEU, BERTScore P/R/F1
    and ``bertscore_encoder`` over the records whose rationale is scored
    (:func:`scored_rationale`), and the repetition rate of every generated rationale; records
    need no labels. Absent metrics are ``None``."""
    rows = list(records)
    paired = [row for row in rows if scored_rationale(row)]
    metrics: dict[str, Any] = {"n_rationales": len(paired)}
    metrics.update(dict.fromkeys(_RATIONALE_KEYS))
    metrics["bertscore_encoder"] = None
    repetition = repetition_stats(
        [row.get("rationale") for row in rows], [row.get("gold_rationale") for row in rows]
    )
    metrics["repetition_rate"] = repetition["generated"]
    metrics["repetition"] = repetition
    if paired:
        references = [row["gold_rationale"] for row in paired]
        hypotheses = [row["rationale"] for row in paired]
        metrics["bleu"] = rationale_bleu(references, hypotheses)
        if with_bertscore:
            name, layers = resolve_encoder(bertscore_model, bertscore_layers)
            metrics.update(bertscore(references, hypotheses, model=name, num_layers=layers))
            metrics["bertscore_encoder"] = {"model": name, "num_layers": layers}
    return metrics


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return ABSENT
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def metrics_table(metrics: Mapping[str, Any], title: str | None = "Metrics") -> Table:
    """A readable summary of a metrics report: overall scores, then one row per class."""
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("precision", justify="right")
    table.add_column("recall", justify="right")
    table.add_column("f1", justify="right")
    table.add_column("support", justify="right")

    def overall(name: str, value: Any) -> None:
        table.add_row(name, _fmt(value), "", "", "", "")

    overall("examples", metrics.get("n"))
    overall("accuracy", metrics.get("accuracy"))
    overall("macro-F1", metrics.get("macro_f1"))
    outside = metrics.get("n_predicted_outside_labels")
    if outside:
        overall("predictions outside label set", outside)
    choices = metrics.get("choices")
    if choices:
        overall("random-guess accuracy", choices.get("random_guess_accuracy"))
        if metrics.get("macro_f1_text") is not None:
            overall("macro-F1 over option texts", metrics["macro_f1_text"])
    overall("ECE", metrics.get("ece"))
    overall("rationales scored", metrics.get("n_rationales"))
    overall("BLEU", metrics.get("bleu"))
    table.add_row(
        "BERTScore",
        "",
        _fmt(metrics.get("bertscore_precision")),
        _fmt(metrics.get("bertscore_recall")),
        _fmt(metrics.get("bertscore_f1")),
        "",
    )
    for key, name in (
        ("consistency", "consistency"),
        ("sufficiency", "sufficiency"),
        ("gold_robustness", "gold robustness"),
    ):
        if key in metrics:
            overall(name, metrics[key])
    if metrics.get("label_in_generated_rationale") is not None:
        overall("label in generated rationale", metrics["label_in_generated_rationale"])
    lengths = (metrics.get("rationale_length") or {}).get("generated_words")
    if lengths:
        overall("rationale words (mean)", round(lengths["mean"], 1))
    if metrics.get("repetition_rate") is not None:
        overall("repeated 3-grams (mean share)", metrics["repetition_rate"])
    per_class = metrics.get("per_class") or {}
    if per_class:
        table.add_section()
    for label, scores in per_class.items():
        table.add_row(
            f"class {label}",
            "",
            _fmt(scores.get("precision")),
            _fmt(scores.get("recall")),
            _fmt(scores.get("f1")),
            _fmt(scores.get("support")),
        )
    positions = (choices or {}).get("per_position") or {}
    if positions:
        table.add_section()
    for letter, scores in positions.items():
        # value: the share of predictions at this position (gold share in the name), to show
        # a position bias next to the position's own scores
        table.add_row(
            f"option {letter} (gold {scores['gold_share']:.2f}, predicted share)",
            _fmt(scores.get("predicted_share"), 2),
            _fmt(scores.get("precision")),
            _fmt(scores.get("recall")),
            _fmt(scores.get("f1")),
            _fmt(scores.get("support")),
        )
    return table


def write_metrics(path: str | os.PathLike[str], metrics: Mapping[str, Any]) -> None:
    """Write a metrics report as JSON, atomically."""
    write_json(path, dict(metrics))
