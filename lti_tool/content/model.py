"""The shape of a content pack once loaded and validated: plain frozen dataclasses."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

ActivityType = Literal["page", "quiz", "reflection", "matching", "action_plan"]
EXERCISE_TYPES: tuple[str, ...] = ("quiz", "reflection", "matching", "action_plan")
ClaimStatus = Literal["in_force", "adopted", "proposed", "repealed", "unverified"]
CLAIM_STATUSES: tuple[str, ...] = ("in_force", "adopted", "proposed", "repealed", "unverified")
LevelName = Literal["full", "partial", "missing"]
LEVEL_NAMES: tuple[LevelName, ...] = ("full", "partial", "missing")


@dataclass(frozen=True)
class Option:
    """One answer to a quiz question, whether it is right, and the feedback shown once it is chosen."""

    id: str
    text: str
    correct: bool
    feedback: str


@dataclass(frozen=True)
class Question:
    """A quiz question: single or multiple choice, with its options."""

    id: str
    kind: Literal["single", "multiple"]
    prompt: str
    options: tuple[Option, ...]

    @property
    def correct_ids(self) -> frozenset[str]:
        """The ids of the options a full-marks answer picks."""
        return frozenset(o.id for o in self.options if o.correct)


@dataclass(frozen=True)
class RubricLevel:
    """One of a criterion's three levels: its points and a one-line anchor the instructor grades by."""

    level: LevelName
    points: float
    anchor: str


@dataclass(frozen=True)
class Criterion:
    """One rubric criterion of a reflection, worth `points`, optionally graded by level."""

    id: str
    criterion: str
    description: str
    points: float
    # full, partial, missing in that order; empty when the pack gives only the full-marks description
    levels: tuple[RubricLevel, ...] = ()


@dataclass(frozen=True)
class InstructorNote:
    """What the instructor grading a case reads beside the rubric; never shown to learners."""

    model_answer_html: str
    common_mistakes: tuple[str, ...]


@dataclass(frozen=True)
class CaseVariant:
    """One role's version of a case reflection: the case, its questions, rubric and note as that
    role meets them. The learner picks a role before writing; the answer keeps the variant's id."""

    id: str
    role: str  # who the learner is in this version, e.g. "Lærer"
    case_html: str
    guiding_questions: tuple[str, ...]
    rubric: tuple[Criterion, ...]
    instructor_note: InstructorNote | None


@dataclass(frozen=True)
class Pair:
    """One matching-exercise pair: the item shown and the match the learner must pick for it."""

    id: str
    item: str
    match: str
    feedback: str


@dataclass(frozen=True)
class Prompt:
    """One field of an action plan: its label and a hint on what to write."""

    id: str
    label: str
    hint: str  # HTML: the pack's inline Markdown, so a hint can link a template in media/


@dataclass(frozen=True)
class RuleClaim:
    """One rule a module states, with its status on the day it was checked (rules.yaml).

    `date` is when the rule took or takes effect (in force since, adopted from, expected from,
    repealed since) or, when unverified, the date the text gives."""

    id: str
    claim: str
    status: ClaimStatus
    date: datetime.date
    source: str
    checked: datetime.date

    @property
    def expects_change(self) -> bool:
        """Adopted or proposed: the rule is not in force yet, so its date must be watched."""
        return self.status in ("adopted", "proposed")


@dataclass(frozen=True)
class Activity:
    """One step of a module: a page to read or an exercise; the fields used depend on `type`."""

    id: str
    type: ActivityType
    title: str
    required: bool
    intro_html: str = ""
    # page
    body_html: str = ""
    # quiz and matching
    pass_mark: float = 0.0
    max_attempts: int | None = None
    questions: tuple[Question, ...] = ()
    pairs: tuple[Pair, ...] = ()
    # reflection
    case_html: str = ""
    guiding_questions: tuple[str, ...] = ()
    rubric: tuple[Criterion, ...] = ()
    min_words: int = 0
    instructor_note: InstructorNote | None = None
    # the roles a learner may choose between (each a version of the case); empty: one case for all
    variants: tuple[CaseVariant, ...] = ()
    # action plan
    prompts: tuple[Prompt, ...] = ()
    min_filled: int = 1
    # weight of the exercise in the module score; None: its natural points
    weight: float | None = None

    def variant(self, variant_id: object) -> CaseVariant | None:
        """The variant with this id, or None (no variants, no choice made, or an id since removed)."""
        return next((v for v in self.variants if v.id == variant_id), None)

    def case_for(self, variant_id: object) -> CaseVariant:
        """What a learner who chose `variant_id` answers: that variant, else the case as written at the
        top of the file (answers given before the case had variants are graded against it)."""
        return self.variant(variant_id) or CaseVariant(
            id="", role="", case_html=self.case_html, guiding_questions=self.guiding_questions,
            rubric=self.rubric, instructor_note=self.instructor_note)

    @property
    def is_exercise(self) -> bool:
        """True for everything a learner answers, i.e. all but pages."""
        return self.type != "page"

    @property
    def natural_points(self) -> float:
        """Points before weighting: one per question or pair, the rubric's sum for a reflection."""
        if self.type == "quiz":
            return float(len(self.questions))
        if self.type == "matching":
            return float(len(self.pairs))
        if self.type == "reflection":
            return float(sum(c.points for c in self.rubric))
        return 0.0

    # Performance: content is immutable, and the progress rules read these hundreds of times per
    # page; cached_property stores the value in the instance dict (frozen dataclasses allow it).
    @cached_property
    def points(self) -> float:
        """The exercise's share of the module score."""
        if self.natural_points == 0:
            return 0.0
        return float(self.weight) if self.weight is not None else self.natural_points

    @property
    def is_scored(self) -> bool:
        """True when the exercise counts towards the module score."""
        return self.points > 0


@dataclass(frozen=True)
class Module:
    """One module of a programme, its activities in order; elective unless `mandatory`."""

    id: str
    programme_id: str
    language: str
    title: str
    summary: str
    estimated_minutes: int
    goals: tuple[str, ...]
    activities: tuple[Activity, ...]
    folder: str
    mandatory: bool = True
    rules: tuple[RuleClaim, ...] = ()

    def activity(self, activity_id: str) -> Activity | None:
        """The activity with this id, or None."""
        return next((a for a in self.activities if a.id == activity_id), None)

    @cached_property  # see Activity.points
    def max_points(self) -> float:
        """The module's highest possible score: the sum of its activities' points."""
        return sum(a.points for a in self.activities)


@dataclass(frozen=True)
class Programme:
    """A programme: its modules, titles per locale, and how many electives a learner must take."""

    id: str
    language: str
    title: dict[str, str]
    summary: dict[str, str]
    modules: tuple[Module, ...]
    electives_required: int
    folder: str

    def title_in(self, locale: str) -> str:
        """The title in `locale`, else in the programme's own language, else any title it has."""
        return self.title.get(locale) or self.title.get(self.language) or next(iter(self.title.values()))

    def summary_in(self, locale: str) -> str:
        """The summary in `locale`, else in the programme's own language, else empty."""
        return self.summary.get(locale) or self.summary.get(self.language) or ""

    def module(self, module_id: str) -> Module | None:
        """The module with this id, or None."""
        return next((m for m in self.modules if m.id == module_id), None)

    @property
    def mandatory(self) -> tuple[Module, ...]:
        """The modules every learner must take, in order."""
        return tuple(m for m in self.modules if m.mandatory)

    @property
    def electives(self) -> tuple[Module, ...]:
        """The modules a learner chooses from, in order."""
        return tuple(m for m in self.modules if not m.mandatory)

    @property
    def rules(self) -> tuple[RuleClaim, ...]:
        """Every module's claims in module order; a claim two modules share (same id) once."""
        return rules_of(self.modules)


def rules_of(modules: tuple[Module, ...]) -> tuple[RuleClaim, ...]:
    """The claims of `modules` in order, the first of each id only (modules repeat shared rules)."""
    seen: set[str] = set()
    found = []
    for module in modules:
        for rule in module.rules:
            if rule.id not in seen:
                seen.add(rule.id)
                found.append(rule)
    return tuple(found)


@dataclass(frozen=True)
class ContentProblem:
    """One mistake in a pack: where it is and what is wrong."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}"


@dataclass
class Catalog:
    """Every programme that loaded, with the problems found and the pack folders left out."""

    programmes: dict[str, Programme] = field(default_factory=dict)
    problems: list[ContentProblem] = field(default_factory=list)
    # pack folders left out because of their problems
    rejected: list[str] = field(default_factory=list)

    @cached_property
    def digest(self) -> str:
        """Which modules exist, in which programme: what binding a link to content depends on."""
        return ";".join(sorted(f"{p.id}:{','.join(m.id for m in p.modules)}" for p in self.programmes.values()))

    def module(self, module_id: str) -> Module | None:
        """The module with this id in any programme, or None."""
        for programme in self.programmes.values():
            found = programme.module(module_id)
            if found:
                return found
        return None

    def programmes_for(self, language: str) -> list[Programme]:
        """Every programme, those in `language` (the course's) first, otherwise in catalogue order.

        A Swedish course's teacher looks for the Swedish programme; the others stay listed, as
        a course may well take a programme in another language on purpose.
        """
        return sorted(self.programmes.values(), key=lambda p: p.language != language)

    def programme_of(self, module_id: str) -> Programme | None:
        """The programme that holds the module with this id, or None."""
        return next((p for p in self.programmes.values() if p.module(module_id)), None)
