"""The zero-shot LLM baseline: an LLM picks a label from the label set, then explains it.

Like Reason2Decide's own inference, it runs in two steps per example: the label prompt
(:data:`~reason2decide.llm.templates.ZERO_SHOT_LABEL_TEMPLATE`) lists the label set and asks for
exactly one of them; the answer is mapped back to a label by :func:`map_label`; then the teacher
prompt (:data:`~reason2decide.llm.templates.RATIONALE_TEMPLATE`) asks for the rationale of that
label. The records it returns are scored by
:func:`reason2decide.evaluation.report.evaluate_records` like any model's predictions.

Mapping an answer back (first rule that gives exactly one label wins; all comparisons are
case-insensitive, with runs of whitespace collapsed, and a lead-in such as ``Answer:``, Markdown
emphasis, quotes and trailing punctuation removed):

1. ``exact``: the answer is a label, character for character;
2. ``normalized``: the normalized answer equals a normalized label;
3. ``prefix``: the answer starts with a label as a whole word ("Yes, because ...") — the longest
   such label, unless the answer is only a list of labels ("yes or no", "yes/no") — or the
   answer is the start of exactly one label ("may" → "maybe");
4. ``contains``: exactly one label appears in the answer as a whole word or phrase (a label found
   only inside a longer label that also appears does not count);
5. ``letter``: for a multiple-choice case (whose own options are the labels it chooses
   among), the answer is an option's letter (``B``, ``(B)``) or rendered line (``B. text``);
6. otherwise the answer is ``unmapped``: the label prompt is asked again, with the bad answer and
   a reminder of the options, up to ``label_retries`` times. If it stays unmapped, the
   **fallback** applies: with ``fallback_label`` set, that label is predicted (and explained);
   without it (the default) the prediction is :data:`UNMAPPED_LABEL`, which lies outside the label
   set, so the metrics score it as wrong and count it in ``n_predicted_outside_labels``, and its
   rationale is blank (BLEU/BERTScore score it 0). Every fallback is counted in the statistics
   (``label_mapping["unmapped"]``) and marked on its record; none is silent.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from reason2decide.data.choices import option_index
from reason2decide.data.example import Example
from reason2decide.data.leakage import contains_label
from reason2decide.errors import R2DError
from reason2decide.llm.client import ChatRequest, LLMClient
from reason2decide.llm.rationales import RationaleOptions, clean_rationale, rationale_request
from reason2decide.llm.templates import ZERO_SHOT_LABEL_TEMPLATE, PromptTemplate

#: The prediction of an answer that maps to no label (without a fallback label).
UNMAPPED_LABEL = "<unmapped>"
#: How an answer was mapped, in the order the rules are tried.
MAPPING_RULES = ("exact", "normalized", "prefix", "contains", "letter", "unmapped")

_LEAD_IN = re.compile(
    r"^(?:the\s+)?(?:final\s+)?(?:answer|decision|label|option|choice)(?:\s+is)?\s*[:\-]?\s*",
    re.IGNORECASE,
)
_EDGE = re.compile(r"^[\s\"'`*_#>(\[]+|[\s\"'`*_.,;:!?)\]]+$")


def normalize_answer(text: str) -> str:
    """Lower-cased, whitespace collapsed, lead-in ("Answer:") and wrapping punctuation removed."""
    value = " ".join(text.split())
    for _ in range(3):
        before = value
        value = _EDGE.sub("", value)
        value = _LEAD_IN.sub("", value)
        if value == before:
            break
    return value.lower()


@dataclass(frozen=True)
class LabelMatch:
    """The label an answer maps to (``None`` when unmapped) and the rule that found it."""

    label: str | None
    rule: str


def map_label(answer: str, labels: Sequence[str]) -> LabelMatch:
    """Map a free-text answer onto ``labels`` (the rules are in the module docstring)."""
    label_list = list(labels)
    if not label_list:
        raise R2DError("the label set is empty", field="labels")
    stripped = answer.strip()
    if stripped in label_list:
        return LabelMatch(stripped, "exact")
    norm = normalize_answer(answer)
    if not norm:
        return LabelMatch(None, "unmapped")
    normalized = {label: " ".join(label.split()).lower() for label in label_list}
    equal = [label for label in label_list if normalized[label] == norm]
    if len(equal) == 1:
        return LabelMatch(equal[0], "normalized")

    starts = [label for label in label_list if _starts_with_word(norm, normalized[label])]
    if starts:
        longest = max(len(normalized[label]) for label in starts)
        best = [label for label in starts if len(normalized[label]) == longest]
        if len(best) == 1 and not _lists_options(norm, normalized[best[0]], normalized.values()):
            return LabelMatch(best[0], "prefix")
    completions = [label for label in label_list if normalized[label].startswith(norm)]
    if len(completions) == 1:
        return LabelMatch(completions[0], "prefix")

    found = [label for label in label_list if contains_label(norm, normalized[label])]
    found = [
        label
        for label in found
        if not any(
            other != label
            and len(normalized[other]) > len(normalized[label])
            and contains_label(normalized[other], normalized[label])
            for other in found
        )
    ]
    if len(found) == 1:
        return LabelMatch(found[0], "contains")
    return LabelMatch(None, "unmapped")


_CONNECTOR = re.compile(r"^[\s,;/|]*(?:(?:or|and)\b)?[\s,;/|]*")


def _lists_options(text: str, first: str, labels: Iterable[str]) -> bool:
    """Whether ``text`` is nothing but ``first`` and other labels ("yes or no", "yes/no")."""
    label_list = sorted(set(labels), key=len, reverse=True)
    rest, listed = text[len(first) :], 1
    while True:
        rest = _CONNECTOR.sub("", rest, count=1)
        if not rest.strip(" .!?"):
            return listed > 1
        following = next((label for label in label_list if _starts_with_word(rest, label)), None)
        if following is None:
            return False
        rest, listed = rest[len(following) :], listed + 1


def _starts_with_word(text: str, phrase: str) -> bool:
    if not phrase or not text.startswith(phrase):
        return False
    return len(text) == len(phrase) or not text[len(phrase)].isalnum()


@dataclass(frozen=True)
class ZeroShotOptions:
    """Prompts and sampling options of the zero-shot baseline."""

    label_template: PromptTemplate = ZERO_SHOT_LABEL_TEMPLATE
    label_max_tokens: int = 16
    label_retries: int = 1
    fallback_label: str | None = None
    with_rationale: bool = True
    rationale: RationaleOptions = field(default_factory=RationaleOptions)
    temperature: float = 0.0
    seed: int | None = None


@dataclass
class ZeroShotResult:
    """Prediction records (in input order) and statistics of a zero-shot run."""

    records: list[dict[str, Any]]
    stats: dict[str, Any]


def zero_shot_predict(
    examples: Sequence[Example],
    labels: Sequence[str],
    client: LLMClient,
    *,
    options: ZeroShotOptions = ZeroShotOptions(),  # noqa: B008 - frozen dataclass
    progress: bool = False,
) -> ZeroShotResult:
    """Ask the server for each example's label (and rationale); return scorable records.

    Each record has ``id``, ``question``, ``gold_label``, ``label`` (the mapped label, the
    fallback label or :data:`UNMAPPED_LABEL`), ``probabilities`` (``None``: a chat answer has
    none), ``gold_rationale``, ``rationale`` (``None`` when rationales are off) and, for
    inspection, ``label_answer`` (the server's last raw answer) and ``label_mapping`` (the rule
    that mapped it, see :data:`MAPPING_RULES`). ``stats`` counts the mapping rules used, the
    fallbacks, the label prompts asked again, the rationales cut by the token limit, and the
    tokens spent.
    """
    label_list = list(labels)
    if not label_list:
        raise R2DError("the label set is empty", field="labels", hint="pass --labels")
    if options.fallback_label is not None and options.fallback_label not in label_list:
        raise R2DError(
            f"the fallback label {options.fallback_label!r} is not in the label set "
            f"({', '.join(label_list)})",
            field="fallback_label",
        )
    options.label_template.require("question", "labels")
    started = time.perf_counter()

    def predict_one(example: Example) -> dict[str, Any]:
        return _predict_one(example, label_list, client, options)

    records = client.map(predict_one, list(examples), progress=progress, description="zero-shot")
    rules = Counter(record["label_mapping"] for record in records)
    stats = {
        "model": client.config.model,
        "base_url": client.config.normalized_url,
        "label_prompt_version": options.label_template.version,
        "rationale_prompt_version": (
            options.rationale.template.version if options.with_rationale else None
        ),
        "label_mapping": {
            rule: rules.get(rule, 0)
            for rule in MAPPING_RULES
            if rule != "letter" or any(e.choices is not None for e in examples)
        },
        "n_unmapped": rules.get("unmapped", 0),
        "fallback": options.fallback_label if options.fallback_label else UNMAPPED_LABEL,
        "n_label_retries": sum(record.pop("_label_retries") for record in records),
        "n_rationales_truncated": sum(record.pop("_truncated") for record in records),
        "seconds": round(time.perf_counter() - started, 3),
        "usage": client.usage.to_dict(),
    }
    return ZeroShotResult(records=records, stats=stats)


def _predict_one(
    example: Example, labels: list[str], client: LLMClient, options: ZeroShotOptions
) -> dict[str, Any]:
    if example.choices is not None:  # a multiple-choice case answers among its own options
        labels = list(example.choices)
    messages = options.label_template.render(example.question, labels=labels)
    answer = ""
    match = LabelMatch(None, "unmapped")
    retries = 0
    for attempt in range(options.label_retries + 1):
        if attempt:
            retries += 1
            messages = [
                *messages,
                {"role": "assistant", "content": answer},
                {
                    "role": "user",
                    "content": "That is not one of the options. Reply with exactly one of: "
                    + ", ".join(labels),
                },
            ]
        request = ChatRequest.of(
            messages,
            temperature=options.temperature,
            max_tokens=options.label_max_tokens,
            seed=options.seed,
        )
        answer = client.chat(request).content
        match = map_label(answer, labels)
        if match.label is None and example.choices is not None:
            position = option_index(answer, example.choices)
            if position is not None:
                match = LabelMatch(example.choices[position], "letter")
        if match.label is not None:
            break

    label = match.label if match.label is not None else options.fallback_label
    rationale: str | None = None
    truncated = False
    if options.with_rationale:
        if label is None:
            rationale = ""
        else:
            conditioned = replace(example, label=label, rationale=None, extra={})
            result = client.chat(rationale_request(conditioned, options.rationale, labels))
            rationale = clean_rationale(result.content) or ""
            truncated = result.truncated
    return {
        "id": example.id,
        "question": example.question,
        "gold_label": example.label,
        "label": label if label is not None else UNMAPPED_LABEL,
        "probabilities": None,
        "gold_rationale": example.rationale,
        **({} if example.choices is None else {"choices": list(example.choices)}),
        "rationale": rationale,
        "label_answer": answer,
        "label_mapping": match.rule,
        "_label_retries": retries,
        "_truncated": truncated,
    }
