"""Synthetic telephone-triage cases: the offline demo data set.

This is a demo set for trying the library end to end without network or private data; it is
**not** a benchmark and says nothing about clinical performance. The cases and rules are simplified
from the style of nurse telephone-triage protocols (e.g. Schmitt-Thompson) and are not medical
advice.

Each case is a short vignette (age, sex, chief complaint and how long it has lasted, findings
reported on the phone, pertinent negatives, home vital signs, history, and a detail that does not
matter), a disposition label and a 1-3 sentence rationale naming the findings that decided it.
The label follows fixed rules, the most urgent rule that fires wins:

1. ``emergency now``: a red-flag finding for the complaint (e.g. chest pain with heavy sweating),
   or a critical vital sign (heart rate >= 130, systolic blood pressure < 90, respiratory rate
   >= 30, SpO2 <= 90 %), or a temperature >= 38.0 °C in a patient on chemotherapy.
2. ``urgent care within 24 h``: a worrying finding without red flags (e.g. pleuritic chest pain), or
   an abnormal vital sign (heart rate 111-129, systolic pressure >= 180, respiratory rate 25-29,
   SpO2 91-93 %, temperature >= 39.0 °C), or abdominal pain in pregnancy.
3. ``see a family doctor``: a persistent or recurrent, non-urgent problem (e.g. a cough since
   starting a new blood pressure tablet), or symptoms lasting 3 weeks or more.
4. ``self-care at home``: otherwise (mild, self-limiting findings).

Values in between (heart rate 101-110, systolic 140-179, temperature 37.8-38.9 °C without
chemotherapy, SpO2 94 %) and most history items are distractors: they do not change the label.
A fraction of the labels (``noise``, 5 % by default) is replaced by another disposition at random;
the rationale is always written for the label that was assigned, naming findings the vignette
really contains. Each example keeps ``complaint`` and ``protocol_label`` (the label the rules give)
in its extra fields. Generation uses only ``random.Random(seed)``: the same seed gives
byte-identical files.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reason2decide.data.example import Example
from reason2decide.data.leakage import mask_examples
from reason2decide.data.readers import write_examples
from reason2decide.errors import R2DError

EMERGENCY = "emergency now"
URGENT = "urgent care within 24 h"
FAMILY_DOCTOR = "see a family doctor"
SELF_CARE = "self-care at home"
#: The four dispositions, most urgent first.
LABELS: tuple[str, ...] = (EMERGENCY, URGENT, FAMILY_DOCTOR, SELF_CARE)

DEFAULT_NOISE = 0.05
SPLIT_FILES = {"train": "train.jsonl", "val": "val.jsonl", "test": "test.jsonl"}


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


# The findings of each chief complaint. A complaint line gives its name and how callers phrase it;
# each finding line gives its level, then "vignette text | rationale term | what it suggests", and
# red flags add "| how the vignette states its absence". Lines starting with "|" continue a finding.
_TABLE = """
chest pain: chest pain; pain in the chest; tightness in the chest
  red: heavy sweating | diaphoresis | an acute coronary syndrome | sweating
  red: pain spreading to the left arm and jaw | radiation to the arm and jaw
       | an acute coronary syndrome | pain spreading to the arm
  red: a crushing pressure for over 15 minutes | crushing pressure lasting over 15 minutes
       | a heart attack | crushing pressure
  red: a brief faint | syncope | a dangerous heart rhythm or a heart attack | fainting
  urgent: pain worse on a deep breath | pain on deep breathing | pleurisy or pneumonia
  urgent: short episodes of pain when climbing stairs this week | new episodes on exertion
          | new angina that needs prompt assessment
  urgent: a cough with green phlegm | a productive cough | a chest infection
  persistent: the same mild pain coming and going for weeks | mild episodes recurring for weeks
              | a chronic problem that needs a routine work-up
  persistent: burning after large meals that keeps coming back | recurrent burning after meals
              | reflux that needs a treatment plan
  mild: soreness over one rib after lifting boxes | chest-wall soreness after lifting
        | a muscle strain
  mild: pain only when pressing on the breastbone | tenderness on pressing the breastbone
        | chest-wall pain

shortness of breath: shortness of breath; breathlessness; trouble breathing
  red: struggling to speak in full sentences | inability to speak in full sentences
       | severe respiratory distress | trouble speaking
  red: blue lips | cyanosis | severe hypoxia | colour change of the lips
  red: sudden onset with a swollen calf | sudden onset and a swollen calf
       | a pulmonary embolism | calf swelling
  urgent: wheeze not settling with the inhaler | wheeze despite the reliever inhaler
          | an asthma flare that needs review today
  urgent: a fever and yellow phlegm | fever and yellow phlegm | pneumonia
  urgent: ankle swelling and waking up breathless at night
          | waking breathless at night and ankle swelling | worsening heart failure
  persistent: slowly getting more breathless on hills over months
              | a gradual decline in exercise tolerance
              | a chronic lung or heart condition to investigate
  persistent: mild breathlessness with a daily morning cough | a daily morning cough
              | possible COPD that needs testing
  mild: breathlessness when anxious that settles with slow breathing
        | settling with slow breathing | anxiety-related breathlessness
  mild: a blocked nose making breathing feel harder | a blocked nose | a common cold

headache: a headache; head pain; a pounding head
  red: a sudden worst-ever headache that peaked within a minute | a thunderclap onset
       | a subarachnoid haemorrhage | sudden onset
  red: a stiff neck and a rash that does not fade | neck stiffness and a non-blanching rash
       | meningitis | stiff neck
  red: new weakness of one arm | new one-sided weakness | a stroke | weakness
  red: new confusion | new confusion | bleeding or infection in the brain | confusion
  urgent: a tender scalp and jaw pain on chewing | scalp tenderness and jaw pain on chewing
          | giant cell arteritis
  urgent: a headache since a minor bump on the head yesterday
          | a minor head bump the day before | a concussion that should be examined
  urgent: vomiting twice with the pain | repeated vomiting
          | a migraine that needs treatment today
  persistent: headaches most mornings for weeks | a pattern of morning headaches
              | a recurring headache that needs review
  persistent: painkillers taken almost daily | near-daily painkiller use
              | medication-overuse headache
  mild: a tight band-like ache after a stressful day | a band-like ache after stress
        | a tension headache
  mild: a headache that eased with paracetamol | relief from paracetamol | a simple headache
  mild: a headache after skipping morning coffee | onset after skipping coffee
        | caffeine withdrawal

abdominal pain: abdominal pain; tummy pain; stomach pain
  red: vomiting blood | haematemesis | gastrointestinal bleeding | blood in the vomit
  red: black tarry stools | melaena | gastrointestinal bleeding | dark stools
  red: a rigid, very tender belly | a rigid abdomen | peritonitis | belly rigidity
  red: severe pain with a faint | a faint | internal bleeding | fainting
  urgent: pain that moved to the lower right side | pain moving to the right lower side
          | possible appendicitis
  urgent: vomiting everything for a day | persistent vomiting | dehydration
  urgent: yellow eyes | jaundice | a gallbladder or liver problem
  persistent: bloating and loose stools on and off for months
              | intermittent bloating and loose stools | irritable bowel syndrome
  persistent: a change in bowel habit over several weeks | a persistent change in bowel habit
              | a bowel problem that needs investigation
  mild: crampy pain after a large meal | cramps after a big meal | indigestion
  mild: mild cramps with one loose stool | mild cramps and a single loose stool
        | a mild stomach upset

fever: a fever; a high temperature; a feverish feeling
  red: a rash that does not fade under a glass | a non-blanching rash | meningococcal disease
       | purple spots
  red: being very drowsy and hard to wake | reduced consciousness | sepsis | drowsiness
  red: shaking chills and mottled skin | rigors and mottled skin | sepsis | skin mottling
  urgent: a painful, red, swollen area on the leg | a painful red swollen leg | cellulitis
  urgent: pain in the side of the back | flank pain | a kidney infection
  urgent: a trip to a malaria area two weeks ago | recent travel to a malaria area
          | malaria, which must be excluded
  persistent: night sweats and weight loss over several weeks | night sweats and weight loss
              | a condition that needs investigation
  persistent: low-grade temperatures that keep returning | recurring low-grade temperatures
              | an unexplained recurring fever
  mild: a runny nose and mild aches | a runny nose and mild aches | a viral illness
  mild: drinking well and passing urine normally | good fluid intake
        | a self-limiting viral infection

cough: a cough; a bad cough; a chesty cough
  red: coughing up large amounts of blood | massive haemoptysis
       | serious bleeding in the lungs | heavy bleeding
  red: gasping for breath at rest | breathlessness at rest | respiratory failure | breathlessness
  red: new confusion | new confusion | severe pneumonia or sepsis | confusion
  urgent: a fever with green phlegm | fever and green phlegm | a chest infection
  urgent: streaks of blood in the phlegm | blood-streaked phlegm
          | a cause that needs examination within a day
  urgent: wheeze that is getting worse | worsening wheeze | an asthma or COPD flare
  persistent: a cough that is worse at night with heartburn
              | night-time worsening and heartburn | a reflux-related cough
  persistent: a dry cough since starting a new blood pressure tablet
              | onset after starting a blood pressure tablet
              | a side effect of the medicine that needs review
  mild: a tickly cough with a runny nose | a tickle and a runny nose | a common cold
  mild: a cough that eases with honey and warm drinks | relief from honey and warm drinks
        | a viral cough

sore throat: a sore throat; a painful throat; throat pain
  red: drooling and unable to swallow saliva | drooling and inability to swallow
       | an abscess or epiglottitis blocking the airway | drooling
  red: noisy, high-pitched breathing | stridor | airway obstruction | noisy breathing
  urgent: a swollen tonsil pushed to one side and a muffled voice
          | one-sided tonsil swelling and a muffled voice | a peritonsillar abscess
  urgent: white patches on the tonsils and tender neck glands
          | white tonsil patches and tender glands | strep throat
  urgent: pain so bad that drinking is hard | difficulty drinking | dehydration
  persistent: a hoarse voice that has not improved | persistent hoarseness
              | a voice-box problem that needs examination
  persistent: sore throats that keep coming back, five this year | five episodes this year
              | recurrent tonsillitis
  mild: a scratchy throat with a runny nose | cold symptoms | a viral sore throat
  mild: pain that eases with lozenges | relief from lozenges | a mild viral infection

back pain: back pain; lower back pain; pain in the back
  red: numbness around the groin and trouble passing urine
       | saddle numbness and urinary retention | cauda equina syndrome
       | numbness around the groin
  red: sudden tearing pain between the shoulder blades | sudden tearing pain
       | an aortic dissection | tearing pain
  red: new weakness in both legs | new weakness of both legs | spinal cord compression
       | leg weakness
  urgent: flank pain with burning on passing urine | flank pain and burning urination
          | a kidney infection
  urgent: pain shooting down one leg with numb toes | sciatica and numb toes
          | a trapped nerve that needs examination
  urgent: pain that began after a fall | onset after a fall | a possible fracture
  persistent: a dull ache in the lower back most days | a persistent dull ache
              | mechanical back pain that needs a plan
  persistent: stiffness every morning that eases with movement
              | morning stiffness that eases with movement | an inflammatory back condition
  mild: pain after gardening that eases when moving about
        | onset after gardening and easing with movement | a simple muscle strain
  mild: walking normally | normal walking | an uncomplicated back strain

rash: a rash; a skin rash; spots on the skin
  red: swelling of the lips and tongue | lip and tongue swelling | anaphylaxis | lip swelling
  red: purple spots that do not fade when pressed | a non-blanching purple rash
       | meningococcal sepsis | purple spots
  red: peeling skin with blisters in the mouth | skin peeling and mouth blisters
       | Stevens-Johnson syndrome | mouth blisters
  urgent: a hot, red, spreading patch on the leg | a spreading hot red patch | cellulitis
  urgent: painful blisters in a band on one side of the chest
          | a painful one-sided band of blisters | shingles, best treated early
  persistent: itchy dry patches in the elbow creases that keep coming back
              | recurrent itchy dry patches | eczema that needs a treatment plan
  persistent: a mole that has changed shape | a mole that has changed shape
              | a skin lesion that needs checking
  mild: a few itchy bumps after gardening | a few itchy bumps after gardening
        | insect bites or contact irritation
  mild: a mild red rash after a new soap | onset after a new soap | irritant dermatitis

dizziness: dizziness; dizzy spells; light-headedness
  red: slurred speech since an hour ago | slurred speech | a stroke | speech problems
  red: a drooping face on one side | facial droop | a stroke | face drooping
  red: fainting with chest pain | a faint and chest pain | a cardiac cause | fainting
  urgent: dizziness since starting a new blood pressure tablet
          | onset after starting a blood pressure tablet | low blood pressure from the medicine
  urgent: vomiting and unable to keep fluids down | vomiting and poor fluid intake
          | dehydration
  urgent: spells of a fluttering heartbeat | palpitations | an arrhythmia that needs an ECG
  persistent: brief spinning when turning over in bed | brief positional spinning
              | benign positional vertigo
  persistent: light-headed spells on standing several times a week
              | recurrent light-headedness on standing | postural low blood pressure
  mild: light-headedness after skipping lunch | onset after a missed meal
        | low blood sugar or fluids
  mild: mild spinning with a cold | mild spinning and a cold | a viral inner-ear upset

urinary symptoms: burning when passing urine; urinary symptoms; pain on passing urine
  red: no urine passed for 12 hours and a painful swollen bladder | acute urinary retention
       | urinary retention | problems emptying the bladder
  red: shaking chills and confusion | rigors and confusion | urosepsis | chills
  urgent: pain in the side of the back | flank pain | a kidney infection
  urgent: visible blood in the urine | visible blood in the urine
          | a cause that needs prompt testing
  urgent: no improvement after 2 days of antibiotics | no improvement on antibiotics
          | a resistant infection
  persistent: getting up to pass urine several times a night | frequent urination at night
              | a prostate or bladder issue to review
  persistent: leaking urine when coughing | leaking on coughing | pelvic floor weakness
  mild: mild stinging that improves with drinking more water
        | mild stinging that eases with fluids | irritation from concentrated urine
  mild: more frequent urination after lots of coffee | frequency after extra coffee
        | a caffeine effect

ear pain: ear pain; earache; a painful ear
  red: a red, tender swelling behind the ear pushing it forward
       | swelling behind the ear pushing it forward | mastoiditis | swelling behind the ear
  red: a stiff neck and confusion | neck stiffness and confusion | meningitis | stiff neck
  urgent: pus draining from the ear | ear discharge | an infection or a perforated drum
  urgent: sudden hearing loss in that ear | sudden one-sided hearing loss
          | sudden hearing loss that needs prompt treatment
  urgent: severe pain not helped by painkillers | severe pain despite painkillers
          | an ear infection that needs examination
  persistent: ringing in one ear most days | persistent one-sided ringing
              | a hearing problem to investigate
  persistent: a blocked feeling with muffled hearing that has not cleared
              | a persistent blocked ear | wax or fluid that needs checking
  mild: a mild earache with a cold | a cold | a viral earache
  mild: ear pressure since a flight yesterday | onset after a flight
        | barotrauma that settles on its own

diarrhoea and vomiting: diarrhoea and vomiting; diarrhoea; a stomach bug
  red: passing large amounts of blood from the bottom | heavy rectal bleeding
       | serious bleeding | heavy bleeding
  red: no urine for 12 hours and being very drowsy | anuria and drowsiness
       | severe dehydration | drowsiness
  urgent: unable to keep fluids down for a day | inability to keep fluids down | dehydration
  urgent: some blood mixed with the diarrhoea | bloody diarrhoea
          | an infection that needs a stool test
  urgent: a dry mouth and passing little urine | signs of dehydration | moderate dehydration
  persistent: loose stools coming and going for weeks | recurrent loose stools
              | a bowel condition to investigate
  persistent: some weight loss with the loose stools | weight loss
              | a condition that needs investigation
  mild: a few loose stools but drinking well | good fluid intake | viral gastroenteritis
  mild: vomiting once and keeping fluids down since | a single vomit and fluids kept down
        | a mild stomach bug
"""

_LEVELS = {"red": "red_flags", "urgent": "urgent", "persistent": "persistent", "mild": "mild"}


def _parse_table(table: str) -> tuple[Complaint, ...]:
    """The complaints described by :data:`_TABLE`."""
    specs: list[tuple[str, list[str], dict[str, list[str]]]] = []
    for raw in table.splitlines():
        line = raw.strip()
        if not line:
            continue
        if not raw.startswith(" "):
            name, phrases = line.split(":", 1)
            specs.append((name, [p.strip() for p in phrases.split(";")], {}))
        elif line.startswith("|"):
            level_specs = specs[-1][2]
            last_level = list(level_specs)[-1]
            level_specs[last_level][-1] += " " + line
        else:
            level, finding = line.split(":", 1)
            specs[-1][2].setdefault(_LEVELS[level], []).append(finding)
    complaints = []
    for name, phrases, levels in specs:
        findings = {
            attr: tuple(Finding(*(part.strip() for part in spec.split("|"))) for spec in specs_)
            for attr, specs_ in levels.items()
        }
        complaints.append(Complaint(name=name, phrases=tuple(phrases), **findings))
    return tuple(complaints)


#: The chief complaints and their findings; the rules above decide the label from them.
COMPLAINTS: tuple[Complaint, ...] = _parse_table(_TABLE)

# History items: (vignette text, relevant to cardiac/respiratory complaints). None changes a label.
_HISTORY: tuple[tuple[str, bool], ...] = (
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
_CARDIORESPIRATORY = {"chest pain", "shortness of breath", "dizziness", "cough"}
_CHEMO = "chemotherapy for breast cancer, last cycle 9 days ago"
_CHEMO_MALE = "chemotherapy for lymphoma, last cycle 9 days ago"
_PREGNANCY_ALLOWED = {"abdominal pain", "sore throat", "ear pain", "cough"}
_DISTRACTORS = (
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
#: Vignettes shorter than this get more distractor sentences.
_MIN_WORDS = 45

# Vital-sign bands.
_HR_NORMAL, _HR_GREY, _HR_ABNORMAL, _HR_CRITICAL = (56, 100), (101, 110), (111, 129), (130, 165)
_SBP_NORMAL, _SBP_ABNORMAL, _SBP_CRITICAL = (102, 139), (180, 205), (70, 89)
_SBP_GREY = ((90, 101), (140, 179))
_RR_NORMAL, _RR_GREY, _RR_ABNORMAL, _RR_CRITICAL = (12, 20), (21, 24), (25, 29), (30, 40)
_SPO2_NORMAL, _SPO2_GREY, _SPO2_ABNORMAL, _SPO2_CRITICAL = (95, 100), (94, 94), (91, 93), (80, 90)
_TEMP_NORMAL, _TEMP_GREY, _TEMP_ABNORMAL = (362, 377), (378, 389), (390, 402)  # tenths of °C
_CHEMO_FEVER = 380


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
    if v.hr >= _HR_CRITICAL[0]:
        found.append((f"a heart rate of {v.hr}", "shock or a dangerous rhythm"))
    if v.sbp < _SBP_GREY[0][0]:
        found.append((f"a blood pressure of {v.sbp}/{v.dbp}", "shock"))
    if v.rr >= _RR_CRITICAL[0]:
        found.append((f"a respiratory rate of {v.rr}", "severe respiratory distress"))
    if v.spo2 <= _SPO2_CRITICAL[1]:
        found.append((f"an oxygen saturation of {v.spo2}%", "dangerously low oxygen"))
    return found


def abnormal_vitals(v: Vitals) -> list[tuple[str, str]]:
    """(rationale wording, concern) for each vital sign in the urgent (not critical) range."""
    found = []
    if _HR_ABNORMAL[0] <= v.hr <= _HR_ABNORMAL[1]:
        found.append((f"a heart rate of {v.hr}", "a fast heart rate"))
    if v.sbp >= _SBP_ABNORMAL[0]:
        found.append((f"a blood pressure of {v.sbp}/{v.dbp}", "severely raised blood pressure"))
    if _RR_ABNORMAL[0] <= v.rr <= _RR_ABNORMAL[1]:
        found.append((f"a respiratory rate of {v.rr}", "fast breathing"))
    if _SPO2_ABNORMAL[0] <= v.spo2 <= _SPO2_ABNORMAL[1]:
        found.append((f"an oxygen saturation of {v.spo2}%", "low oxygen saturation"))
    if v.temp10 >= _TEMP_ABNORMAL[0]:
        found.append((f"a temperature of {v.temp} °C", "a high fever"))
    return found


@dataclass
class _Case:
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
        return self.chemo and self.vitals.temp10 >= _CHEMO_FEVER

    @property
    def pregnant_abdominal_pain(self) -> bool:
        return self.pregnant_weeks > 0 and self.complaint.name == "abdominal pain"


def protocol_label(case: _Case) -> str:
    """The disposition the rules give for a case (before label noise)."""
    if case.red or critical_vitals(case.vitals) or case.chemo_fever:
        return EMERGENCY
    if case.urgent or abnormal_vitals(case.vitals) or case.pregnant_abdominal_pain:
        return URGENT
    if case.persistent or case.long_duration:
        return FAMILY_DOCTOR
    return SELF_CARE


def describe() -> str:
    """The rules of the demo set, as text (the module's documentation)."""
    return __doc__ or ""


# --- generation -------------------------------------------------------------------------------


def generate(n: int, seed: int, *, noise: float = DEFAULT_NOISE) -> list[Example]:
    """``n`` synthetic triage cases, the same for the same ``seed`` and ``noise``.

    Target dispositions are drawn uniformly, so classes are balanced up to sampling error and
    label noise. Ids are ``triage-000000`` onwards.
    """
    if n < 1:
        raise R2DError(f"n must be at least 1, got {n}", field="n")
    if not 0.0 <= noise <= 1.0:
        raise R2DError(f"noise must be between 0 and 1, got {noise}", field="noise")
    rng = random.Random(seed)
    width = max(6, len(str(n - 1)))
    examples = []
    for index in range(n):
        target = rng.choice(LABELS)
        case = _make_case(rng, target)
        rule = protocol_label(case)
        if rule != target:  # the builders guarantee this; a failure is a bug here, not user input
            raise AssertionError(f"case built for {target!r} follows the rules to {rule!r}")
        label = rule
        if rng.random() < noise:
            label = rng.choice([other for other in LABELS if other != rule])
        examples.append(
            Example(
                id=f"triage-{index:0{width}d}",
                question=_vignette(case, rng),
                label=label,
                rationale=_rationale(case, label, rng),
                extra={"complaint": case.complaint.name, "protocol_label": rule},
            )
        )
    return examples


def split_sizes(n: int, val_fraction: float, test_fraction: float) -> dict[str, int]:
    """How many of ``n`` cases go to train/val/test; raises if a split would be empty."""
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 < value < 1.0:
            raise R2DError(f"{name} must be between 0 and 1 (exclusive), got {value}", field=name)
    if val_fraction + test_fraction >= 1.0:
        raise R2DError(
            f"val_fraction + test_fraction must be below 1, got {val_fraction + test_fraction}",
            field="val_fraction",
        )
    n_val = round(n * val_fraction)
    n_test = round(n * test_fraction)
    sizes = {"train": n - n_val - n_test, "val": n_val, "test": n_test}
    if min(sizes.values()) < 1:
        smallest = next(
            m
            for m in range(1, 10**7)
            if round(m * val_fraction) >= 1
            and round(m * test_fraction) >= 1
            and m - round(m * val_fraction) - round(m * test_fraction) >= 1
        )
        empty = [name for name, size in sizes.items() if size < 1]
        raise R2DError(
            f"n={n} leaves the {_join(empty)} split{'s' if len(empty) > 1 else ''} empty",
            field="n",
            hint=f"use n >= {smallest} with these fractions",
        )
    return sizes


def write_splits(
    out_dir: str | os.PathLike[str],
    n: int,
    seed: int,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    *,
    noise: float = DEFAULT_NOISE,
    mask_label_in_rationale: bool = False,
) -> dict[str, int]:
    """Generate ``n`` cases and write ``train.jsonl``, ``val.jsonl``, ``test.jsonl`` atomically.

    Returns the number of cases in each split. Cases are independent draws, so the splits are
    consecutive blocks of ids. ``mask_label_in_rationale`` replaces each rationale's own label
    by ``[LABEL]`` (as ``r2d data prepare --mask-label-in-rationale`` does).
    """
    sizes = split_sizes(n, val_fraction, test_fraction)
    examples = generate(n, seed, noise=noise)
    if mask_label_in_rationale:
        examples = mask_examples(examples)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise R2DError("the output path exists and is not a directory", path=out)
    start = 0
    for split, size in sizes.items():
        write_examples(out / SPLIT_FILES[split], examples[start : start + size])
        start += size
    return sizes


def _pick(rng: random.Random, items: Sequence[Finding], k: int = 1) -> list[Finding]:
    return rng.sample(list(items), min(k, len(items)))


def _between(rng: random.Random, band: tuple[int, int]) -> int:
    return rng.randint(band[0], band[1])


def _dbp(rng: random.Random, sbp: int) -> int:
    return max(40, round(sbp * 0.62) + rng.randint(-6, 8))


def _base_vitals(rng: random.Random, complaint: Complaint, chemo: bool) -> Vitals:
    """Vital signs in the normal or grey (distractor) range."""
    hr = _between(rng, _HR_GREY if rng.random() < 0.2 else _HR_NORMAL)
    sbp = _between(rng, rng.choice(_SBP_GREY) if rng.random() < 0.25 else _SBP_NORMAL)
    rr = _between(rng, _RR_GREY if rng.random() < 0.15 else _RR_NORMAL)
    spo2 = _between(rng, _SPO2_GREY if rng.random() < 0.1 else _SPO2_NORMAL)
    grey_temp = 0.6 if complaint.name == "fever" else 0.2
    temp10 = _between(rng, _TEMP_GREY if rng.random() < grey_temp and not chemo else _TEMP_NORMAL)
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
        values["hr"] = _between(rng, _HR_CRITICAL if critical else _HR_ABNORMAL)
    elif kind == "sbp":
        values["sbp"] = _between(rng, _SBP_CRITICAL if critical else _SBP_ABNORMAL)
        values["dbp"] = _dbp(rng, values["sbp"])
    elif kind == "rr":
        values["rr"] = _between(rng, _RR_CRITICAL if critical else _RR_ABNORMAL)
    elif kind == "spo2":
        values["spo2"] = _between(rng, _SPO2_CRITICAL if critical else _SPO2_ABNORMAL)
    else:
        values["temp10"] = _between(rng, _TEMP_ABNORMAL)
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


def _make_case(rng: random.Random, target: str) -> _Case:
    """A case whose findings make the rules give ``target``."""
    complaint = rng.choice(COMPLAINTS)
    male = rng.random() < 0.5
    age = rng.randint(18, 89)
    chemo = rng.random() < (0.12 if target == EMERGENCY else 0.04)
    chemo_trigger = chemo and target == EMERGENCY and rng.random() < 0.7
    urgent_or_worse = target in (EMERGENCY, URGENT)
    long = (target == FAMILY_DOCTOR and rng.random() < 0.45) or (
        urgent_or_worse and rng.random() < 0.1
    )
    case = _Case(
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
                v.hr, v.sbp, v.dbp, v.rr, rng.randint(_CHEMO_FEVER, _TEMP_GREY[1]), v.spo2
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
        and complaint.name in _PREGNANCY_ALLOWED
        and (complaint.name != "abdominal pain" or target == EMERGENCY)
        and rng.random() < 0.08
    ):
        case.pregnant_weeks = rng.randint(6, 30)
    if case.persistent and not case.long_duration and rng.random() < 0.7:
        case.long_duration = True  # long-standing findings usually come with a long history
        case.duration = _duration(rng, long=True)
    history = rng.sample(_HISTORY, rng.choice((0, 1, 1, 2)))
    case.history = [text for text, _ in history]
    if rng.random() < 0.5:
        case.distractor = rng.choice(_DISTRACTORS)
    return case


# --- wording ----------------------------------------------------------------------------------


def _join(items: Sequence[str], conj: str = "and") -> str:
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


def _vignette(case: _Case, rng: random.Random) -> str:
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
                    f"No {_join(negatives, 'or')}.",
                    f"Denies {_join(negatives)}.",
                    f"{he} has no {_join(negatives, 'or')}.",
                )
            )
        )
    parts.append(_vitals_text(case.vitals, rng))
    history = list(case.history)
    if case.chemo:
        history.append(_CHEMO_MALE if case.male else _CHEMO)
    if history:
        parts.append(rng.choice(("History: ", "Past history of ", "Known ")) + _join(history) + ".")
    else:
        parts.append("No significant medical history.")
    if case.pregnant_weeks:
        parts.append(f"{he} is {case.pregnant_weeks} weeks pregnant.")
    extras = rng.sample(_DISTRACTORS, 3)
    if case.distractor:
        parts.append(extras.pop())
    while extras and len(" ".join(parts).split()) < _MIN_WORDS:
        parts.append(extras.pop())
    return " ".join(parts)


def _decisive(case: _Case, level: str) -> list[str]:
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


def _no_flags(case: _Case) -> str:
    if case.negatives:
        return f"no red flags such as {_join(case.negatives, 'or')}"
    return "no red flags"


def _rationale(case: _Case, label: str, rng: random.Random) -> str:
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
    terms = _join([f.term for f in case.mild])
    concern = case.mild[0].concern
    return rng.choice(
        (
            f"{name} with {terms}, {no_flags} and no abnormal vital signs is most likely "
            f"{concern}; self-care at home is appropriate.",
            f"This sounds like {concern}: {case.complaint.name} with {terms}, {no_flags} and no "
            "abnormal vital signs. Self-care at home, calling back if it gets worse.",
        )
    )


def _context(case: _Case) -> str:
    """``a 67-year-old``, plus one history item that matters to the complaint, if any."""
    relevant = dict(_HISTORY)
    if case.complaint.name in _CARDIORESPIRATORY:
        for item in case.history:
            if relevant.get(item):
                return f"{_article(case.age)} {case.age}-year-old with {item}"
    return f"{_article(case.age)} {case.age}-year-old"


def _emergency_rationale(case: _Case, rng: random.Random) -> str:
    name = case.complaint.name
    if case.red:
        terms = _join([f.term for f in case.red])
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


def _urgent_rationale(case: _Case, rng: random.Random) -> str:
    name, no_flags = case.complaint.name, _no_flags(case)
    if case.urgent:
        terms = _join([f.term for f in case.urgent])
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


def _noisy_rationale(case: _Case, label: str, rule: str) -> str:
    """A rationale for a label the rules would not give: it names real findings, claims none."""
    cited = _decisive(case, rule)[:2] or [f"symptoms {case.duration}"]
    what = f"{_cap(case.complaint.name)} with {_join(cited)}"
    if label == EMERGENCY:
        return f"{what}; to be on the safe side, this caller needs emergency care now."
    if label == URGENT:
        return f"{what} should be assessed in person within a day: urgent care within 24 h."
    if label == FAMILY_DOCTOR:
        return f"{what} can wait for a routine appointment: see a family doctor."
    return f"{what} can be managed with self-care at home, calling back if it gets worse."
