"""The words of a triage case: its vignette (the model input) and its rationale.

A rationale justifies the label it is given by findings the vignette really contains; for a label
the rules would not give (label noise) it names real findings and claims none.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from reason2decide.data.sources.synth_triage.cases import (
    CARDIORESPIRATORY,
    CHEMO,
    CHEMO_MALE,
    DISTRACTORS,
    HISTORY,
)
from reason2decide.data.sources.synth_triage.protocol import (
    EMERGENCY,
    FAMILY_DOCTOR,
    URGENT,
    Case,
    Vitals,
    abnormal_vitals,
    critical_vitals,
    protocol_label,
)

#: Vignettes shorter than this get more distractor sentences.
MIN_WORDS = 45


def listing(items: Sequence[str], conj: str = "and") -> str:
    """``"a, b and c"`` (with ``conj`` before the last item)."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conj} {items[-1]}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _article(age: int) -> str:
    """``"an"`` before ages read with a leading vowel sound (8, 11, 18, 80-89), else ``"a"``."""
    return "an" if str(age).startswith("8") or age in (11, 18) else "a"


def _vitals_text(v: Vitals, rng: random.Random) -> str:
    style = rng.randrange(3)
    if style == 0:
        body = f"HR {v.hr}, BP {v.sbp}/{v.dbp}, RR {v.rr}, T {v.temp} °C, SpO2 {v.spo2}%"
    elif style == 1:
        body = (
            f"heart rate {v.hr}, blood pressure {v.sbp}/{v.dbp}, respiratory rate {v.rr}, "
            f"temperature {v.temp} °C, oxygen saturation {v.spo2}%"
        )
    else:
        body = (
            f"pulse {v.hr}/min, BP {v.sbp}/{v.dbp} mmHg, breathing {v.rr}/min, "
            f"temp {v.temp} °C, sats {v.spo2}%"
        )
    lead = rng.choice(("Home readings: ", "Vitals: ", "Readings from a home monitor: "))
    return f"{lead}{body}."


def vignette(case: Case, rng: random.Random) -> str:
    """The case as a short telephone-triage note (roughly 45-90 words)."""
    sex = "man" if case.male else "woman"
    he = "He" if case.male else "She"
    c, d, age = case.phrase, case.duration, case.age
    a = _article(age)
    parts = [
        rng.choice(
            (
                f"{_cap(a)} {age}-year-old {sex} calls about {c} {d}.",
                f"{age}-year-old {sex} phoning the nurse line with {c} {d}.",
                f"Caller: {sex} aged {age}, {c} {d}.",
                f"Nurse line call from {a} {age}-year-old {sex} with {c} {d}.",
            )
        )
    ]
    findings = [f.text for f in case.red + case.urgent + case.persistent + case.mild]
    rng.shuffle(findings)
    if findings:
        lead = rng.choice(("Reports ", f"{he} describes ", "On questioning: ", "Also mentions "))
        parts.append(f"{lead}{'; '.join(findings)}.")
    if case.negatives:
        negatives = case.negatives
        parts.append(
            rng.choice(
                (
                    f"No {listing(negatives, 'or')}.",
                    f"Denies {listing(negatives)}.",
                    f"{he} has no {listing(negatives, 'or')}.",
                )
            )
        )
    parts.append(_vitals_text(case.vitals, rng))
    history = list(case.history)
    if case.chemo:
        history.append(CHEMO_MALE if case.male else CHEMO)
    if history:
        parts.append(
            rng.choice(("History: ", "Past history of ", "Known ")) + listing(history) + "."
        )
    else:
        parts.append("No significant medical history.")
    if case.pregnant_weeks:
        parts.append(f"{he} is {case.pregnant_weeks} weeks pregnant.")
    extras = rng.sample(DISTRACTORS, 3)
    if case.distractor:
        parts.append(extras.pop())
    while extras and len(" ".join(parts).split()) < MIN_WORDS:
        parts.append(extras.pop())
    return " ".join(parts)


def _decisive(case: Case, level: str) -> list[str]:
    """How a rationale names the findings that put the case at ``level``."""
    v = case.vitals
    if level == EMERGENCY:
        terms = [f.term for f in case.red] + [desc for desc, _ in critical_vitals(v)]
        if case.chemo_fever:
            terms.append(f"a temperature of {v.temp} °C during chemotherapy")
        return terms
    if level == URGENT:
        terms = [f.term for f in case.urgent] + [desc for desc, _ in abnormal_vitals(v)]
        if case.pregnant_abdominal_pain:
            terms.append(f"a pregnancy of {case.pregnant_weeks} weeks")
        return terms
    if level == FAMILY_DOCTOR:
        terms = [f.term for f in case.persistent]
        if case.long_duration:
            terms.append(f"symptoms {case.duration}")
        return terms
    return [f.term for f in case.mild]


def _no_flags(case: Case) -> str:
    if case.negatives:
        return f"no red flags such as {listing(case.negatives, 'or')}"
    return "no red flags"


def rationale(case: Case, label: str, rng: random.Random) -> str:
    """1-3 sentences that justify ``label`` by findings the vignette contains."""
    rule = protocol_label(case)
    if label != rule:
        return _noisy_rationale(case, label, rule)
    if label == EMERGENCY:
        return _emergency_rationale(case, rng)
    if label == URGENT:
        return _urgent_rationale(case, rng)
    name, no_flags = _cap(case.complaint.name), _no_flags(case)
    if label == FAMILY_DOCTOR:
        if case.persistent and (not case.long_duration or rng.random() < 0.6):
            f = case.persistent[0]
            return rng.choice(
                (
                    f"{name} with {f.term} may mean {f.concern}. With {no_flags} and no abnormal "
                    "vital signs it is not urgent: see a family doctor.",
                    f"{name} with {f.term}: possibly {f.concern}, which needs a routine review "
                    f"rather than urgent care; there are {no_flags}, so see a family doctor.",
                )
            )
        return (
            f"{name} {case.duration} without red flags or abnormal vital signs needs a routine "
            "review rather than urgent care: see a family doctor."
        )
    terms = listing([f.term for f in case.mild])
    concern = case.mild[0].concern
    return rng.choice(
        (
            f"{name} with {terms}, {no_flags} and no abnormal vital signs is most likely "
            f"{concern}; self-care at home is appropriate.",
            f"This sounds like {concern}: {case.complaint.name} with {terms}, {no_flags} and no "
            "abnormal vital signs. Self-care at home, calling back if it gets worse.",
        )
    )


def _context(case: Case) -> str:
    """``a 67-year-old``, plus one history item that matters to the complaint, if any."""
    relevant = dict(HISTORY)
    if case.complaint.name in CARDIORESPIRATORY:
        for item in case.history:
            if relevant.get(item):
                return f"{_article(case.age)} {case.age}-year-old with {item}"
    return f"{_article(case.age)} {case.age}-year-old"


def _emergency_rationale(case: Case, rng: random.Random) -> str:
    name = case.complaint.name
    if case.red:
        terms = listing([f.term for f in case.red])
        concern = case.red[0].concern
        return rng.choice(
            (
                f"{_cap(name)} with {terms} in {_context(case)} may mean {concern}; this needs "
                "emergency care now.",
                f"{_cap(name)} with {terms}: a red flag for {concern}. Emergency care now.",
                f"In {_context(case)}, {name} with {terms} may mean {concern}, so this is an "
                "emergency now.",
            )
        )
    critical = critical_vitals(case.vitals)
    if critical:
        desc, concern = critical[0]
        return rng.choice(
            (
                f"{_cap(name)} with {desc} may mean {concern}; this needs emergency care now.",
                f"{_cap(desc)} is a red flag for {concern} in a caller with {name}: emergency "
                "care now.",
            )
        )
    return (
        f"In a caller with {name}, a temperature of {case.vitals.temp} °C during chemotherapy "
        "may mean neutropenic sepsis; this needs emergency care now."
    )


def _urgent_rationale(case: Case, rng: random.Random) -> str:
    name, no_flags = case.complaint.name, _no_flags(case)
    if case.urgent:
        terms = listing([f.term for f in case.urgent])
        concern = case.urgent[0].concern
        return rng.choice(
            (
                f"{_cap(name)} with {terms} may mean {concern}. There are {no_flags}, so it is "
                "not an emergency but needs urgent care within 24 h.",
                f"{_cap(name)} with {terms}: possibly {concern}, which needs a clinician within "
                f"a day; with {no_flags}, urgent care within 24 h.",
            )
        )
    abnormal = abnormal_vitals(case.vitals)
    if abnormal:
        desc, concern = abnormal[0]
        return (
            f"{_cap(name)} with {desc} ({concern}) needs assessment within a day; as there are "
            f"{no_flags}, urgent care within 24 h."
        )
    return (
        f"{_cap(name)} at {case.pregnant_weeks} weeks of pregnancy needs assessment within a day "
        f"to rule out a pregnancy complication; with {no_flags}, urgent care within 24 h."
    )


def _noisy_rationale(case: Case, label: str, rule: str) -> str:
    """A rationale for a label the rules would not give: it names real findings, claims none."""
    cited = _decisive(case, rule)[:2] or [f"symptoms {case.duration}"]
    what = f"{_cap(case.complaint.name)} with {listing(cited)}"
    if label == EMERGENCY:
        return f"{what}; to be on the safe side, this caller needs emergency care now."
    if label == URGENT:
        return f"{what} should be assessed in person within a day: urgent care within 24 h."
    if label == FAMILY_DOCTOR:
        return f"{what} can wait for a routine appointment: see a family doctor."
    return f"{what} can be managed with self-care at home, calling back if it gets worse."
