"""Bar-chart error bars: only where there is a spread to show."""

from __future__ import annotations

from reason2decide.bench.aggregate import summarize
from reason2decide.bench.plots import error_bars


def test_a_single_seed_or_a_missing_metric_gets_no_error_bar():
    # Regression: one seed was drawn with an error bar of length 0 (capped), read as "std 0".
    stats = [summarize([0.5, 0.7]), summarize([0.6]), summarize([]), summarize([0.4, 0.4])]
    bars = error_bars(stats)
    assert [x for x, _, _ in bars] == [0, 3]
    x, mean, std = bars[0]
    assert mean == 0.6 and abs(std - 0.1414) < 1e-3
    assert bars[1][2] == 0.0, "two equal seeds: a real spread of 0 keeps its bar"
