"""DDXPlus (excerpt of the test patients): synthetic patients, evidence codes, one pathology each.

DDXPlus has no free-text explanations. The input is a readable patient description decoded from
the evidence codes with the release's evidence dictionary; the rationale is a template naming the
patient's evidences that the condition dictionary lists for the gold pathology. Such rationales
are constructed, not written by a person, and ``dataset.json`` says so.
"""

from __future__ import annotations

import ast
import csv
from collections.abc import Mapping, Sequence
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
    raw_text,
    split_examples,
)
from reason2decide.errors import R2DError

PATIENTS = "ddxplus/test_patients_subset.csv"
EVIDENCES = "ddxplus/release_evidences.json"
CONDITIONS = "ddxplus/release_conditions.json"
COLUMNS = ("age", "sex", "diagnosis", "features", "feature_id")
HELD_OUT = {"val": 0.1, "test": 0.1}
_SEX = {"M": "male", "F": "female"}
_YES_NO = {"Y": "yes", "N": "no"}
#: At most this many symptoms and antecedents are named in a constructed rationale.
MAX_FINDINGS = 4
MAX_RISKS = 2

INFO = SourceInfo(
    name="ddxplus",
    title="DDXPlus (2,611-patient excerpt of the test patients)",
    task="name the pathology of a synthetic patient from their answers to a symptom "
    "and history questionnaire",
    labels="49 pathologies (condition names of release_conditions.json)",
    size="2,611 (URTI 179 ... Bronchiolitis 1, Ebola 1): train 2,089, val 261, test 261",
    licence="CC-BY (DDXPlus release, Mila / Dialogue Health)",
    citation="Fansi Tchango et al., DDXPlus: A New Dataset For Automatic Medical Diagnosis, "
    "NeurIPS 2022 Datasets and Benchmarks (arXiv 2205.09148)",
    homepage="https://github.com/mila-iqia/ddxplus",
    raw_files=(PATIENTS, EVIDENCES, CONDITIONS),
    splits="80/10/10 train/val/test by random sampling stratified by pathology; a pathology "
    "with a single patient stays in train",
    question="'Patient: AGE-year-old SEX.', the initial evidence as 'Chief complaint', then "
    "'Symptoms:' and 'History and risk factors:' lists of the English questions with the "
    "patient's answers (multi-choice values decoded, scales as 'N on a scale of 0 to 10')",
    rationale="constructed from a template: the pathology, then its most decisive evidences "
    "in this patient: answers (not left at their default) that release_conditions.json lists "
    f"for it, rarest across conditions first; at most {MAX_FINDINGS} symptoms and {MAX_RISKS} "
    "risk factors, follow-up questions (pain and rash details) not named",
    rationale_origin="constructed (template over the evidence and condition dictionaries), "
    "not human-written",
    notes=(
        "The excerpt's provenance (which 2,611 of the 134,529 test patients) is undocumented.",
        "Every constructed rationale names its label: mask it for rationale→label metrics.",
    ),
)

OPTIONS: dict[str, SourceOption] = {}


def parse_code(code: str) -> tuple[str, str | None]:
    """Split an evidence code such as ``E_54_@_V_161`` into (evidence, value)."""
    name, sep, value = code.partition("_@_")
    return name, (value if sep else None)


def _answer(evidence: Mapping[str, Any], values: Sequence[str | None]) -> str:
    """The patient's answer to one evidence question, as text."""
    if evidence.get("data_type") == "B" or not values or values == [None]:
        return "yes"
    meanings = evidence.get("value_meaning") or {}
    texts: list[str] = []
    numeric = False
    for value in values:
        if value is None:
            continue
        meaning = meanings.get(value)
        if isinstance(meaning, dict):
            text = clean(meaning.get("en"))
            if text == "NA" or not text:
                continue
            texts.append(_YES_NO.get(text, text))
        else:
            numeric = numeric or value.lstrip("-").isdigit()
            texts.append(value)
    if not texts:
        return "not applicable"
    joined = ", ".join(texts)
    if numeric and len(texts) == 1:
        return f"{joined} on a scale of 0 to 10"
    return joined


def _line(evidence: Mapping[str, Any], values: Sequence[str | None]) -> str:
    question = clean(evidence.get("question_en")) or clean(evidence.get("name"))
    answer = _answer(evidence, values)
    if question.endswith(":"):
        return f"{question} {answer}."
    return f"{question} {answer[:1].upper()}{answer[1:]}."


def _grouped(codes: Sequence[str]) -> dict[str, list[str | None]]:
    """Evidence name → values, in order of first appearance."""
    grouped: dict[str, list[str | None]] = {}
    for code in codes:
        name, value = parse_code(code)
        grouped.setdefault(name, []).append(value)
    return grouped


def describe_patient(
    age: int,
    sex: str,
    codes: Sequence[str],
    initial: str,
    evidences: Mapping[str, Mapping[str, Any]],
) -> str:
    """A readable description of one patient from their evidence codes."""
    grouped = _grouped(codes)
    initial_name = parse_code(initial)[0]
    lines = [f"Patient: {age}-year-old {_SEX.get(sex, sex)}."]
    if initial_name in evidences:
        values = grouped.get(initial_name, [parse_code(initial)[1]])
        lines.append(f"Chief complaint: {_line(evidences[initial_name], values)}")
    symptoms, history = [], []
    for name, values in grouped.items():
        if name == initial_name:
            continue
        evidence = evidences[name]
        (history if evidence.get("is_antecedent") else symptoms).append(
            f"- {_line(evidence, values)}"
        )
    if symptoms:
        lines += ["Symptoms:", *symptoms]
    if history:
        lines += ["History and risk factors:", *history]
    return "\n".join(lines)


def _non_default(evidence: Mapping[str, Any], values: Sequence[str | None]) -> bool:
    """Whether the answer says more than the evidence's default ("nowhere", "no", 0)."""
    if evidence.get("data_type") == "B":
        return True
    default = str(evidence.get("default_value"))
    return any(value is not None and value != default for value in values)


def specificity(conditions: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """For each evidence, how many conditions list it (as symptom or antecedent)."""
    counts: dict[str, int] = {}
    for condition in conditions.values():
        for key in ("symptoms", "antecedents"):
            for name in condition.get(key) or {}:
                counts[name] = counts.get(name, 0) + 1
    return counts


def build_rationale(
    label: str,
    codes: Sequence[str],
    initial: str,
    evidences: Mapping[str, Mapping[str, Any]],
    condition: Mapping[str, Any],
    spread: Mapping[str, int],
) -> str:
    """The templated rationale: the pathology and the patient's most decisive evidences for it.

    Decisive evidences are the patient's answers (not at their default value) that the
    condition dictionary lists for ``label``; the rarest among all conditions (``spread``) come
    first, then the chief complaint, then questionnaire order. Follow-up questions (pain or rash
    details) are not named. At most :data:`MAX_FINDINGS` symptoms and :data:`MAX_RISKS`
    antecedents are named.
    """
    grouped = _grouped(codes)
    initial_name = parse_code(initial)[0]
    position = {name: index for index, name in enumerate(grouped)}
    symptoms = condition.get("symptoms") or {}
    antecedents = condition.get("antecedents") or {}
    found: list[str] = []
    risks: list[str] = []
    for name in sorted(
        grouped,
        key=lambda n: (spread.get(n, 0), n != initial_name, position[n]),
    ):
        evidence = evidences[name]
        follow_up = evidence.get("code_question", name) != name
        if follow_up or not _non_default(evidence, grouped[name]):
            continue
        if name in symptoms and len(found) < MAX_FINDINGS:
            found.append(_line(evidence, grouped[name]).rstrip("."))
        elif name in antecedents and len(risks) < MAX_RISKS:
            risks.append(_line(evidence, grouped[name]).rstrip("."))
    parts = [f"The answers point to {label}."]
    if found:
        parts.append(f"Decisive findings for {label}: " + "; ".join(found) + ".")
    else:
        parts.append(f"None of the reported symptoms is in the usual profile of {label}.")
    if risks:
        parts.append("Risk factors: " + "; ".join(risks) + ".")
    return " ".join(parts)


def _codes(path: Path, record_id: str, line_no: int, text: str) -> list[str]:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise bad_record(
            path, record_id, "'features' is not a list of evidence codes", line_no
        ) from None
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise bad_record(path, record_id, "'features' is not a list of evidence codes", line_no)
    return value


def _patient(
    path: Path,
    line_no: int,
    number: int,
    row: Mapping[str, str],
    evidences: Mapping[str, Mapping[str, Any]],
    conditions: Mapping[str, Mapping[str, Any]],
    spread: Mapping[str, int],
) -> Example:
    record_id = f"ddxplus-{number:05d}"
    try:
        age = int(clean(row["age"]))
    except ValueError:
        raise bad_record(
            path, record_id, f"age {row['age']!r} is not a whole number", line_no
        ) from None
    sex = clean(row["sex"])
    label = clean(row["diagnosis"])
    if label not in conditions:
        raise bad_record(path, record_id, f"pathology {label!r} is not in {CONDITIONS}", line_no)
    codes = _codes(path, record_id, line_no, row["features"])
    initial = clean(row["feature_id"])
    for code in [*codes, initial]:
        if parse_code(code)[0] not in evidences:
            raise bad_record(path, record_id, f"evidence {code!r} is not in {EVIDENCES}", line_no)
    return Example(
        id=record_id,
        question=describe_patient(age, sex, codes, initial, evidences),
        label=label,
        rationale=build_rationale(label, codes, initial, evidences, conditions[label], spread),
        extra={"age": age, "sex": sex},
    )


def read_patients(
    path: Path,
    evidences: Mapping[str, Mapping[str, Any]],
    conditions: Mapping[str, Mapping[str, Any]],
) -> list[Example]:
    """Every patient of the CSV as an example."""
    examples = []
    spread = specificity(conditions)
    with raw_text(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in COLUMNS if name not in (reader.fieldnames or [])]
        if missing:
            raise R2DError(
                f"missing column(s) {', '.join(missing)}",
                path=path,
                line=1,
                hint=f"the patient file needs the columns {', '.join(COLUMNS)}",
            )
        start = reader.line_num + 1
        try:
            for number, row in enumerate(reader, start=1):
                if None in row or any(row[name] is None for name in COLUMNS):
                    raise bad_record(path, f"ddxplus-{number:05d}", "wrong number of fields", start)
                examples.append(_patient(path, start, number, row, evidences, conditions, spread))
                start = reader.line_num + 1
        except csv.Error as exc:
            raise bad_record(path, f"row at line {start}", f"cannot parse: {exc}", start) from None
    return examples


def build(data_dir: Path, *, seed: int, options: Mapping[str, str]) -> BuiltSplits:
    """Decode the patients and split them 80/10/10, stratified by pathology."""
    patients = raw_file(data_dir, PATIENTS, INFO.name)
    evidence_path = raw_file(data_dir, EVIDENCES, INFO.name)
    condition_path = raw_file(data_dir, CONDITIONS, INFO.name)
    evidences = load_json(evidence_path)
    conditions = load_json(condition_path)
    if not isinstance(evidences, dict):
        raise R2DError("expected an object keyed by evidence code", path=evidence_path)
    if not isinstance(conditions, dict):
        raise R2DError("expected an object keyed by condition name", path=condition_path)
    examples = read_patients(patients, evidences, conditions)
    parts = split_examples(examples, HELD_OUT, seed, stratify=lambda e: e.label)
    return BuiltSplits(
        train=parts["train"],
        val=parts["val"],
        test=parts["test"],
        raw_files=[patients, evidence_path, condition_path],
        notes=["rationales are constructed from a template (not human-written)"],
        counts={"rationale_constructed": True},
    )
