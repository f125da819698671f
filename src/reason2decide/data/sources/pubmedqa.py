"""PubMedQA PQA-L: 1,000 expert-labelled yes/no/maybe questions on PubMed abstracts."""

from __future__ import annotations

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
    raw_file,
    split_examples,
)
from reason2decide.errors import R2DError

RAW = "pubmedqa/ori_pqal.json"
TEST_IDS = "pubmedqa/test_ground_truth.json"
LABELS = ("yes", "no", "maybe")
VAL_SIZE = 50  # one fold of PubMedQA's own 10-fold CV over the 500 non-test items

INFO = SourceInfo(
    name="pubmedqa",
    title="PubMedQA PQA-L (expert-labelled)",
    task="answer a biomedical research question from its abstract (yes / no / maybe)",
    labels="yes, no, maybe",
    size="1,000 (yes 552, no 338, maybe 110): train 450, val 50, test 500",
    licence="MIT",
    citation="Jin et al., PubMedQA: A Dataset for Biomedical Research Question Answering, "
    "EMNLP-IJCNLP 2019",
    homepage="https://pubmedqa.github.io (github.com/pubmedqa/pubmedqa)",
    raw_files=(RAW, TEST_IDS),
    splits="test = the official 500-item test split (the ids of test_ground_truth.json: yes 276, "
    "no 169, maybe 55); the other 500 are split by label-stratified random sampling into "
    f"train 450 / val {VAL_SIZE}",
    question="the question, a blank line, 'Context:', then each abstract section as "
    "'SECTION: text' (the abstract without its conclusion)",
    rationale="LONG_ANSWER, the abstract's conclusion",
    rationale_origin="human-written (the authors' own conclusion)",
)

OPTIONS: dict[str, SourceOption] = {}


def build_question(record: Mapping[str, Any]) -> str:
    """The model input of one PQA-L record: question plus labelled context sections."""
    contexts = [clean(text) for text in record.get("CONTEXTS") or []]
    sections = [clean(name) for name in record.get("LABELS") or []]
    if len(sections) != len(contexts):
        sections = [""] * len(contexts)
    lines = [
        f"{name}: {text}" if name else text for name, text in zip(sections, contexts, strict=True)
    ]
    question = clean(record.get("QUESTION"))
    return f"{question}\n\nContext:\n" + "\n".join(line for line in lines if line)


def _example(path: Path, pmid: str, record: Any) -> Example:
    if not isinstance(record, dict):
        raise bad_record(path, pmid, f"expected an object, found {type(record).__name__}")
    for key in ("QUESTION", "CONTEXTS", "final_decision", "LONG_ANSWER"):
        if key not in record:
            raise bad_record(path, pmid, f"field '{key}' is missing")
    if not isinstance(record["CONTEXTS"], list):
        raise bad_record(path, pmid, "field 'CONTEXTS' is not a list")
    label = clean(record["final_decision"]).lower()
    if label not in LABELS:
        raise bad_record(
            path, pmid, f"final_decision {record['final_decision']!r} is not yes/no/maybe"
        )
    if not clean(record["QUESTION"]):
        raise bad_record(path, pmid, "empty QUESTION")
    return Example(
        id=str(pmid),
        question=build_question(record),
        label=label,
        rationale=clean(record["LONG_ANSWER"]) or None,
        extra={"year": clean(record.get("YEAR")) or None},
    )


def build(data_dir: Path, *, seed: int, options: Mapping[str, str]) -> BuiltSplits:
    """Read PQA-L and split it: official test, then a stratified train/val split of the rest."""
    raw_path = raw_file(data_dir, RAW, INFO.name)
    test_path = raw_file(data_dir, TEST_IDS, INFO.name)
    raw = load_json(raw_path)
    truth = load_json(test_path)
    if not isinstance(raw, dict):
        raise R2DError("expected a JSON object keyed by PMID", path=raw_path)
    if not isinstance(truth, dict):
        raise R2DError("expected a JSON object mapping PMID to label", path=test_path)

    examples = {str(pmid): _example(raw_path, str(pmid), record) for pmid, record in raw.items()}
    for pmid, label in truth.items():
        example = examples.get(str(pmid))
        if example is None:
            raise bad_record(test_path, str(pmid), f"test id not found in {RAW}")
        if clean(label).lower() != example.label:
            raise bad_record(
                test_path,
                str(pmid),
                f"label {label!r} disagrees with final_decision {example.label!r} in {RAW}",
            )
    test_ids = {str(pmid) for pmid in truth}
    test = sorted((e for pmid, e in examples.items() if pmid in test_ids), key=lambda e: e.id)
    pool = [e for pmid, e in examples.items() if pmid not in test_ids]
    parts = split_examples(
        pool, {"val": VAL_SIZE / len(pool) if pool else 0.0}, seed, stratify=lambda e: e.label
    )
    return BuiltSplits(
        train=parts["train"],
        val=parts["val"],
        test=test,
        raw_files=[raw_path, test_path],
    )
