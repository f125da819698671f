"""MedReason as processed by Reason2Decide-C: medical MCQs with short conclusion rationales.

The questions list their options inline after ``Answer Choices:`` (``A. ...`` to ``D. ...``, on
one line or one per line); each case carries them as its ``choices`` so that it is scored over
its own options. A repeated option is dropped (the first kept), the option that names the answer
is written exactly as the label (the files sometimes differ by a final period), and a row whose
options are not two distinct ones naming the answer (one test row: four times 'image_question')
is left out and counted.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from reason2decide.data.choices import LETTERS, normalise
from reason2decide.data.example import Example
from reason2decide.data.leakage import DEFAULT_PLACEHOLDER
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
from reason2decide.errors import R2DError

#: What introduces the lettered options in every question.
ANSWER_MARK = "Answer Choices:"
VAL_FILE = "medreason/r2dc_val.jsonl"
TEST_FILE = "medreason/r2dc_test.csv"
VAL_FRACTION = 0.1
#: The literal placeholder Reason2Decide-C left in about two-thirds of the rationales.
PLACEHOLDER = DEFAULT_PLACEHOLDER

INFO = SourceInfo(
    name="medreason",
    title="MedReason (Reason2Decide-C processed val/test files)",
    task="choose the answer of a medical multiple-choice question and explain it",
    labels="the text of the correct answer option (about 1,450 distinct strings per file), one of "
    "the case's own options ('choices'): each case is scored over its options",
    size="3,007: train 1,354 and val 150 (from r2dc val), test 1,503 (r2dc test, less one row "
    "without answerable options)",
    licence="MIT (Reason2Decide-C repository); MedReason itself: see its release",
    citation="Wu et al., MedReason: Eliciting Factual Medical Reasoning Steps in LLMs via "
    "Knowledge Graphs, arXiv 2504.00993 (2025); processed by Hasan et al., Reason2Decide-C, "
    "Computers 15(5):279 (2026)",
    homepage="https://github.com/quamranhasan/Reason2Decide-C",
    raw_files=(VAL_FILE, TEST_FILE),
    splits="the Reason2Decide-C train file is not available, so its val file is split at random "
    f"into train and val ({VAL_FRACTION:.0%}), and its test file is the test split unchanged "
    "(Reason2Decide-C's 1,504 test items less one whose four options are all 'image_question'; "
    "train is smaller than theirs)",
    question="as processed: the question stem, 'Answer Choices:' and the lettered options",
    rationale="as processed (a short conclusion); about two-thirds contain a literal '[LABEL]' "
    "placeholder where the answer was: --label-placeholder keep (default) leaves it, as "
    "Reason2Decide-C trains on it; fill writes the label text in; drop removes those rows "
    "(then test is no longer their test set)",
    rationale_origin="generated (MedReason's knowledge-graph-guided LLM reasoning, condensed by "
    "Reason2Decide-C)",
    notes=(
        "Default --label-placeholder keep: the files are used as Reason2Decide-C used them, and "
        "rationale→label metrics cannot be solved by copying the answer; 'fill' gives natural "
        "text but puts the label in about two-thirds of the rationales.",
    ),
    open_labels=True,
)

OPTIONS: dict[str, SourceOption] = {
    "label_placeholder": SourceOption(
        flag="--label-placeholder",
        choices=("keep", "fill", "drop"),
        default="keep",
        help="medreason: what to do with the literal [LABEL] in rationales: keep it (as "
        "Reason2Decide-C), fill in the label text, or drop those rows",
    )
}


def _val_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
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
            yield line_no, record


def _test_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with raw_text(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"question", "label", "rationale"} - set(reader.fieldnames or [])
        if missing:
            raise R2DError(f"missing column(s) {', '.join(sorted(missing))}", path=path, line=1)
        start = reader.line_num + 1
        try:
            for record in reader:
                if None in record or any(value is None for value in record.values()):
                    raise bad_record(path, f"row at line {start}", "wrong number of fields", start)
                yield start, record
                start = reader.line_num + 1
        except csv.Error as exc:
            raise bad_record(path, f"row at line {start}", f"cannot parse: {exc}", start) from None


def parse_choices(question: str, label: str) -> tuple[str, ...] | None:
    """The lettered options after the last ``Answer Choices:`` of ``question``, repeats dropped,
    the one naming ``label`` (up to case, spacing and a final period) written as ``label``;
    ``None`` when there are not two distinct options or none names the label."""
    at = question.rfind(ANSWER_MARK)
    if at < 0:
        return None
    tail = question[at + len(ANSWER_MARK) :]
    spans: list[tuple[int, int]] = []
    position = 0
    for letter in LETTERS:  # each letter searched after the previous one: A, then B, ...
        found = re.compile(rf"(?:^|\s){letter}\.\s").search(tail, position)
        if found is None:
            break
        spans.append((found.start(), found.end()))
        position = found.end()
    options = [
        tail[end : spans[i + 1][0] if i + 1 < len(spans) else len(tail)].strip()
        for i, (_, end) in enumerate(spans)
    ]
    kept: dict[str, str] = {}
    for text in options:
        if text:
            kept.setdefault(_key(text), text)
    if len(kept) < 2 or _key(label) not in kept:
        return None
    return tuple(label if key == _key(label) else text for key, text in kept.items())


def _key(text: str) -> str:
    return normalise(text).rstrip(" .")


def _read(path: Path, rows: Iterator[tuple[int, dict[str, Any]]], prefix: str) -> list[Example]:
    examples = []
    for number, (line_no, record) in enumerate(rows, start=1):
        record_id = f"{prefix}-{number:05d}"
        question, label = clean(record.get("question")), clean(record.get("label"))
        if not question or not label:
            raise bad_record(path, record_id, "empty question or label", line_no)
        examples.append(
            Example(
                id=record_id,
                question=question,
                label=label,
                rationale=clean(record.get("rationale")) or None,
                choices=parse_choices(question, label),
            )
        )
    return examples


def _placeholder(examples: list[Example], mode: str) -> list[Example]:
    """Apply the ``--label-placeholder`` choice to one split."""
    out = []
    for example in examples:
        has = example.rationale is not None and PLACEHOLDER in example.rationale
        if not has or mode == "keep":
            out.append(example)
        elif mode == "fill":
            assert example.rationale is not None
            filled = example.rationale.replace(PLACEHOLDER, example.label)
            out.append(replace(example, rationale=filled))
        # mode == "drop": leave it out
    return out


def build(data_dir: Path, *, seed: int, options: Mapping[str, str]) -> BuiltSplits:
    """Read the processed val/test files; split val into train/val; test stays test."""
    mode = options.get("label_placeholder", "keep")
    val_path = raw_file(data_dir, VAL_FILE, INFO.name)
    test_path = raw_file(data_dir, TEST_FILE, INFO.name)
    pool = _read(val_path, _val_rows(val_path), "medreason-val")
    test = _read(test_path, _test_rows(test_path), "medreason-test")
    raw_total = len(pool) + len(test)
    without_options = [e.id for e in pool + test if e.choices is None]
    pool = [e for e in pool if e.choices is not None]
    test = [e for e in test if e.choices is not None]
    with_placeholder = sum(
        1 for e in pool + test if e.rationale is not None and PLACEHOLDER in e.rationale
    )
    parts = split_examples(pool, {"val": VAL_FRACTION}, seed)
    splits = {name: _placeholder(items, mode) for name, items in parts.items()}
    test = _placeholder(test, mode)
    notes = [
        f"{with_placeholder} of {raw_total} raw rationales contain '{PLACEHOLDER}'; "
        f"--label-placeholder {mode}"
    ]
    if mode == "drop":
        notes[0] = (
            f"{with_placeholder} raw rationales contained '{PLACEHOLDER}' and were dropped "
            "(--label-placeholder drop); test is a subset of the Reason2Decide-C test file"
        )
    if without_options:
        shown = ", ".join(without_options[:5])
        notes.append(
            f"{len(without_options)} of {raw_total} rows left out: their 'Answer Choices' are not "
            f"two distinct options naming the answer ({shown})"
        )
    return BuiltSplits(
        train=splits["train"],
        val=splits["val"],
        test=test,
        raw_files=[val_path, test_path],
        notes=notes,
        counts={
            "rationales_with_placeholder": with_placeholder,
            "label_placeholder": mode,
            "rows_without_options": len(without_options),
        },
    )
