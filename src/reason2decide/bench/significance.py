"""Paired bootstrap intervals of the difference between two methods on the same test cases.

Pure functions over numbers (numpy only): what the units are and where their values come from
is :mod:`~reason2decide.bench.comparisons`' business.

- A *unit* is one scored prediction: a (seed, test case) pair. Both methods of a comparison are
  scored on the same units, so each unit has a value for each (the pairing).
- A *statistic* (:class:`Statistic`) is a metric written as a function of sums of per-unit
  components, so that a resample is a vector of weights: the mean of a per-example score
  (accuracy, BLEU, BERTScore, consistency, ...) is ``sum(x) / sum(1)``; macro-F1 is computed
  from per-class sums of true positives, predictions and gold labels, i.e. it is recomputed on
  every resample, as label_metrics defines it.
- A resample draws **test cases** with replacement, as many as there are; a drawn case brings
  all of its units (all its seeds). The seeds of one case are not independent draws of the test
  population, so resampling them one by one would make the interval too narrow. The interval
  therefore says how much the difference could move with another sample of test cases of the
  same size, given these seeds; the spread over seeds is what "± std" reports.
- The interval is the percentile interval of the resampled differences ``a - b``. The same
  seed and number of cases give the same resamples for every comparison and metric.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Default number of bootstrap resamples.
N_RESAMPLES = 1000
#: Default seed of the resampling RNG (fixed, so that results are reproducible).
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class Statistic:
    """A metric as ``combine(sums of components)``.

    ``components`` has one row per unit; ``combine`` maps an array of summed components
    (``(..., m)``) to the metric (``(...)``), so that it works on one sum or on many at once.
    """

    components: np.ndarray
    combine: Callable[[np.ndarray], np.ndarray]

    @property
    def n_units(self) -> int:
        return int(self.components.shape[0])

    def value(self) -> float:
        """The metric on every unit (no resampling)."""
        return float(self.combine(self.components.sum(axis=0)))


def _mean(sums: np.ndarray) -> np.ndarray:
    return sums[..., 0] / sums[..., 1]


def mean_statistic(values: Sequence[float]) -> Statistic:
    """The mean of per-unit values (accuracy: 1/0 per unit; BLEU: each example's BLEU; ...)."""
    x = np.asarray(values, dtype=float).reshape(-1)
    return Statistic(np.column_stack([x, np.ones_like(x)]), _mean)


def macro_f1_statistic(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> Statistic:
    """Macro-F1 over ``labels``, as :func:`~reason2decide.label_metrics` computes it:
    per class F1 = 2·TP / (predicted + gold) (0 when the class is neither predicted nor gold),
    averaged over ``labels``; a prediction or gold label outside ``labels`` counts for no
    class."""
    index = {label: k for k, label in enumerate(labels)}
    n_labels = len(index)
    n = len(gold)
    if len(predicted) != n:
        raise ValueError(f"{n} gold labels but {len(predicted)} predictions")
    components = np.zeros((n, 3 * n_labels))
    for i, (g, p) in enumerate(zip(gold, predicted, strict=True)):
        kg, kp = index.get(g), index.get(p)
        if kp is not None:
            components[i, n_labels + kp] = 1.0
        if kg is not None:
            components[i, 2 * n_labels + kg] = 1.0
            if kg == kp:
                components[i, kg] = 1.0

    def combine(sums: np.ndarray) -> np.ndarray:
        tp = sums[..., :n_labels]
        total = sums[..., n_labels : 2 * n_labels] + sums[..., 2 * n_labels :]
        f1 = np.divide(2.0 * tp, total, out=np.zeros_like(tp), where=total > 0)
        return f1.mean(axis=-1)

    return Statistic(components, combine)


@dataclass(frozen=True)
class Interval:
    """The difference ``a - b`` on all units and its bootstrap percentile interval."""

    difference: float
    low: float
    high: float
    confidence: float
    n_units: int
    n_cases: int
    n_resamples: int

    @property
    def excludes_zero(self) -> bool:
        """Whether the whole interval lies on one side of zero."""
        return self.low > 0 or self.high < 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "difference": self.difference,
            "low": self.low,
            "high": self.high,
            "excludes_zero": self.excludes_zero,
            "confidence": self.confidence,
            "n_units": self.n_units,
            "n_cases": self.n_cases,
            "n_resamples": self.n_resamples,
        }


def case_weights(n_cases: int, n_resamples: int, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """``(n_resamples, n_cases)``: how often each case is drawn in each resample (each resample
    draws ``n_cases`` cases with replacement)."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_cases, size=(n_resamples, n_cases))
    weights = np.zeros((n_resamples, n_cases))
    np.add.at(weights, (np.arange(n_resamples)[:, None], draws), 1.0)
    return weights


def paired_bootstrap(
    a: Statistic,
    b: Statistic,
    cases: Sequence[Hashable],
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = 0.95,
) -> Interval:
    """The difference ``a - b`` and its paired bootstrap interval, resampling cases.

    ``a`` and ``b`` have one component row per unit, in the same unit order; ``cases[i]`` is the
    test case of unit ``i`` (units of the same case, e.g. its seeds, are drawn together).
    """
    n_units = len(cases)
    if a.n_units != n_units or b.n_units != n_units:
        raise ValueError(f"{a.n_units} and {b.n_units} units for {n_units} case keys")
    if n_units == 0:
        raise ValueError("a paired bootstrap needs at least one unit")
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    order: dict[Hashable, int] = {}  # cases numbered by first appearance: reproducible draws
    case_of_unit = np.asarray([order.setdefault(case, len(order)) for case in cases])
    n_cases = len(order)

    def per_case(stat: Statistic) -> np.ndarray:
        sums = np.zeros((n_cases, stat.components.shape[1]))
        np.add.at(sums, case_of_unit, stat.components)
        return sums

    sums_a, sums_b = per_case(a), per_case(b)
    weights = case_weights(n_cases, n_resamples, seed)
    diffs = a.combine(weights @ sums_a) - b.combine(weights @ sums_b)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(diffs, [tail, 1.0 - tail])
    return Interval(
        difference=a.value() - b.value(),
        low=float(low),
        high=float(high),
        confidence=confidence,
        n_units=n_units,
        n_cases=n_cases,
        n_resamples=n_resamples,
    )
