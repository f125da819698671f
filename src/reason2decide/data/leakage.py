"""Label leakage: rationales that contain their own label verbatim, and masking it out.

A rationale that spells out its label lets a rationale→label metric (consistency, sufficiency,
the Reason2Decide-C cycle loss) succeed by copying instead of reasoning. "Verbatim" here means the
label text as a whole phrase, case-insensitive, with any run of whitespace in the label matching
any run of whitespace in the rationale, and not glued to a letter or digit on either side
("no" matches "No, it does not" but not "none"). For yes/no labels this also hits a "no" that is
not the answer ("there was no difference"): that is still a cue a copier can use.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import replace

from reason2decide.data.example import Example

#: What masking puts where the label was; the Reason2Decide-C MedReason files use the same token.
DEFAULT_PLACEHOLDER = "[LABEL]"


@functools.lru_cache(maxsize=8192)
def _label_pattern(label: str) -> re.Pattern[str] | None:
    words = label.split()
    if not words:
        return None
    body = r"\s+".join(re.escape(word) for word in words)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def contains_label(rationale: str | None, label: str) -> bool:
    """Whether ``rationale`` contains ``label`` verbatim (see the module docstring)."""
    if not rationale:
        return False
    pattern = _label_pattern(label)
    return pattern is not None and pattern.search(rationale) is not None


def mask_label(rationale: str, label: str, placeholder: str = DEFAULT_PLACEHOLDER) -> str:
    """``rationale`` with every verbatim occurrence of ``label`` replaced by ``placeholder``."""
    pattern = _label_pattern(label)
    if pattern is None or not rationale:
        return rationale
    return pattern.sub(lambda _match: placeholder, rationale)


def mask_examples(
    examples: Iterable[Example], placeholder: str = DEFAULT_PLACEHOLDER
) -> list[Example]:
    """Copies of ``examples`` whose rationales have their own label masked by ``placeholder``."""
    masked: list[Example] = []
    for example in examples:
        if example.rationale is None:
            masked.append(example)
            continue
        masked.append(
            replace(
                example,
                rationale=mask_label(example.rationale, example.label, placeholder),
                extra=dict(example.extra),
            )
        )
    return masked


def count_leaking(examples: Iterable[Example]) -> tuple[int, int]:
    """(rationales that contain their label verbatim, examples that have a rationale)."""
    leaking = 0
    with_rationale = 0
    for example in examples:
        if example.rationale:
            with_rationale += 1
            if contains_label(example.rationale, example.label):
                leaking += 1
    return leaking, with_rationale
