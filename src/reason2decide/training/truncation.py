"""Before a stage trains: how many of its prompts and targets the token limits cut, per split."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reason2decide.backbones import Backbone
from reason2decide.backbones.truncation import (
    describe_counts,
    describe_limits,
    token_limits,
    truncation_counts,
)
from reason2decide.data.example import Example
from reason2decide.prompts import conditioned_explain_prompt, explain_prompt, predict_prompt


def stage_texts(
    stage: str, rationale_prompt: str | None, examples: Sequence[Example]
) -> tuple[list[list[str]], list[list[str]]]:
    """Every prompt and target objective ``stage`` encodes for each example: Stage 1
    ``explain: x → r``; the others ``predict: x → y`` and, for methods that explain, the
    rationale prompt (``given label: y, explain: x`` or ``explain: x``) → r."""
    prompts: list[list[str]] = []
    targets: list[list[str]] = []
    for e in examples:
        if stage == "stage1":
            prompts.append([explain_prompt(e.question)])
            targets.append([e.rationale or ""])
            continue
        p, t = [predict_prompt(e.question)], [e.label]
        if rationale_prompt is not None and e.rationale:
            if rationale_prompt == "conditioned":
                p.append(conditioned_explain_prompt(e.label, e.question))
            else:
                p.append(explain_prompt(e.question))
            t.append(e.rationale)
        prompts.append(p)
        targets.append(t)
    return prompts, targets


def report_truncation(
    backbone: Backbone,
    stage: str,
    rationale_prompt: str | None,
    splits: Mapping[str, Sequence[Example]],
    *,
    requested_input: int,
    requested_target: int,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Say the limits in force and, per split, the share of examples with a prompt or target
    cut; return the same as a record for ``run.json`` (``limits`` and one entry per split)."""
    limits = token_limits(backbone, requested_input, requested_target)
    say(f"{stage}: {describe_limits(limits)}")
    record: dict[str, Any] = {"limits": limits}
    for split, examples in splits.items():
        counts = truncation_counts(backbone, *stage_texts(stage, rationale_prompt, examples))
        say(f"{stage}: {describe_counts(split, counts, limits)}")
        record[split] = counts
    return record
