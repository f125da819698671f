"""Drawing a random triage case whose findings make the rules give a chosen disposition.

Everything is drawn from one ``random.Random`` in a fixed order: changing the order of the draws
here, or of the lists they draw from, changes every generated file.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from reason2decide.data.sources.synth_triage.protocol import (
    CHEMO_FEVER,
    EMERGENCY,
    FAMILY_DOCTOR,
    HR_ABNORMAL,
    HR_CRITICAL,
    HR_GREY,
    HR_NORMAL,
    RR_ABNORMAL,
    RR_CRITICAL,
    RR_GREY,
    RR_NORMAL,
    SBP_ABNORMAL,
    SBP_CRITICAL,
    SBP_GREY,
    SBP_NORMAL,
    SELF_CARE,
    SPO2_ABNORMAL,
    SPO2_CRITICAL,
    SPO2_GREY,
    SPO2_NORMAL,
    TEMP_ABNORMAL,
    TEMP_GREY,
    TEMP_NORMAL,
    URGENT,
    Case,
    Complaint,
    Finding,
    Vitals,
    complaints,
)

#: History items: (vignette text, relevant to cardiac/respiratory complaints); none changes a
#: label.
HISTORY: tuple[tuple[str, bool], ...] = (
    ("hypertension", True),
    ("type 2 diabetes", True),
    ("high cholesterol", True),
    ("smoking 20 a day", True),
    ("asthma", True),
    ("COPD", True),
    ("hypothyroidism on levothyroxine", False),
    ("osteoarthritis of the knees", False),
    ("seasonal allergies", False),
    ("a knee replacement five years ago", False),
    ("mild depression", False),
    ("gout", False),
    ("eczema as a child", False),
)
#: Complaints whose emergency rationale names a relevant history item.
CARDIORESPIRATORY = {"chest pain", "shortness of breath", "dizziness", "cough"}
#: How a vignette states chemotherapy (for women, men): with it, 38.0 °C is an emergency.
CHEMO = "chemotherapy for breast cancer, last cycle 9 days ago"
CHEMO_MALE = "chemotherapy for lymphoma, last cycle 9 days ago"
#: Complaints whose vignettes may mention a pregnancy (it decides only for abdominal pain).
PREGNANCY_ALLOWED = {"abdominal pain", "sore throat", "ear pain", "cough"}
#: Sentences about the caller that never matter.
DISTRACTORS = (
    "Works as a teacher.",
    "Works night shifts as a bus driver.",
    "Lives alone with a cat.",
    "Calling from work.",
    "Mentions a neighbour had something similar last year.",
    "Back from a weekend in the mountains.",
    "Asks whether it is safe to drive.",
    "Has a dentist appointment tomorrow.",
    "Recently started a new job.",
    "The partner is making the call.",
    "Has not taken anything for it yet.",
    "Slept badly last night.",
    "Had a flu vaccine in the autumn.",
    "Has no known allergies.",
    "Last saw a doctor a year ago.",
    "Wants advice on what to do next.",
)


def _pick(rng: random.Random, items: Sequence[Finding], k: int = 1) -> list[Finding]:
    return rng.sample(list(items), min(k, len(items)))


def _between(rng: random.Random, band: tuple[int, int]) -> int:
    return rng.randint(band[0], band[1])


def _dbp(rng: random.Random, sbp: int) -> int:
    return max(40, round(sbp * 0.62) + rng.randint(-6, 8))


def _base_vitals(rng: random.Random, complaint: Complaint, chemo: bool) -> Vitals:
    """Vital signs in the normal or grey (distractor) range."""
    hr = _between(rng, HR_GREY if rng.random() < 0.2 else HR_NORMAL)
    sbp = _between(rng, rng.choice(SBP_GREY) if rng.random() < 0.25 else SBP_NORMAL)
    rr = _between(rng, RR_GREY if rng.random() < 0.15 else RR_NORMAL)
    spo2 = _between(rng, SPO2_GREY if rng.random() < 0.1 else SPO2_NORMAL)
    grey_temp = 0.6 if complaint.name == "fever" else 0.2
    temp10 = _between(rng, TEMP_GREY if rng.random() < grey_temp and not chemo else TEMP_NORMAL)
    return Vitals(hr=hr, sbp=sbp, dbp=_dbp(rng, sbp), rr=rr, temp10=temp10, spo2=spo2)


def _with_vital(rng: random.Random, v: Vitals, level: str, *, chemo: bool = False) -> Vitals:
    """``v`` with one vital sign moved into the critical (emergency) or abnormal (urgent) range.

    A high temperature is not used for the emergency range (it has none) nor for a patient on
    chemotherapy (where any fever is an emergency).
    """
    kinds = ["hr", "sbp", "rr", "spo2"] + ([] if level == EMERGENCY or chemo else ["temp"])
    kind = rng.choice(kinds)
    values = {"hr": v.hr, "sbp": v.sbp, "dbp": v.dbp, "rr": v.rr, "temp10": v.temp10}
    values["spo2"] = v.spo2
    critical = level == EMERGENCY
    if kind == "hr":
        values["hr"] = _between(rng, HR_CRITICAL if critical else HR_ABNORMAL)
    elif kind == "sbp":
        values["sbp"] = _between(rng, SBP_CRITICAL if critical else SBP_ABNORMAL)
        values["dbp"] = _dbp(rng, values["sbp"])
    elif kind == "rr":
        values["rr"] = _between(rng, RR_CRITICAL if critical else RR_ABNORMAL)
    elif kind == "spo2":
        values["spo2"] = _between(rng, SPO2_CRITICAL if critical else SPO2_ABNORMAL)
    else:
        values["temp10"] = _between(rng, TEMP_ABNORMAL)
    return Vitals(**values)


def _duration(rng: random.Random, long: bool) -> str:
    if long:
        if rng.random() < 0.7:
            return f"for {rng.randint(3, 8)} weeks"
        return f"for about {rng.randint(2, 4)} months"
    choice = rng.randrange(5)
    if choice == 0:
        return f"for {rng.randint(2, 12)} hours"
    if choice == 1:
        return f"for {rng.randint(2, 6)} days"
    return ("since this morning", "since last night", "since yesterday")[choice - 2]


def make_case(rng: random.Random, target: str) -> Case:
    """A case whose findings make the rules give ``target``."""
    complaint = rng.choice(complaints())
    male = rng.random() < 0.5
    age = rng.randint(18, 89)
    chemo = rng.random() < (0.12 if target == EMERGENCY else 0.04)
    chemo_trigger = chemo and target == EMERGENCY and rng.random() < 0.7
    urgent_or_worse = target in (EMERGENCY, URGENT)
    long = (target == FAMILY_DOCTOR and rng.random() < 0.45) or (
        urgent_or_worse and rng.random() < 0.1
    )
    case = Case(
        complaint=complaint,
        phrase=rng.choice(complaint.phrases),
        age=age,
        male=male,
        duration=_duration(rng, long),
        long_duration=long,
        vitals=_base_vitals(rng, complaint, chemo=chemo and not chemo_trigger),
        chemo=chemo,
    )

    if target == EMERGENCY:
        if rng.random() < 0.2:  # an abnormal vital sign that the emergency trigger outranks
            case.vitals = _with_vital(rng, case.vitals, URGENT)
        if chemo_trigger:
            v = case.vitals
            case.vitals = Vitals(
                v.hr, v.sbp, v.dbp, v.rr, rng.randint(CHEMO_FEVER, TEMP_GREY[1]), v.spo2
            )
        elif rng.random() < 0.25:
            case.vitals = _with_vital(rng, case.vitals, EMERGENCY)
        else:
            case.red = _pick(rng, complaint.red_flags, 2 if rng.random() < 0.2 else 1)
        if rng.random() < 0.3:
            case.urgent = _pick(rng, complaint.urgent)
    elif target == URGENT:
        can_be_pregnant = not male and age <= 44 and complaint.name == "abdominal pain"
        if can_be_pregnant and rng.random() < 0.4:
            case.pregnant_weeks = rng.randint(6, 30)
        elif rng.random() < 0.3:
            case.vitals = _with_vital(rng, case.vitals, URGENT, chemo=chemo)
        else:
            case.urgent = _pick(rng, complaint.urgent, 2 if rng.random() < 0.15 else 1)
    elif target == FAMILY_DOCTOR and (not long or rng.random() < 0.4):
        case.persistent = _pick(rng, complaint.persistent)

    if target in (EMERGENCY, URGENT) and rng.random() < 0.12:
        case.persistent = _pick(rng, complaint.persistent)
    mild_chance = {EMERGENCY: 0.25, URGENT: 0.35, FAMILY_DOCTOR: 0.4, SELF_CARE: 1.0}[target]
    if rng.random() < mild_chance:
        case.mild = _pick(
            rng, complaint.mild, 2 if target == SELF_CARE and rng.random() < 0.3 else 1
        )

    absent = [flag.negation for flag in complaint.red_flags if flag not in case.red]
    absent = [text for text in absent if text]
    if absent and rng.random() < (0.5 if target == EMERGENCY else 0.85):
        case.negatives = rng.sample(absent, min(len(absent), rng.choice((1, 2))))

    if (
        not male
        and 18 <= age <= 44
        and not case.pregnant_weeks
        and complaint.name in PREGNANCY_ALLOWED
        and (complaint.name != "abdominal pain" or target == EMERGENCY)
        and rng.random() < 0.08
    ):
        case.pregnant_weeks = rng.randint(6, 30)
    if case.persistent and not case.long_duration and rng.random() < 0.7:
        case.long_duration = True  # long-standing findings usually come with a long history
        case.duration = _duration(rng, long=True)
    history = rng.sample(HISTORY, rng.choice((0, 1, 1, 2)))
    case.history = [text for text, _ in history]
    if rng.random() < 0.5:
        case.distractor = rng.choice(DISTRACTORS)
    return case
