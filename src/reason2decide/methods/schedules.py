"""Stage-2 schedules as pure functions of the optimisation step.

Notation of the paper and its reference code, with ``T`` = Stage-2 ``max_steps``:

- ``W = int(warmup_fraction * T)`` (5%): α rises linearly from 0 to ``alpha_max`` (0.7).
- ``M = int(ramp_fraction * T)`` (60%): after ``W`` the probability of conditioning the
  rationale on the model's own label rises as ``min(p_max, (step - W) / M)``, ``p_max`` = 0.9.
- Delayed early stopping only looks at evaluations from step ``W + M`` on.
"""

from __future__ import annotations

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
