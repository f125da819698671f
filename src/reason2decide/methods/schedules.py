"""Stage-2 schedules as pure functions of the optimisation step.

Notation of the paper and its reference code, with ``T`` = Stage-2 ``max_steps``:

- ``W = int(warmup_fraction * T)`` (5%): α rises linearly from 0 to ``alpha_max`` (0.7).
- ``M = int(ramp_fraction * T)`` (60%): after ``W`` the probability of conditioning the
  rationale on the model's own label rises as ``min(p_max, (step - W) / M)``, ``p_max`` = 0.9.
- Delayed early stopping only looks at evaluations from step ``W + M`` on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Stage2Schedule:
    """The α and p schedules of Reason2Decide Stage 2 (paper defaults)."""

    max_steps: int
    alpha_max: float = 0.7
    warmup_fraction: float = 0.05
    ramp_fraction: float = 0.6
    p_max: float = 0.9
    sampling: bool = True

    def __post_init__(self) -> None:
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")
        for name in ("alpha_max", "warmup_fraction", "ramp_fraction", "p_max"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value}")

    @property
    def warmup_steps(self) -> int:
        """``W``: steps over which α ramps up; p is 0 before it."""
        return int(self.warmup_fraction * self.max_steps)

    @property
    def ramp_steps(self) -> int:
        """``M``: steps over which p rises from 0 towards ``p_max`` after ``W``."""
        return int(self.ramp_fraction * self.max_steps)

    @property
    def early_stopping_start(self) -> int:
        """First step at which delayed early stopping counts evaluations (``W + M``)."""
        return self.warmup_steps + self.ramp_steps

    def alpha(self, step: int) -> float:
        """Weight of the label loss at ``step``: ``L = α·L_pred + (1−α)·L_expl``."""
        return alpha_at(step, self.warmup_steps, self.alpha_max)

    def p_pred(self, step: int) -> float:
        """Probability of conditioning the rationale on the predicted label at ``step``."""
        if not self.sampling:
            return 0.0
        return p_pred_at(step, self.warmup_steps, self.ramp_steps, self.p_max)


def alpha_at(step: int, warmup_steps: int, alpha_max: float) -> float:
    """α rises linearly from 0 at step 0 to ``alpha_max`` at ``warmup_steps``, then stays."""
    if warmup_steps <= 0 or step >= warmup_steps:
        return alpha_max
    return alpha_max * max(step, 0) / warmup_steps


def p_pred_at(step: int, warmup_steps: int, ramp_steps: int, p_max: float) -> float:
    """0 before ``warmup_steps``; then ``min(p_max, (step - W) / M)``."""
    if step < warmup_steps:
        return 0.0
    if ramp_steps <= 0:
        return p_max
    return min(p_max, (step - warmup_steps) / ramp_steps)


def gumbel_temperature(
    step: int, max_steps: int, start: float = 1.0, minimum: float = 0.5
) -> float:
    """Reason2Decide-C's Gumbel-softmax temperature: ``start·exp(−ln2·step/max_steps)``, floored
    at ``minimum`` (1.0 at step 0 down to 0.5 at ``max_steps`` with the defaults)."""
    return max(minimum, start * math.exp(-math.log(2.0) * step / max(1, max_steps)))


def confidence_gate(confidence: float, threshold: float, sharpness: float = 10.0) -> float:
    """Reason2Decide-C's per-example gate ``σ(k·(c − τ))`` on the use of a predicted label."""
    return 1.0 / (1.0 + math.exp(-sharpness * (confidence - threshold)))


class RunningThreshold:
    """Reason2Decide-C's running confidence threshold τ, updated once per optimizer step.

    Every optimizer step contributes one value, the mean confidence of all its examples (every
    micro-batch of an accumulated step, every process). Before step ``warmup_steps`` (W) τ is
    1.0 (predicted labels are not used then anyway). When step W begins, τ becomes the mean of
    the values of steps 0..W−1; every ``window_steps`` steps after that, the mean of the values
    of the steps since the last update. τ is therefore fixed within a step: all micro-batches
    of a step use the same τ. With no step seen yet (W = 0) τ keeps ``initial`` until the
    first update.
    """

    def __init__(self, warmup_steps: int, window_steps: int = 1000, initial: float = 0.75) -> None:
        self.warmup_steps = warmup_steps
        self.window_steps = max(1, window_steps)
        self.tau = initial
        # Sum and number of the per-step means since the last update of τ.
        self.total = 0.0
        self.count = 0
        # The step being collected, and its confidences so far.
        self.step = -1
        self.step_total = 0.0
        self.step_count = 0

    def update(self, confidences: list[float], step: int) -> float:
        """Record confidences of (a micro-batch of) optimizer step ``step``; return τ to use
        at ``step``. Steps must come in increasing order, each in one or more calls."""
        if step != self.step:
            self._close_step()
            self.step = step
            since = step - self.warmup_steps
            if since >= 0 and since % self.window_steps == 0 and self.count:
                self.tau = self.total / self.count
                self.total, self.count = 0.0, 0
        self.step_total += sum(confidences)
        self.step_count += len(confidences)
        return 1.0 if step < self.warmup_steps else self.tau

    def _close_step(self) -> None:
        """Add the step being collected, if any, to the window as its mean confidence."""
        if self.step_count:
            self.total += self.step_total / self.step_count
            self.count += 1
        self.step_total, self.step_count = 0.0, 0

    def state_dict(self) -> dict[str, float]:
        return {
            "tau": self.tau,
            "total": self.total,
            "count": self.count,
            "step": self.step,
            "step_total": self.step_total,
            "step_count": self.step_count,
        }

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.tau = float(state["tau"])
        if "step" not in state:
            # Saved before τ averaged per optimizer step: keep τ, start a fresh window.
            self.total, self.count, self.step = 0.0, 0, -1
            self.step_total, self.step_count = 0.0, 0
            return
        self.total = float(state["total"])
        self.count = int(state["count"])
        self.step = int(state["step"])
        self.step_total = float(state["step_total"])
        self.step_count = int(state["step_count"])
