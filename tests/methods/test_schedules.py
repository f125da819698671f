"""Schedules at their corners: step 0, W, W+M, max_steps."""

from __future__ import annotations

import math

import pytest

from reason2decide.methods.schedules import (
    RunningThreshold,
    Stage2Schedule,
    alpha_at,
    confidence_gate,
    gumbel_temperature,
    p_pred_at,
)


def test_paper_schedule_corners():
    s = Stage2Schedule(max_steps=30_000)
    assert (s.warmup_steps, s.ramp_steps, s.early_stopping_start) == (1500, 18_000, 19_500)
    assert s.alpha(0) == 0.0
    assert s.alpha(750) == pytest.approx(0.35)
    assert s.alpha(1500) == pytest.approx(0.7) and s.alpha(30_000) == pytest.approx(0.7)
    assert s.p_pred(0) == 0.0 and s.p_pred(1499) == 0.0
    assert s.p_pred(1500) == 0.0  # (W − W)/M
    assert s.p_pred(1500 + 9000) == pytest.approx(0.5)
    assert s.p_pred(19_500) == pytest.approx(0.9)  # min(0.9, M/M = 1)
    assert s.p_pred(30_000) == pytest.approx(0.9)


def test_p_reaches_its_cap_before_the_end_of_the_ramp():
    s = Stage2Schedule(max_steps=1000)  # W = 50, M = 600
    assert s.p_pred(50 + 540) == pytest.approx(0.9)
    assert s.p_pred(50 + 539) < 0.9


def test_no_sampling_and_custom_constants():
    s = Stage2Schedule(max_steps=100, alpha_max=0.5, warmup_fraction=0.1, p_max=0.5, sampling=False)
    assert s.alpha(5) == pytest.approx(0.25) and s.alpha(10) == pytest.approx(0.5)
    assert s.p_pred(99) == 0.0


def test_degenerate_windows():
    assert alpha_at(0, 0, 0.7) == 0.7
    assert p_pred_at(3, 3, 0, 0.9) == 0.9
    with pytest.raises(ValueError):
        Stage2Schedule(max_steps=0)
    with pytest.raises(ValueError):
        Stage2Schedule(max_steps=10, p_max=1.5)


def test_gumbel_temperature_halves_over_the_run():
    assert gumbel_temperature(0, 1000) == pytest.approx(1.0)
    assert gumbel_temperature(500, 1000) == pytest.approx(2**-0.5)
    assert gumbel_temperature(1000, 1000) == pytest.approx(0.5)
    assert gumbel_temperature(5000, 1000) == pytest.approx(0.5)


def test_confidence_gate():
    assert confidence_gate(0.8, 0.8) == pytest.approx(0.5)
    assert confidence_gate(1.0, 0.5) == pytest.approx(1 / (1 + math.exp(-5)))
    assert confidence_gate(0.2, 0.8) < 0.01


def test_running_threshold():
    t = RunningThreshold(warmup_steps=2, window_steps=3)
    assert t.update([0.2, 0.4], 0) == 1.0
    assert t.update([0.6], 1) == 1.0
    assert t.update([0.8], 2) == pytest.approx(0.45)  # at W: mean of steps 0 (0.3) and 1 (0.6)
    assert t.update([0.9], 3) == pytest.approx(0.45)
    assert t.update([0.7], 4) == pytest.approx(0.45)
    assert t.update([0.2], 5) == pytest.approx(0.8)  # window mean of steps 2..4: 0.8, 0.9, 0.7
    restored = RunningThreshold(2, 3)
    restored.load_state_dict(t.state_dict())
    assert restored.update([1.0], 6) == pytest.approx(0.8)
    assert restored.update([1.0], 8) == pytest.approx((0.2 + 1.0) / 2)  # steps 5 and 6


def test_running_threshold_moves_once_per_optimizer_step():
    """Issue 10, item 2: with gradient accumulation every micro-batch of a step uses one τ, each
    optimizer step weighs once in the window's mean, and τ does not depend on how the steps were
    split into micro-batches."""
    steps = {
        0: ([0.2, 0.2], [0.4]),
        1: ([0.6], [0.6, 0.6, 0.6]),
        2: ([0.9], [0.1]),
        3: ([1.0], [1.0]),
        4: ([0.3], [0.3]),
    }
    split, whole = RunningThreshold(2, 2), RunningThreshold(2, 2)
    taus = {}
    for step, micro_batches in steps.items():
        taus[step] = [split.update(part, step) for part in micro_batches]
        assert whole.update([c for part in micro_batches for c in part], step) == taus[step][0]
    assert taus[0] == taus[1] == [1.0, 1.0]
    at_w = (0.8 / 3 + 0.6) / 2  # steps 0 and 1, each its own mean
    assert taus[2] == pytest.approx([at_w, at_w]) and taus[3] == pytest.approx([at_w, at_w])
    assert taus[4] == pytest.approx([0.75, 0.75])  # steps 2 (0.5) and 3 (1.0)


def test_schedule_defaults_are_the_method_constants() -> None:
    """The schedules' own defaults repeat the method configs' (the published values): a change
    to one without the other fails here."""
    import inspect
    from dataclasses import fields

    from reason2decide.methods import R2DCConfig, Stage2Config
    from reason2decide.methods.schedules import (
        RunningThreshold,
        Stage2Schedule,
        confidence_gate,
        gumbel_temperature,
    )

    def default(func, name):
        return inspect.signature(func).parameters[name].default

    stage2 = {f.name: f.default for f in fields(Stage2Config)}
    schedule = {f.name: f.default for f in fields(Stage2Schedule)}
    assert schedule["alpha_max"] == stage2["alpha"]
    for name in ("warmup_fraction", "ramp_fraction", "p_max", "sampling"):
        assert schedule[name] == stage2[name], name
    r2dc = R2DCConfig()
    assert default(gumbel_temperature, "start") == r2dc.gumbel_start
    assert default(gumbel_temperature, "minimum") == r2dc.gumbel_min
    assert default(confidence_gate, "sharpness") == r2dc.confidence_sharpness
    assert default(RunningThreshold, "window_steps") == r2dc.tau_window_steps
