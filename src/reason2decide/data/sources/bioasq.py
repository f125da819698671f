"""BioASQ Task B yes/no questions with snippets and ideal answers (golden batches 7B–12B here)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reason2decide.data.example import Example
from reason2decide.data.sources.base import (
    BuiltSplits,
    SourceInfo,
    SourceOption,
    bad_record,
    clean,
    load_json,
    split_examples,
)
from reason2decide.errors import R2DError

GOLDEN_DIR = "bioasq/golden"
GOLDEN_GLOB = "Task*BGoldenEnriched/*_golden.json"
VAL_FRACTION = 0.1
_BATCH = re.compile(r"^(\d+)B(\d+)_golden$")

INFO = SourceInfo(
    name="bioasq",
    title="BioASQ Task B, yes/no questions (golden batches)",
    task="answer a biomedical yes/no question from the retrieved snippets",
    labels="yes, no",
    size="720 (yes 461, no 259) from batches 7B–12B: train 556, val 62, test 102 (12B)",
    licence="NLM terms (data distributed by BioASQ after registration; no licence file)",
    citation="Krithara et al., BioASQ-QA: A manually curated corpus for Biomedical Question "
    "Answering, Scientific Data 2023; Tsatsaronis et al., BMC Bioinformatics 2015",
    homepage="http://participants-area.bioasq.org",
    raw_files=(f"{GOLDEN_DIR}/{GOLDEN_GLOB}",),
    splits="test = every yes/no question of the latest batch year present (12B here); the "
    "earlier years are split by label-stratified random sampling into train and val "
    f"({VAL_FRACTION:.0%} of them), keeping identical question texts together",
    question="the question body, a blank line, 'Snippets:', then each distinct snippet text as a "
    "'- ' line, in the order BioASQ lists them",
    rationale="the first ideal answer ('--ideal-answers all' also writes every ideal answer to "
    "a 'references' column for multi-reference metrics)",
    rationale_origin="human-written (BioASQ experts' ideal answers)",
    notes=(
        "Golden test batches of year N are part of the training data of later BioASQ years.",
        "Ideal answers often begin with 'Yes' or 'No': the label leaks into the rationale.",
        "The 12B golden files here list far more snippets per question (median about 20, against "
        "3-4 in 7B-11B): test inputs are much longer than training inputs and lose more to "
        "truncation.",
    ),
)

OPTIONS: dict[str, SourceOption] = {
    "ideal_answers": SourceOption(
        flag="--ideal-answers",
        choices=("first", "all"),
        default="first",
        help="bioasq: 'first' = rationale is the first ideal answer; 'all' = also write every "
        "ideal answer to a 'references' column",
    )
}


def _batch_name(path: Path) -> tuple[int, int, str]:
    """(year, batch number, name) of a golden file such as ``12B3_golden.json``."""
    match = _BATCH.match(path.stem)
    if match is None:
        raise R2DError(
            "cannot tell the batch from the file name",
            path=path,
            hint="golden files are named like '12B3_golden.json'",
        )
    year, number = int(match.group(1)), int(match.group(2))
    return year, number, f"{year}B{number}"


def golden_files(data_dir: Path) -> list[Path]:
    """The golden batch files under ``data_dir``, oldest batch first."""
    root = data_dir / GOLDEN_DIR
    files = sorted(root.glob(GOLDEN_GLOB), key=lambda p: _batch_name(p)[:2])
    if not files:
        raise R2DError(
            f"missing raw files '{GOLDEN_DIR}/{GOLDEN_GLOB}' of source 'bioasq' (looked in {root})",
            path=root,
            hint="put the BioASQ golden batch files (e.g. Task12BGoldenEnriched/12B1_golden.json) "
            "there, or point --data-dir / R2D_DATA_DIR at the folder that holds 'bioasq/'",
        )
    return files


def _label(path: Path, qid: str, value: Any) -> str:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    label = clean(value).lower() if isinstance(value, str) else ""
    if label not in ("yes", "no"):
        raise bad_record(path, qid, f"exact_answer {value!r} is not yes/no")
    return label


def build_question(body: str, snippets: list[str]) -> str:
    """The model input: question body plus its distinct snippets."""
    lines = [f"- {text}" for text in snippets]
    return f"{body}\n\nSnippets:\n" + "\n".join(lines)


def _example(path: Path, batch: str, year: int, question: Any, all_answers: bool) -> Example:
    qid = clean(question.get("id")) if isinstance(question, dict) else ""
    if not qid:
        raise bad_record(path, "(no id)", "a question has no 'id'")
    body = clean(question.get("body"))
    if not body:
        raise bad_record(path, qid, "empty 'body'")
    label = _label(path, qid, question.get("exact_answer"))
    ideal = question.get("ideal_answer")
    if isinstance(ideal, str):
        ideal = [ideal]
    answers = (
        [clean(text) for text in ideal or [] if clean(text)] if isinstance(ideal, list) else []
    )
    snippets: list[str] = []
    for snippet in question.get("snippets") or []:
        text = clean(snippet.get("text") if isinstance(snippet, dict) else snippet)
        if text and text not in snippets:
            snippets.append(text)
    extra: dict[str, Any] = {"batch": batch, "year": year}
    if all_answers:
        extra["references"] = answers
    return Example(
        id=qid,
        question=build_question(body, snippets),
        label=label,
        rationale=answers[0] if answers else None,
        extra=extra,
    )


def build(data_dir: Path, *, seed: int, options: Mapping[str, str]) -> BuiltSplits:
    """Read the yes/no questions of every golden batch; hold out the latest year as test."""
    all_answers = options.get("ideal_answers", "first") == "all"
    files = golden_files(data_dir)
    examples: dict[str, Example] = {}
    repeated = 0
    for path in files:
        year, _number, batch = _batch_name(path)
        content = load_json(path)
        questions = content.get("questions") if isinstance(content, dict) else None
        if not isinstance(questions, list):
            raise R2DError("expected an object with a 'questions' list", path=path)
        for question in questions:
            if not isinstance(question, dict) or question.get("type") != "yesno":
                continue
            example = _example(path, batch, year, question, all_answers)
            if example.id in examples:
                repeated += 1  # same question re-released in a later batch: keep the first
                continue
            examples[example.id] = example
    if not examples:
        raise R2DError("no yes/no questions found in the golden files", path=data_dir / GOLDEN_DIR)
    latest = max(e.extra["year"] for e in examples.values())
    test = sorted((e for e in examples.values() if e.extra["year"] == latest), key=lambda e: e.id)
    pool = [e for e in examples.values() if e.extra["year"] != latest]
    parts = split_examples(pool, {"val": VAL_FRACTION}, seed, stratify=lambda e: e.label)
    without = sum(1 for e in examples.values() if e.rationale is None)
    notes = [f"test = batch year {latest}B"]
    if repeated:
        notes.append(f"{repeated} question id(s) repeated in a later batch were kept once")
    if without:
        notes.append(f"{without} question(s) without an ideal answer have no rationale")
    return BuiltSplits(
        train=parts["train"],
        val=parts["val"],
        test=test,
        raw_files=files,
        notes=notes,
        counts={"test_year": f"{latest}B", "without_rationale": without},
    )
