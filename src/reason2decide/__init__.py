"""reason2decide: train small language models to decide and to explain their decision.

Implements Reason2Decide (Hasan et al., 2025): rationale pretraining, then joint label and
rationale training with task-level scheduled sampling, plus its baselines and Reason2Decide-C.
"""

__version__ = "0.1.0"

from reason2decide.errors import R2DError

__all__ = ["R2DError", "__version__"]
