"""The three Reason2Decide prompt templates, in one place.

- ``explain: {x}`` -> rationale (Stage 1; also DSS's explain task)
- ``predict: {x}`` -> label text
- ``given label: {y}, explain: {x}`` -> rationale conditioned on a label (Stage 2 and inference)
"""

from __future__ import annotations

PREDICT_PREFIX = "predict: "
EXPLAIN_PREFIX = "explain: "
LABEL_PREFIX = "given label: "


def predict_prompt(question: str) -> str:
    """Prompt asking for the label of ``question``."""
    return f"{PREDICT_PREFIX}{question}"


def explain_prompt(question: str) -> str:
    """Prompt asking for a rationale of ``question`` with no label given."""
    return f"{EXPLAIN_PREFIX}{question}"


def conditioned_explain_prompt(label: str, question: str) -> str:
    """Prompt asking for the rationale of ``question`` that supports ``label``."""
    return f"{LABEL_PREFIX}{label}, {EXPLAIN_PREFIX}{question}"


def task_instruction(prompt: str) -> str:
    """The instruction a prompt built here starts with, without its trailing space
    (``"predict:"``, ``"explain:"``, ``"given label: y, explain:"``); "" for any other text."""
    for prefix in (PREDICT_PREFIX, EXPLAIN_PREFIX):
        if prompt.startswith(prefix):
            return prefix.rstrip()
    if prompt.startswith(LABEL_PREFIX):
        end = prompt.find(", " + EXPLAIN_PREFIX)
        if end >= 0:
            return prompt[: end + len(", " + EXPLAIN_PREFIX)].rstrip()
    return ""
