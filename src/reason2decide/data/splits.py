"""Deterministic, label-stratified splitting of a list of examples."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from reason2decide.data.example import Example


def stratified_holdout(
    examples: Sequence[Example], fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Split off ``fraction`` of every label's examples (at least one where a label has two or
    more); the same input and seed always give the same split. Returns ``(kept, held_out)``,
    each in the input order."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must lie in (0, 1), got {fraction}")
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        by_label[example.label].append(index)
    rng = random.Random(seed)
    held: set[int] = set()
    for label in sorted(by_label):
        indices = by_label[label]
        if len(indices) < 2:
            continue
        count = min(len(indices) - 1, max(1, round(fraction * len(indices))))
        held.update(rng.sample(indices, count))
    kept = [e for i, e in enumerate(examples) if i not in held]
    return kept, [e for i, e in enumerate(examples) if i in held]
