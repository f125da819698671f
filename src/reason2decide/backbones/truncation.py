"""How many prompts and targets a backbone cuts at its token limits, and what the limits are.

A backbone silently truncates prompts to ``max_input_length`` and targets to
``max_target_length`` tokens, and clamps both to the model's position limit (512 for
minilm-bert2bert). These helpers measure it so that training and evaluation can say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reason2decide.backbones.base import Backbone


def token_limits(
    backbone: Backbone,
    requested_input: int | None = None,
    requested_target: int | None = None,
) -> dict[str, Any]:
    """The limits in force (after clamping to the model's positions) and those asked for."""
    return {
        "max_input_length": backbone.max_input_length,
        "max_target_length": backbone.max_target_length,
        "requested_max_input_length": requested_input,
        "requested_max_target_length": requested_target,
        "model_position_limit": backbone.position_limit,
    }


def _examples_cut(groups: Sequence[Sequence[str]], lengths_of: Any, limit: int) -> int:
    """How many groups hold a text whose ``lengths_of`` exceeds ``limit`` (one batched call)."""
    flat = [text for group in groups for text in group]
    lengths = lengths_of(flat) if flat else []
    cut, start = 0, 0
    for group in groups:
        cut += any(n > limit for n in lengths[start : start + len(group)])
        start += len(group)
    return cut


def truncation_counts(
    backbone: Backbone,
    prompts: Sequence[Sequence[str]],
    targets: Sequence[Sequence[str]],
) -> dict[str, Any]:
    """Examples with at least one prompt (target) longer than the backbone's limit.

    ``prompts[i]`` and ``targets[i]`` are every prompt and target example ``i`` is encoded
    with (e.g. ``predict: x`` and ``given label: y, explain: x``; the label and the rationale).
    """
    if len(prompts) != len(targets):
        raise ValueError("prompts and targets differ in length")
    n = len(prompts)
    prompts_cut = _examples_cut(prompts, backbone.prompt_lengths, backbone.max_input_length)
    targets_cut = _examples_cut(targets, backbone.target_lengths, backbone.max_target_length)
    return {
        "examples": n,
        "prompts_cut": prompts_cut,
        "prompts_cut_share": prompts_cut / n if n else None,
        "targets_cut": targets_cut,
        "targets_cut_share": targets_cut / n if n else None,
    }


def describe_limits(limits: dict[str, Any]) -> str:
    """One line: the limits in force, and why they differ from those asked for."""

    def one(kind: str, key: str) -> str:
        value, asked = limits[key], limits.get(f"requested_{key}")
        text = f"{kind} {value}"
        if asked is not None and asked != value:
            limit = limits["model_position_limit"]
            text += f" (asked {asked}; the model's position limit is {limit})"
        return text

    inputs = one("prompts", "max_input_length")
    targets = one("targets", "max_target_length")
    return f"token limits: {inputs}, {targets}"


def describe_counts(split: str, counts: dict[str, Any], limits: dict[str, Any]) -> str:
    """One line per split: the share of examples whose prompt / target gets cut."""
    n = counts["examples"]
    if not n:
        return f"{split}: no examples"

    def share(key: str) -> str:
        return f"{100 * counts[f'{key}_cut_share']:.1f}% ({counts[f'{key}_cut']})"

    return (
        f"{split}: {share('prompts')} of {n} examples have a prompt cut at "
        f"{limits['max_input_length']} tokens, {share('targets')} a target cut at "
        f"{limits['max_target_length']} tokens"
    )
