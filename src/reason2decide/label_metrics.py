"""Decision metrics over a fixed label set: accuracy, macro-F1, per-class scores, confusion, ECE;
and, for multiple-choice cases, the same over answer positions (A, B, C, ...).

Pure functions of labels and probabilities. They sit at the bottom of the package, below
``methods/``, because validation during training scores with them as well as the test-set
evaluation (:mod:`reason2decide.evaluation` re-exports them) and the bench's baselines.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from reason2decide.errors import R2DError


def _check_label_set(labels: Sequence[str]) -> list[str]:
    label_list = list(labels)
    if not label_list:
        raise R2DError("the label set is empty", field="labels", hint="pass at least one label")
    seen: set[str] = set()
    for label in label_list:
        if label in seen:
            raise R2DError(f"label {label!r} appears twice in the label set", field="labels")
        seen.add(label)
    return label_list


def label_metrics(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix.

    The macro average runs over ``labels`` only. A prediction outside ``labels`` counts as wrong
    (a miss for its gold class, a false positive for no class) and is counted in
    ``n_predicted_outside_labels``; it never becomes a class of its own. Labels are compared as
    exact strings. A gold label outside ``labels`` (a test case of a class never seen in
    training) stays in accuracy and in the support-free counts, is left out of the per-class
    scores of ``labels``, and is counted in ``n_gold_outside_labels``; callers warn about it.

    The confusion matrix has rows = gold, columns = predicted, in ``labels`` order;
    ``confusion_matrix["outside_labels"][i]`` counts gold-``labels[i]`` examples whose prediction
    fell outside the label set (those are not in the matrix).
    """
    label_list = _check_label_set(labels)
    gold_list = list(gold)
    pred_list = list(predicted)
    if len(gold_list) != len(pred_list):
        raise ValueError(f"{len(gold_list)} gold labels but {len(pred_list)} predictions")
    if not gold_list:
        raise R2DError("no examples to evaluate", hint="the prediction file is empty")
    label_set = set(label_list)
    gold_outside = sum(g not in label_set for g in gold_list)

    outside = [p not in label_set for p in pred_list]
    precision, recall, f1, support = precision_recall_fscore_support(
        gold_list, pred_list, labels=label_list, average=None, zero_division=0
    )
    matrix = confusion_matrix(gold_list, pred_list, labels=label_list)
    index = {label: i for i, label in enumerate(label_list)}
    outside_per_gold = [0] * len(label_list)
    for g, is_outside in zip(gold_list, outside, strict=True):
        if is_outside and g in index:
            outside_per_gold[index[g]] += 1

    n = len(gold_list)
    correct = sum(g == p for g, p in zip(gold_list, pred_list, strict=True))
    return {
        "n": n,
        "accuracy": correct / n,
        "macro_f1": float(np.mean(f1)),
        "per_class": {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(label_list)
        },
        "confusion_matrix": {
            "labels": label_list,
            "matrix": matrix.astype(int).tolist(),
            "outside_labels": outside_per_gold,
        },
        "n_predicted_outside_labels": int(sum(outside)),
        "n_gold_outside_labels": int(gold_outside),
    }


def expected_calibration_error(
    gold: Sequence[str],
    probabilities: Sequence[Mapping[str, float]],
    n_bins: int = 10,
    predicted: Sequence[str] | None = None,
) -> float:
    """Top-label expected calibration error with ``n_bins`` equal-width confidence bins.

    For each example the decision is ``predicted[i]`` when given and in its probability map (the
    label the model chose: saved probabilities are rounded and can tie where the model's did
    not), else the label with the highest probability (ties: the first in the mapping's order);
    its probability is the confidence. Bins are right-closed,
    ``(k/n_bins, (k+1)/n_bins]``, with a confidence of 0 in the first bin. The result is
    ``sum_b |B_b|/n * |accuracy(B_b) - mean confidence(B_b)|``.
    """
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    gold_list = list(gold)
    prob_list = list(probabilities)
    if len(gold_list) != len(prob_list):
        raise ValueError(f"{len(gold_list)} gold labels but {len(prob_list)} probability maps")
    if predicted is not None and len(predicted) != len(gold_list):
        raise ValueError(f"{len(gold_list)} gold labels but {len(predicted)} predictions")
    if not gold_list:
        raise R2DError("no examples to evaluate", hint="the prediction file is empty")

    confidences = np.empty(len(gold_list))
    correct = np.empty(len(gold_list))
    for i, (g, probs) in enumerate(zip(gold_list, prob_list, strict=True)):
        if not probs:
            raise R2DError(f"example {i} has an empty probability map", field="probabilities")
        if predicted is not None and predicted[i] in probs:
            top_label, top_prob = predicted[i], probs[predicted[i]]
        else:
            top_label, top_prob = max(probs.items(), key=lambda item: item[1])
        if not 0.0 <= top_prob <= 1.0:
            raise R2DError(
                f"example {i}: probability {top_prob} for {top_label!r} is outside [0, 1]",
                field="probabilities",
            )
        confidences[i] = top_prob
        correct[i] = float(top_label == g)

    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, confidences, side="left") - 1, 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        members = bins == b
        count = int(members.sum())
        if count:
            gap = abs(correct[members].mean() - confidences[members].mean())
            ece += count / len(gold_list) * gap
    return float(ece)


def choice_metrics(
    gold_positions: Sequence[int],
    predicted_positions: Sequence[int | None],
    n_options: Sequence[int],
) -> dict[str, Any]:
    """Metrics of multiple-choice answers by position: accuracy, macro-F1 over the answer
    positions (letters ``A``, ``B``, ... up to the most options a case has), per-position
    scores and the position confusion (rows: gold letter, columns: predicted letter) with the
    share of each letter among the gold answers and among the predictions, to expose a
    position bias.

    Each case is given as the 0-based position of its gold option, the position of the option
    predicted (``None`` when the prediction names none of the case's options: wrong, counted in
    ``n_predicted_outside_options`` and in the confusion's ``outside_options``) and its number
    of options.
    """
    gold = list(gold_positions)
    predicted = list(predicted_positions)
    sizes = list(n_options)
    if not len(gold) == len(predicted) == len(sizes):
        raise ValueError("gold positions, predicted positions and option counts differ in length")
    if not gold:
        raise R2DError("no examples to evaluate", hint="the prediction file is empty")
    letters = list(string.ascii_uppercase[: max(sizes)])
    gold_letters = [letters[g] for g in gold]
    pred_letters = ["" if p is None else letters[p] for p in predicted]
    precision, recall, f1, support = precision_recall_fscore_support(
        gold_letters, pred_letters, labels=letters, average=None, zero_division=0
    )
    matrix = confusion_matrix(gold_letters, pred_letters, labels=letters)
    outside = [0] * len(letters)
    for g, p in zip(gold, predicted, strict=True):
        if p is None:
            outside[g] += 1
    n = len(gold)
    present = [i for i, letter in enumerate(letters) if support[i] or letter in pred_letters]
    return {
        "n": n,
        "accuracy": sum(g == p for g, p in zip(gold, predicted, strict=True)) / n,
        # Over the positions that occur (as gold or prediction): a position no case has and
        # none is predicted at says nothing.
        "macro_f1": float(np.mean([f1[i] for i in present])),
        "random_guess_accuracy": float(np.mean([1.0 / k for k in sizes])),
        "per_position": {
            letter: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
                "gold_share": int(support[i]) / n,
                "predicted_share": pred_letters.count(letter) / n,
            }
            for i, letter in enumerate(letters)
        },
        "position_confusion": {
            "labels": letters,
            "matrix": matrix.astype(int).tolist(),
            "outside_options": outside,
        },
        "n_predicted_outside_options": sum(p is None for p in predicted),
    }
