"""The rules of the synthetic triage demo: the facts of a case and the disposition they give.

The chief complaints and their findings are data, read from ``protocols.yaml`` beside this module
(shipped with the package); the vital-sign bands and the rules that turn a case into a label are
code, here. The rules are documented in :mod:`reason2decide.data.sources.synth_triage`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from reason2decide.errors import R2DError

EMERGENCY = "emergency now"
URGENT = "urgent care within 24 h"
FAMILY_DOCTOR = "see a family doctor"
SELF_CARE = "self-care at home"
#: The four dispositions, most urgent first.
LABELS: tuple[str, ...] = (EMERGENCY, URGENT, FAMILY_DOCTOR, SELF_CARE)

#: The data file with the complaints and their findings.
PROTOCOLS_FILE = "protocols.yaml"
#: The levels of urgency a finding can have, most urgent first (the keys of a complaint entry).
LEVELS = ("red_flags", "urgent", "persistent", "mild")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when PyYAML has it


@dataclass(frozen=True)
class Finding:
    """A finding as the vignette states it (``text``) and as a rationale names it (``term``)."""

    text: str
    term: str
    concern: str
    negation: str | None = None  # red flags only: how the vignette states its absence


@dataclass(frozen=True)
class Complaint:
    """A chief complaint with its findings at each level of urgency."""

    name: str
    phrases: tuple[str, ...]
    red_flags: tuple[Finding, ...]
    urgent: tuple[Finding, ...]
    persistent: tuple[Finding, ...]
    mild: tuple[Finding, ...]


@functools.lru_cache(maxsize=1)
def complaints() -> tuple[Complaint, ...]:
    """The chief complaints and their findings, in the order of ``protocols.yaml``."""
    with resources.as_file(resources.files(__package__) / PROTOCOLS_FILE) as path:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise R2DError(f"cannot read the triage protocol table: {exc}", path=path) from None
        return parse_protocols(text, str(path))


def parse_protocols(text: str, path: str) -> tuple[Complaint, ...]:
    """The complaints of a protocol table in the layout of ``protocols.yaml``.

    Raises :class:`R2DError` naming ``path`` and the complaint for a malformed table.
    """
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise R2DError(f"not valid YAML: {exc}", path=path) from None
    entries = data.get("complaints") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise R2DError("expected a non-empty list under 'complaints'", path=path)
    return tuple(_complaint(entry, index, path) for index, entry in enumerate(entries))


def _complaint(entry: Any, index: int, path: str) -> Complaint:
    """One entry of ``protocols.yaml`` as a :class:`Complaint`; raises on a malformed entry."""
    where = f"complaints[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("complaint"), str):
        raise R2DError("expected a mapping with a 'complaint' name", path=path, field=where)
    where = f"complaint '{entry['complaint']}'"
    unknown = set(entry) - {"complaint", "phrases", *LEVELS}
    phrases = entry.get("phrases")
    if unknown or not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
        raise R2DError(
            f"expected the keys complaint, phrases (a list of text), {', '.join(LEVELS)}"
            + (f"; unknown: {', '.join(sorted(unknown))}" if unknown else ""),
            path=path,
            field=where,
        )
    findings = {}
    for level in LEVELS:
        items = entry.get(level)
        if not isinstance(items, list) or not items:
            raise R2DError(f"'{level}' must be a non-empty list", path=path, field=where)
        findings[level] = tuple(_finding(item, level, f"{where}: {level}", path) for item in items)
    return Complaint(name=entry["complaint"], phrases=tuple(phrases), **findings)


def _finding(item: Any, level: str, where: str, path: str) -> Finding:
    keys = {"text", "term", "concern"} | ({"negation"} if level == "red_flags" else set())
    if (
        not isinstance(item, dict)
        or set(item) != keys
        or not all(isinstance(value, str) and value for value in item.values())
    ):
        raise R2DError(
            f"each finding needs exactly the text keys {', '.join(sorted(keys))}",
            path=path,
            field=where,
        )
    return Finding(**item)


# Vital-sign bands: normal, grey (a distractor that decides nothing), abnormal (urgent),
# critical (emergency); temperature in tenths of a degree Celsius.
HR_NORMAL, HR_GREY, HR_ABNORMAL, HR_CRITICAL = (56, 100), (101, 110), (111, 129), (130, 165)
SBP_NORMAL, SBP_ABNORMAL, SBP_CRITICAL = (102, 139), (180, 205), (70, 89)
SBP_GREY = ((90, 101), (140, 179))
RR_NORMAL, RR_GREY, RR_ABNORMAL, RR_CRITICAL = (12, 20), (21, 24), (25, 29), (30, 40)
SPO2_NORMAL, SPO2_GREY, SPO2_ABNORMAL, SPO2_CRITICAL = (95, 100), (94, 94), (91, 93), (80, 90)
TEMP_NORMAL, TEMP_GREY, TEMP_ABNORMAL = (362, 377), (378, 389), (390, 402)  # tenths of °C
CHEMO_FEVER = 380


@dataclass(frozen=True)
class Vitals:
    """Home vital signs; temperature in tenths of a degree Celsius."""

    hr: int
    sbp: int
    dbp: int
    rr: int
    temp10: int
    spo2: int

    @property
    def temp(self) -> str:
        """Temperature as written, e.g. ``"38.4"``."""
        return f"{self.temp10 // 10}.{self.temp10 % 10}"


def critical_vitals(v: Vitals) -> list[tuple[str, str]]:
    """(rationale wording, concern) for each vital sign in the emergency range."""
    found = []
    if v.hr >= HR_CRITICAL[0]:
        found.append((f"a heart rate of {v.hr}", "shock or a dangerous rhythm"))
    if v.sbp < SBP_GREY[0][0]:
        found.append((f"a blood pressure of {v.sbp}/{v.dbp}", "shock"))
    if v.rr >= RR_CRITICAL[0]:
        found.append((f"a respiratory rate of {v.rr}", "severe respiratory distress"))
    if v.spo2 <= SPO2_CRITICAL[1]:
        found.append((f"an oxygen saturation of {v.spo2}%", "dangerously low oxygen"))
    return found


def abnormal_vitals(v: Vitals) -> list[tuple[str, str]]:
    """(rationale wording, concern) for each vital sign in the urgent (not critical) range."""
    found = []
    if HR_ABNORMAL[0] <= v.hr <= HR_ABNORMAL[1]:
        found.append((f"a heart rate of {v.hr}", "a fast heart rate"))
    if v.sbp >= SBP_ABNORMAL[0]:
        found.append((f"a blood pressure of {v.sbp}/{v.dbp}", "severely raised blood pressure"))
    if RR_ABNORMAL[0] <= v.rr <= RR_ABNORMAL[1]:
        found.append((f"a respiratory rate of {v.rr}", "fast breathing"))
    if SPO2_ABNORMAL[0] <= v.spo2 <= SPO2_ABNORMAL[1]:
        found.append((f"an oxygen saturation of {v.spo2}%", "low oxygen saturation"))
    if v.temp10 >= TEMP_ABNORMAL[0]:
        found.append((f"a temperature of {v.temp} °C", "a high fever"))
    return found


@dataclass
class Case:
    """The structured facts behind one vignette."""

    complaint: Complaint
    phrase: str
    age: int
    male: bool
    duration: str
    long_duration: bool
    vitals: Vitals
    red: list[Finding] = field(default_factory=list)
    urgent: list[Finding] = field(default_factory=list)
    persistent: list[Finding] = field(default_factory=list)
    mild: list[Finding] = field(default_factory=list)
    negatives: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    chemo: bool = False
    pregnant_weeks: int = 0
    distractor: str | None = None

    @property
    def chemo_fever(self) -> bool:
        return self.chemo and self.vitals.temp10 >= CHEMO_FEVER

    @property
    def pregnant_abdominal_pain(self) -> bool:
        return self.pregnant_weeks > 0 and self.complaint.name == "abdominal pain"


def protocol_label(case: Case) -> str:
    """The disposition the rules give for a case (before label noise)."""
    if case.red or critical_vitals(case.vitals) or case.chemo_fever:
        return EMERGENCY
    if case.urgent or abnormal_vitals(case.vitals) or case.pregnant_abdominal_pain:
        return URGENT
    if case.persistent or case.long_duration:
        return FAMILY_DOCTOR
    return SELF_CARE
