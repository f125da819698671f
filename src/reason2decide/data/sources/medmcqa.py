"""MedMCQA (dev set): Indian medical entrance-exam MCQs, many with a free-text explanation.

Each case carries its four options (``choices``), so that it is scored over its own options.
Some rows of the dev file list an option twice: the repeat is dropped (the first kept), and the
case has fewer options; a row without two distinct options (one: four identical options) is left
out. dataset.json counts both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reason2decide.data.choices import letter, normalise
from reason2decide.data.example import Example
from reason2decide.data.sources.base import (
    BuiltSplits,
    SourceInfo,
    SourceOption,
    bad_record,
    clean,
    raw_file,
    raw_text,
    split_examples,
)

RAW = "medmcqa/dev.json"
OPTION_KEYS = ("opa", "opb", "opc", "opd")
HELD_OUT = {"val": 0.1, "test": 0.1}

INFO = SourceInfo(
    name="medmcqa",
    title="MedMCQA (official dev set)",
    task="choose the correct option of a four-option medical exam question and explain it",
    labels="the text of the correct option, one of the case's own options ('choices'): each "
    "case is scored over its options",
    size="4,182 of the dev set's 4,183 (2,205 with an explanation; one row without two distinct "
    "options left out): train 3,346, val 418, test 418",
    licence="MIT",
    citation="Pal et al., MedMCQA: A Large-scale Multi-Subject Multi-Choice Dataset for Medical "
    "domain Question Answering, CHIL 2022 (PMLR 174)",
    homepage="https://medmcqa.github.io",
    raw_files=(RAW,),
    splits="only the official dev set is available here: it is split 80/10/10 into "
    "train/val/test by random sampling stratified by subject (so scores are not comparable "
    "with published MedMCQA dev-set numbers)",
    question="the question, then 'Answer Choices:' and the options as 'A. ...' to 'D. ...' lines "
    "(the same options are the case's 'choices'; an option repeated in the raw row is dropped)",
    rationale="'exp', the explanation written for the question bank; rows without one are kept "
    "(rationale null, has_rationale false) for label-only methods",
    rationale_origin="human-written (exam-preparation explanations; often start by naming the "
    "answer, e.g. 'Ans. a ...')",
    notes=("Explanations often quote the correct option: check leakage with `r2d data stats`.",),
    open_labels=True,
)

OPTIONS: dict[str, SourceOption] = {}


def build_question(stem: str, options: list[str]) -> str:
    """The model input: stem plus lettered options."""
    lines = [f"{letter(i)}. {text}" for i, text in enumerate(options)]
    return f"{stem}\nAnswer Choices:\n" + "\n".join(lines)


def distinct_options(options: list[str]) -> list[str]:
    """The non-empty options without repeats (equal up to case and whitespace; the first kept)."""
    kept: list[str] = []
    seen: set[str] = set()
    for text in options:
        key = normalise(text)
        if text and key not in seen:
            seen.add(key)
            kept.append(text)
    return kept


def _example(path: Path, line_no: int, record: dict[str, Any]) -> Example:
    record_id = clean(record.get("id")) or f"line {line_no}"
    stem = clean(record.get("question"))
    if not stem:
        raise bad_record(path, record_id, "empty 'question'", line_no)
    options = [clean(record.get(key)) for key in OPTION_KEYS]
    cop = record.get("cop")
    if isinstance(cop, str) and cop.strip().isdigit():
        cop = int(cop)
    if not isinstance(cop, int) or isinstance(cop, bool) or not 1 <= cop <= 4:
        raise bad_record(path, record_id, f"'cop' {cop!r} is not an option number 1-4", line_no)
    if not options[cop - 1]:
        raise bad_record(
            path, record_id, f"the correct option '{OPTION_KEYS[cop - 1]}' is empty", line_no
        )
    choices = distinct_options(options)
    position = next(
        i for i, text in enumerate(choices) if normalise(text) == normalise(options[cop - 1])
    )
    explanation = clean(record.get("exp")) or None
    return Example(
        id=clean(record.get("id")) or f"medmcqa-{line_no:05d}",
        question=build_question(stem, choices),
        label=choices[position],
        rationale=explanation,
        # a row without two distinct options is left out by build()
        choices=tuple(choices) if len(choices) >= 2 else None,
        extra={
            "answer_letter": letter(position),
            "subject": clean(record.get("subject_name")) or None,
            "has_rationale": explanation is not None,
        },
    )


def read_records(path: Path) -> list[Example]:
    """All rows of the dev file as examples."""
    examples: list[Example] = []
    seen: set[str] = set()
    with raw_text(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise bad_record(
                    path, f"line {line_no}", f"not valid JSON: {exc.msg}", line_no
                ) from None
            if not isinstance(record, dict):
                raise bad_record(path, f"line {line_no}", "not a JSON object", line_no)
            example = _example(path, line_no, record)
            if example.id in seen:
                raise bad_record(path, example.id, "id repeated", line_no)
            seen.add(example.id)
            examples.append(example)
    return examples


def build(data_dir: Path, *, seed: int, options: Mapping[str, str]) -> BuiltSplits:
    """Read the dev set and split it 80/10/10, stratified by subject."""
    path = raw_file(data_dir, RAW, INFO.name)
    examples = read_records(path)
    raw_total = len(examples)
    unanswerable = [e.id for e in examples if e.choices is None]
    examples = [e for e in examples if e.choices is not None]
    parts = split_examples(
        examples, HELD_OUT, seed, stratify=lambda e: e.extra.get("subject") or ""
    )
    without = sum(1 for e in examples if e.rationale is None)
    repeated = sum(1 for e in examples if len(e.choices or ()) < len(OPTION_KEYS))
    notes = [
        f"{without} of {len(examples)} rows have no explanation: rationale null",
        f"{repeated} of {raw_total} rows list an option twice (or leave one empty): the repeat "
        "is dropped (the first kept), and the case has fewer options",
    ]
    if unanswerable:
        notes.append(
            f"{len(unanswerable)} of {raw_total} rows left out: fewer than two distinct options "
            f"({', '.join(unanswerable[:5])})"
        )
    return BuiltSplits(
        train=parts["train"],
        val=parts["val"],
        test=parts["test"],
        raw_files=[path],
        notes=notes,
        counts={
            "without_rationale": without,
            "rows_with_repeated_option": repeated,
            "rows_without_options": len(unanswerable),
        },
    )
