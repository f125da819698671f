"""How much a rationale repeats itself: the share of its word n-grams seen earlier in it.

"no red flags such as drowsiness or drowsiness or drowsiness" has the word 3-grams
(drowsiness, or, drowsiness) twice among its eight, so 1/8 of them repeat. A rationale with
fewer than ``n`` words has no n-gram and is left out of the mean.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from typing import Any

#: The n-gram size of the reported repetition rate.
REPETITION_NGRAM = 3

_WORD = re.compile(r"\w+")


def repeated_ngram_share(text: str, n: int = REPETITION_NGRAM) -> float | None:
    """Share of the word ``n``-grams of ``text`` (lower-cased) that occurred earlier in it;
    None when ``text`` has fewer than ``n`` words."""
    if n < 1:
        raise ValueError("n must be at least 1")
    words = _WORD.findall(text.lower())
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return None
    return 1.0 - len(set(grams)) / len(grams)


def _mean_share(texts: Sequence[str | None], n: int) -> tuple[float | None, list[float]]:
    shares = (repeated_ngram_share(t, n) for t in texts if isinstance(t, str))
    scored = [s for s in shares if s is not None]
    return (statistics.fmean(scored) if scored else None), scored


def repetition_stats(
    generated: Sequence[str | None],
    gold: Sequence[str | None] = (),
    n: int = REPETITION_NGRAM,
) -> dict[str, Any]:
    """Mean repeated-n-gram share of the generated rationales (``generated``, None where none
    was generated), the share of them that repeat at all, and the same mean for the gold
    rationales as a reference."""
    mean, scored = _mean_share(generated, n)
    gold_mean, _ = _mean_share(gold, n)
    return {
        "ngram": n,
        "generated": mean,
        "n_scored": len(scored),
        "share_with_repeats": (sum(s > 0 for s in scored) / len(scored)) if scored else None,
        "gold": gold_mean,
    }
