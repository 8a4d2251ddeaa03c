"""Ready values for the learner's pages: course home, module, activity, certificate."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import babel.dates
from babel import Locale
from babel.support import NullTranslations
from flask_babel import force_locale, format_number, get_locale, get_translations, gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from lti_tool.content.model import (
    Activity,
    CaseVariant,
    Catalog,
    Module,
    Option,
    Programme,
    RuleClaim,
    rules_of,
)
from lti_tool.errors import NotFound
from lti_tool.launch.live import LiveLaunch
from lti_tool.launch.locale import format_locale
from lti_tool.models import ActionPlanFollowUp, Submission
from lti_tool.progress import followup, rules, scoring, service, state

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

OUTCOME_LABELS = {
    "done": _l("I did what I planned"),
    "partly": _l("I did part of it"),
    "not_yet": _l("Not yet"),
}


@dataclass(frozen=True)
class ModuleCard:
    """A module as the course home shows it: the module and where the learner stands in it."""

    module: Module
    status: rules.ModuleStatus

    @property
    def state_label(self) -> str:
        """The module's state in the interface language."""
        return str(STATE_LABELS[self.status.state])


@dataclass(frozen=True)
class RuleLine:
    """One rule on the rules page: the claim, its status with its date, and its source."""

    claim: str
    status: str  # the status in words with its date, e.g. "gælder siden 1. januar 2026"
    source: str


@dataclass(frozen=True)
class RulesNotice:
    """The course home's pointer to the rules page: "Regler pr. <checked>" and a link that says how many."""

    count: int
    checked: datetime.date  # the day the newest of them was checked


@dataclass(frozen=True)
class RulesPage:
    """The rules page: the placed modules' rule claims, each dated and sourced."""

    language: str
    heading: str
    note: str
    lines: tuple[RuleLine, ...]


def rules_notice(modules: tuple[Module, ...]) -> RulesNotice | None:
    """The course home's line about the rules of `modules`, or None when they state none.

    The line is the home's own, in the interface language like its other headings and links. The
    rules themselves are on a page of their own (`rules_page`), in the content's language: up to
    some fifty dated and sourced lines would make the first page of every launch five times its size."""
    claims = rules_of(modules)
    return RulesNotice(len(claims), max(c.checked for c in claims)) if claims else None


# The rules page is in the content's language, not the interface's: a Danish claim with "in force
# since" beside it would read as two half-translations. So the words around the claims are too.

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


def _heading(claims: tuple[RuleClaim, ...], catalogue: NullTranslations, locale: Locale | None) -> str:
    """"Regler pr. <the day the newest of them was checked>"."""
    checked = max(c.checked for c in claims)
    return catalogue.gettext("Rules as of %(date)s") % {"date": babel.dates.format_date(checked, "long", locale=locale)}


def rules_page(catalog: Catalog, launch: LiveLaunch) -> RulesPage:
    """The rules of the modules the launch's link opens, in the content's language.

    NotFound when the link opens nothing or its modules state no rules."""
    placement = state.placement_for(launch.resource_link, catalog)
    claims = rules_of(placement.modules) if placement is not None else ()
    if placement is None or not claims:
        raise NotFound("this link's modules state no rules")
    language = placement.programme.language
    with force_locale(format_locale(language)):
        catalogue, locale = get_translations(), get_locale()
        # Many rules share a date (the day a law took effect): each distinct date is formatted once.
        days = {date: babel.dates.format_date(date, "long", locale=locale) for date in {c.date for c in claims}}
        return RulesPage(
            language=language, heading=_heading(claims, catalogue, locale),
            note=catalogue.gettext("Each rule with its status on the day it was checked, and its source. "
                                   "Rules change: check the source before you act on them."),
            lines=tuple(RuleLine(c.claim, _status_words(c, days[c.date], catalogue), c.source) for c in claims),
        )


@dataclass(frozen=True)
class CourseHome:
    """What a learner's course home shows: the link's placement, the module cards and the programme's progress."""

    placement: state.Placement | None
    cards: tuple[ModuleCard, ...]
    programme_status: rules.ProgrammeStatus | None
    programme_title: str
    rules: RulesNotice | None = None
    submitted_plans: frozenset[tuple[str, str]] = frozenset()  # (module, activity) of action plans sent in

    @property
    def shows_programme(self) -> bool:
        """Whether the home shows the programme's rule: the link opens a programme of several modules."""
        return (self.placement is not None and len(self.placement.programme.modules) > 1
                and self.programme_status is not None)

    @property
    def next_card(self) -> ModuleCard | None:
        """The one module to go on with: the first begun, else the first mandatory one not started,
        else the first not started; None when every module is done or waits for grading."""
        open_cards = [c for c in self.cards if c.status.next_activity_id is not None]
        begun = [c for c in open_cards if c.status.state == rules.ModuleState.IN_PROGRESS]
        mandatory = [c for c in open_cards if c.module.mandatory]
        return next(iter(begun or mandatory or open_cards), None)

    @property
    def rule_sentence(self) -> str:
        """The programme's rule in words: "finish both mandatory modules and at least 2 electives"."""
        if self.programme_status is None:
            return ""
        return programme_rule(self.programme_status.mandatory_total, self.programme_status.electives_required)


def programme_rule(mandatory: int, electives: int) -> str:
    """What completes a programme, as a sentence in the interface language.

    One, two and more mandatory modules read differently ("the", "both", "all 3") in all three
    languages, so each is a message of its own; the electives' count picks the plural form."""
    if not electives:
        if mandatory == 1:
            return str(gettext("To complete the programme, finish its module."))
        if mandatory == 2:
            return str(gettext("To complete the programme, finish both modules."))
        return str(gettext("To complete the programme, finish all %(count)s modules.", count=mandatory))
    if mandatory == 1:
        return str(ngettext("To complete the programme, finish the mandatory module and at least %(num)d elective.",
                            "To complete the programme, finish the mandatory module and at least %(num)d electives.",
                            electives))
    if mandatory == 2:
        return str(ngettext("To complete the programme, finish both mandatory modules and at least %(num)d elective.",
                            "To complete the programme, finish both mandatory modules and at least %(num)d electives.",
                            electives))
    return str(ngettext(
        "To complete the programme, finish all %(mandatory)s mandatory modules and at least %(num)d elective.",
        "To complete the programme, finish all %(mandatory)s mandatory modules and at least %(num)d electives.",
        electives, mandatory=mandatory))


def course_home(session: Session, catalog: Catalog, launch: LiveLaunch,
                records: Mapping[str, Mapping[str, rules.ActivityRecord]] | None = None) -> CourseHome:
    """The course home of the learner behind `launch`: the modules the link opens, with their progress.

    `records` are the learner's records in the link's programme when the launch already read them."""
    placement = state.placement_for(launch.resource_link, catalog)
    if placement is None:
        return CourseHome(None, (), None, "")
    modules = placement.programme.modules
    if records is None:
        records = state.records_by_module(session, launch.user_id, [m.id for m in modules])
    statuses = {m.id: rules.module_status(m, records[m.id]) for m in modules}
    cards = tuple(ModuleCard(m, statuses[m.id]) for m in placement.modules)
    programme_status = rules.programme_status(placement.programme, {k: v.state for k, v in statuses.items()})
    submitted_plans = frozenset((m.id, a.id) for m in placement.modules for a in m.activities
                                if a.type == "action_plan" and (r := records[m.id].get(a.id)) and r.attempts > 0)
    return CourseHome(placement, cards, programme_status, placement.programme.title_in(launch.locale),
                      rules_notice(placement.modules), submitted_plans)


def follow_up_on_launch(session: Session, view: CourseHome, user_id: int) -> followup.FollowUpQuestion | None:
    """At a launch, the action plan whose four-week follow-up is due in the modules the link opens."""
    if view.placement is None or not view.submitted_plans:
        return None  # no plan submitted: nothing to ask, and no query at every launch to find that out
    return followup.ask_on_launch(session, user_id, view.placement.modules)


def reachable_module(catalog: Catalog, launch: LiveLaunch, module_id: str) -> tuple[state.Placement, Module]:
    """The module, if the launch's link opens it (a learner stays inside what was placed)."""
    placement = state.placement_for(launch.resource_link, catalog)
    module = placement.module(module_id) if placement else None
    if placement is None or module is None:
        raise NotFound(f"module {module_id!r} not in this link's placement")
    return placement, module


@dataclass(frozen=True)
class ActivityRow:
    """An activity in a module's list: done, waiting for grading, or still to do."""

    activity: Activity
    done: bool
    waiting: bool
    number: int

    @property
    def type_label(self) -> str:
        """The activity's kind (page, quiz, case …) in the interface language."""
        return str(TYPE_LABELS[self.activity.type])


@dataclass(frozen=True)
class ModuleOverview:
    """A module's page: its status and the row of each activity."""

    module: Module
    status: rules.ModuleStatus
    rows: tuple[ActivityRow, ...]

    @property
    def state_label(self) -> str:
        """The module's state in the interface language."""
        return str(STATE_LABELS[self.status.state])


def module_overview(session: Session, user_id: int, module: Module) -> ModuleOverview:
    """The module's page for `user_id`: its status and where each activity stands."""
    records = state.activity_records(session, user_id, module)
    status = rules.module_status(module, records)
    rows = tuple(_activity_row(a, records.get(a.id), i + 1) for i, a in enumerate(module.activities))
    return ModuleOverview(module, status, rows)


def _activity_row(activity: Activity, record: rules.ActivityRecord | None, number: int) -> ActivityRow:
    # A reflection waiting for grading counts toward the module's "everything done", but the
    # learner sees it as waiting, as the module's own state says, never as done.
    waiting = rules.activity_waiting(activity, record)
    return ActivityRow(activity, rules.activity_done(activity, record) and not waiting, waiting, number)


@dataclass(frozen=True)
class ActivityPage:
    """Everything an activity's page needs: the activity, the learner's record, draft and last submission."""

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
    # An action plan's four-week follow-up, once asked (with the answer when given)
    follow_up: ActionPlanFollowUp | None = None

    @property
    def follow_up_outcome(self) -> str:
        """How the plan went, in words; empty until the learner answered."""
        if self.follow_up is None or self.follow_up.outcome is None:
            return ""
        return str(OUTCOME_LABELS.get(self.follow_up.outcome, ""))

    # The draft's version, which autosave sends back: a save based on an older one is refused.
    draft_version: int = 0
    # When the form shows an answer kept from a page whose launch had expired (progress/rescue.py):
    # its time, and the answer it stands in for in the form (offered beside it), if any.
    rescued_at: datetime.datetime | None = None
    replaced_answer: Mapping[str, Any] | None = None

    @property
    def rescue_marker(self) -> str:
        """What the form sends back so that saving the rescued answer settles it ("" for none)."""
        return self.rescued_at.isoformat() if self.rescued_at is not None else ""

    @property
    def replaced_texts(self) -> list[str]:
        """The texts of the answer a rescued one stands in for, field by field, for the learner to
        compare and copy (choices have no text to show)."""
        if not self.replaced_answer or self.activity.type not in ("reflection", "action_plan"):
            return []
        return [str(v) for k, v in self.replaced_answer.items() if k != "variant" and isinstance(v, str) and v.strip()]

    @property
    def length_hint(self) -> str:
        """A reflection's length limit in words: its minimum (if the exercise sets one) and maximum."""
        chars = format_number(self.max_chars(self.activity.type))
        if self.activity.min_words:
            return str(ngettext("Write at least %(num)s word and at most %(chars)s characters.",
                                "Write at least %(num)s words and at most %(chars)s characters.",
                                self.activity.min_words, chars=chars))
        return str(gettext("Write at most %(chars)s characters.", chars=chars))

    # the learner asked to choose the role again (a case with variants)
    change_role: bool = False

    @property
    def case(self) -> CaseVariant:
        """The version of a case the page shows: the submitted answer's while its result is shown,
        else the role chosen in the draft (or the last answer)."""
        if not self.show_form and self.submission is not None:
            return self.activity.case_for((self.submission.answer or {}).get("variant"))
        return self.activity.case_for(self.answer.get("variant"))

    @property
    def choosing_role(self) -> bool:
        """A case with variants asks for the learner's role before the answer form is shown."""
        if not self.activity.variants or not self.show_form:
            return False
        return self.change_role or self.activity.variant(self.answer.get("variant")) is None

    # The programme's title in the learner's language: the printed action plan names it.
    programme_title: str = ""

    @property
    def attempts_left(self) -> int | None:
        """A quiz's attempts left, or None where attempts are unlimited or the activity is no quiz."""
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
        """Whether the learner may answer again after a submission."""
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
        """The option ids chosen in the form field `key` of the answer shown."""
        value = self.answer.get(key)
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    def text(self, key: str) -> str:
        """The text in the form field `key` of the answer shown ("" for none)."""
        value = self.answer.get(key)
        return str(value) if isinstance(value, str) else ""

    @property
    def score_fraction(self) -> float:
        """The last submission's score as a share (0–1), for a localised percentage."""
        if self.submission is None or self.submission.score is None:
            return 0.0
        return float(self.submission.score)

    def match_text(self, pair_id: str | None) -> str | None:
        """The match text a learner chose in a matching exercise (answers keep the pair's id)."""
        return next((p.match for p in self.activity.pairs if p.id == pair_id), None)

    @property
    def unanswered(self) -> tuple[str, ...]:
        """What the saved answer leaves open: quiz questions by number, matching items by text."""
        if self.activity.type == "quiz":
            return tuple(str(i) for i, q in enumerate(self.activity.questions, 1) if not self.chosen(q.id))
        if self.activity.type == "matching":
            return tuple(p.item for p in self.activity.pairs if not self.chosen(p.id))
        return ()


def activity_page(session: Session, catalog: Catalog, launch: LiveLaunch, module: Module, activity_id: str, *,
                  retake: bool, seed: str, secret_key: str, change_role: bool = False) -> ActivityPage:
    """The page of activity `activity_id` in `module` for the learner behind `launch`; NotFound if absent."""
    activity = module.activity(activity_id)
    if activity is None:
        raise NotFound(f"activity {activity_id!r} not in module {module.id!r}")
    service.open_activity(session, catalog, launch.user_id, module, activity)
    records = state.activity_records(session, launch.user_id, module)
    ids = [a.id for a in module.activities]
    index = ids.index(activity.id)
    submission = service.latest_submission(session, launch.user_id, module, activity) if activity.is_exercise else None
    draft = (service.draft_of(session, launch.user_id, module, activity) if activity.is_exercise
             else service.Draft(None, 0))
    answer: Mapping[str, Any] = draft.answer or {}
    if not answer and submission is not None and activity.type in ("reflection", "action_plan"):
        answer = submission.answer
    replaced: Mapping[str, Any] | None = None
    if draft.rescued is not None:
        # Written after the last save, on a page whose launch had expired: the form goes on from it.
        replaced = answer if answer and answer != draft.rescued else None
        answer = draft.rescued
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
        module_status=rules.module_status(module, records), retake=retake, change_role=change_role,
        draft_version=draft.version, programme_title=_programme_title(catalog, module, launch.locale),
        rescued_at=draft.rescued_at if draft.rescued is not None else None, replaced_answer=replaced,
        follow_up=followup.answer_for(session, launch.user_id, module, activity) if activity.type == "action_plan"
        else None,
    )


def _programme_title(catalog: Catalog, module: Module, locale: str) -> str:
    programme = catalog.programmes.get(module.programme_id)
    return programme.title_in(locale) if programme is not None else ""


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
        answer = {"text": _text_of(form, "text")[:REFLECTION_MAX_CHARS]}
        # The chosen role travels with the answer (the grading page shows it); an unknown one is dropped.
        variant = activity.variant(form.get("variant"))
        if variant is not None:
            answer["variant"] = variant.id
        return answer
    if activity.type == "action_plan":
        return {p.id: _text_of(form, f"prompt-{p.id}")[:PROMPT_MAX_CHARS] for p in activity.prompts}
    return {}


@dataclass(frozen=True)
class CertificateView:
    """The certificate page's values: the programme, the certificate once earned, and the programme's progress."""

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
