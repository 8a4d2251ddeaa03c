"""Ready values for the learner's pages: course home, module, activity, certificate."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import babel.dates
from babel.support import NullTranslations
from flask_babel import force_locale, get_locale, get_translations
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from lti_tool.content.model import Activity, Catalog, Module, Option, Programme, RuleClaim, rules_of
from lti_tool.errors import NotFound
from lti_tool.launch.live import LiveLaunch
from lti_tool.models import Submission
from lti_tool.progress import rules, scoring, service, state

STATE_LABELS: Mapping[str, object] = {  # keyed by stored module_progress.status too
    rules.ModuleState.NOT_STARTED: _l("Not started"),
    rules.ModuleState.IN_PROGRESS: _l("In progress"),
    rules.ModuleState.PENDING: _l("Waiting for grading"),
    rules.ModuleState.COMPLETED: _l("Completed"),
}
TYPE_LABELS = {
    "page": _l("Reading"),
    "quiz": _l("Quiz"),
    "reflection": _l("Case reflection"),
    "matching": _l("Matching"),
    "action_plan": _l("Action plan"),
}


@dataclass(frozen=True)
class ModuleCard:
    module: Module
    status: rules.ModuleStatus

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[self.status.state])


@dataclass(frozen=True)
class RuleLine:
    claim: str
    status: str  # the status in words with its date, e.g. "gælder siden 1. januar 2026"
    source: str


@dataclass(frozen=True)
class RulesBox:
    """The "Regler pr. …" box: the placed modules' rule claims, written in the content's language."""

    language: str
    heading: str
    toggle: str
    note: str
    lines: tuple[RuleLine, ...]


def _status_words(claim: RuleClaim, day: str, catalogue: NullTranslations) -> str:
    if claim.status == "in_force":
        return catalogue.gettext("in force since %(date)s") % {"date": day}
    if claim.status == "adopted":
        return catalogue.gettext("adopted, in force from %(date)s") % {"date": day}
    if claim.status == "proposed":
        return catalogue.gettext("proposed, expected from %(date)s") % {"date": day}
    if claim.status == "repealed":
        return catalogue.gettext("repealed from %(date)s") % {"date": day}
    return catalogue.gettext("not confirmed, date given %(date)s") % {"date": day}


def rules_box(modules: tuple[Module, ...], language: str) -> RulesBox | None:
    """The box for `modules`, or None when they state no rules.

    Its words are in the content's language (`language`), not the interface's: a Danish claim
    with "in force since" beside it would read as two half-translations. Performance: a module
    states up to some fifty rules, so the catalogue and the Babel locale are looked up once per
    box, not once per string and date as flask-babel's gettext and format_date do."""
    claims = rules_of(modules)
    if not claims:
        return None
    checked: datetime.date = max(c.checked for c in claims)
    with force_locale(language):
        catalogue, locale = get_translations(), get_locale()

        def day(date: datetime.date) -> str:
            return babel.dates.format_date(date, "long", locale=locale)

        return RulesBox(
            language=language,
            heading=catalogue.gettext("Rules as of %(date)s") % {"date": day(checked)},
            toggle=catalogue.ngettext("Show the %(num)d rule", "Show the %(num)d rules", len(claims))
            % {"num": len(claims)},
            note=catalogue.gettext("Each rule with its status on the day it was checked, and its source. "
                                   "Rules change: check the source before you act on them."),
            lines=tuple(RuleLine(c.claim, _status_words(c, day(c.date), catalogue), c.source) for c in claims),
        )


@dataclass(frozen=True)
class CourseHome:
    placement: state.Placement | None
    cards: tuple[ModuleCard, ...]
    programme_status: rules.ProgrammeStatus | None
    programme_title: str
    rules_box: RulesBox | None = None

    @property
    def shows_programme(self) -> bool:
        return (self.placement is not None and len(self.placement.programme.modules) > 1
                and self.programme_status is not None)


def course_home(session: Session, catalog: Catalog, launch: LiveLaunch) -> CourseHome:
    placement = state.placement_for(launch.resource_link, catalog)
    if placement is None:
        return CourseHome(None, (), None, "")
    statuses = state.module_statuses(session, launch.user_id, placement.programme.modules)
    cards = tuple(ModuleCard(m, statuses[m.id]) for m in placement.modules)
    programme_status = rules.programme_status(placement.programme, {k: v.state for k, v in statuses.items()})
    return CourseHome(placement, cards, programme_status, placement.programme.title_in(launch.locale),
                      rules_box(placement.modules, placement.programme.language))


def reachable_module(catalog: Catalog, launch: LiveLaunch, module_id: str) -> tuple[state.Placement, Module]:
    """The module, if the launch's link opens it (a learner stays inside what was placed)."""
    placement = state.placement_for(launch.resource_link, catalog)
    module = placement.module(module_id) if placement else None
    if placement is None or module is None:
        raise NotFound(f"module {module_id!r} not in this link's placement")
    return placement, module


@dataclass(frozen=True)
class ActivityRow:
    activity: Activity
    done: bool
    waiting: bool
    number: int

    @property
    def type_label(self) -> str:
        return str(TYPE_LABELS[self.activity.type])


@dataclass(frozen=True)
class ModuleOverview:
    module: Module
    status: rules.ModuleStatus
    rows: tuple[ActivityRow, ...]

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[self.status.state])


def module_overview(session: Session, user_id: int, module: Module) -> ModuleOverview:
    records = state.activity_records(session, user_id, module)
    status = rules.module_status(module, records)
    rows = tuple(
        ActivityRow(a, rules.activity_done(a, records.get(a.id)), rules.activity_waiting(a, records.get(a.id)), i + 1)
        for i, a in enumerate(module.activities)
    )
    return ModuleOverview(module, status, rows)


@dataclass(frozen=True)
class ActivityPage:
    module: Module
    activity: Activity
    number: int
    total: int
    previous_id: str | None
    next_id: str | None
    record: rules.ActivityRecord | None
    submission: Submission | None
    # What the form shows: the saved draft, else the last answer (reflections, action plans)
    answer: dict[str, Any]
    matching_choices: list[tuple[str, str]]
    # Each quiz question's options as the form shows them (the attempt being made) and as the
    # result lists them (the attempt submitted): scoring.option_order for each.
    form_options: Mapping[str, tuple[Option, ...]]
    result_options: Mapping[str, tuple[Option, ...]]
    module_status: rules.ModuleStatus
    retake: bool

    @property
    def attempts_left(self) -> int | None:
        if self.activity.type != "quiz" or not self.activity.max_attempts:
            return None
        return max(0, self.activity.max_attempts - (self.record.attempts if self.record else 0))

    @property
    def show_form(self) -> bool:
        """The form, or else the result of the last submission."""
        if self.activity.type == "page":
            return False
        if self.submission is None:
            return self.attempts_left != 0
        return self.retake and self.can_retake

    @property
    def can_retake(self) -> bool:
        if self.submission is None:
            return False
        if self.activity.type == "quiz":
            return self.attempts_left != 0
        if self.activity.type == "reflection":
            return self.submission.status == rules.SubmissionStatus.PENDING
        return True

    @staticmethod
    def max_chars(activity_type: str) -> int:
        """The longest text a field of this kind of exercise keeps."""
        return REFLECTION_MAX_CHARS if activity_type == "reflection" else PROMPT_MAX_CHARS

    def chosen(self, key: str) -> list[str]:
        value = self.answer.get(key)
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    def text(self, key: str) -> str:
        value = self.answer.get(key)
        return str(value) if isinstance(value, str) else ""

    @property
    def score_percent(self) -> int | None:
        if self.submission is None or self.submission.score is None:
            return None
        return round(100 * self.submission.score)


def activity_page(session: Session, catalog: Catalog, launch: LiveLaunch, module: Module, activity_id: str, *,
                  retake: bool, seed: str, secret_key: str) -> ActivityPage:
    activity = module.activity(activity_id)
    if activity is None:
        raise NotFound(f"activity {activity_id!r} not in module {module.id!r}")
    service.open_activity(session, catalog, launch.user_id, module, activity)
    records = state.activity_records(session, launch.user_id, module)
    ids = [a.id for a in module.activities]
    index = ids.index(activity.id)
    submission = service.latest_submission(session, launch.user_id, module, activity) if activity.is_exercise else None
    draft = service.draft_of(session, launch.user_id, module, activity) if activity.is_exercise else None
    answer: Mapping[str, Any] = draft or {}
    if not answer and submission is not None and activity.type in ("reflection", "action_plan"):
        answer = submission.answer
    choices = scoring.matching_choices(activity, seed) if activity.type == "matching" else []
    record = records.get(activity.id)
    # The form is for the next attempt; drafts do not count one, so a reload keeps the order.
    form_attempt = (record.attempts if record else 0) + 1
    result_attempt = submission.attempt if submission is not None else form_attempt
    return ActivityPage(
        module=module, activity=activity, number=index + 1, total=len(ids),
        previous_id=ids[index - 1] if index > 0 else None, next_id=ids[index + 1] if index + 1 < len(ids) else None,
        record=record, submission=submission, answer=dict(answer), matching_choices=choices,
        form_options=_quiz_options(activity, secret_key, launch.user_id, form_attempt),
        result_options=_quiz_options(activity, secret_key, launch.user_id, result_attempt),
        module_status=rules.module_status(module, records), retake=retake,
    )


def _quiz_options(activity: Activity, secret_key: str, user_id: int, attempt: int) -> dict[str, tuple[Option, ...]]:
    return {q.id: tuple(scoring.option_order(secret_key, user_id, activity.id, q.id, attempt, q.options))
            for q in activity.questions}


# The longest text a reflection or an action-plan step keeps; the text areas say so (maxlength).
REFLECTION_MAX_CHARS = 20000
PROMPT_MAX_CHARS = 4000


def _text_of(form: Any, field: str) -> str:
    # Browsers send a text area's line breaks as CRLF, and count each as one character (maxlength).
    return str(form.get(field, "")).replace("\r\n", "\n")


def answer_too_long(activity: Activity, form: Any) -> bool:
    """Whether a text is over its limit: such an answer is not submitted cut short, the learner is told."""
    if activity.type == "reflection":
        return len(_text_of(form, "text")) > REFLECTION_MAX_CHARS
    if activity.type == "action_plan":
        return any(len(_text_of(form, f"prompt-{p.id}")) > PROMPT_MAX_CHARS for p in activity.prompts)
    return False


def answer_from_form(activity: Activity, form: Any) -> dict[str, Any]:
    """The answer as the form (or the autosave request) carries it, texts cut at their limits;
    unknown fields are ignored."""
    if activity.type == "quiz":
        return {q.id: form.getlist(f"q-{q.id}") for q in activity.questions if form.getlist(f"q-{q.id}")}
    if activity.type == "matching":
        return {p.id: form.get(f"p-{p.id}") for p in activity.pairs if form.get(f"p-{p.id}")}
    if activity.type == "reflection":
        return {"text": _text_of(form, "text")[:REFLECTION_MAX_CHARS]}
    if activity.type == "action_plan":
        return {p.id: _text_of(form, f"prompt-{p.id}")[:PROMPT_MAX_CHARS] for p in activity.prompts}
    return {}


@dataclass(frozen=True)
class CertificateView:
    programme: Programme
    certificate: Any
    status: rules.ProgrammeStatus


def certificate_page(session: Session, catalog: Catalog, launch: LiveLaunch, programme_id: str) -> CertificateView:
    """The learner's certificate (issued on first view once the programme is complete), or how far they are."""
    programme = catalog.programmes.get(programme_id)
    if programme is None:
        raise NotFound(f"programme {programme_id!r}")
    issued = service.certificate_for(session, launch.user_id, launch.user_name, programme, launch.locale)
    statuses = state.module_statuses(session, launch.user_id, programme.modules)
    status = rules.programme_status(programme, {k: v.state for k, v in statuses.items()})
    return CertificateView(programme, issued, status)
