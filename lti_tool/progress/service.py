"""A learner's work, persisted: open, save, submit, grade, recompute, certify.

Each function owns its transaction. The module status is recomputed from the stored activity
states after every change and written in the same commit, so the learner's page, the
instructor's dashboard and the grade passback all read the same truth.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from lti_tool.content.model import Activity, Catalog, Module, Programme
from lti_tool.errors import NotAwaitingGrading, ToolError
from lti_tool.grading.outbox import enqueue_module_scores
from lti_tool.models import ActivityState, Certificate, ModuleProgress, ResourceLink, Submission, User, utcnow
from lti_tool.progress import rules, scoring
from lti_tool.progress.scoring import AnswerError
from lti_tool.progress.state import Placement, activity_records, module_statuses, placement_for

log = logging.getLogger(__name__)
T = TypeVar("T")


class AttemptsUsed(ToolError):
    """A quiz submitted again after its last allowed attempt."""

    status = 409
    reason = "attempts_used"


class AlreadyGraded(ToolError):
    """A reflection submitted again after the instructor graded it."""

    status = 409
    reason = "already_graded"


class DraftConflict(ToolError):
    """A save based on an older version of the draft than the stored one: another tab or window
    saved in between. Carries the stored version, so the page can offer both."""

    status = 409
    reason = "draft_conflict"

    def __init__(self, detail: str, *, version: int, answer: dict[str, Any]) -> None:
        super().__init__(detail)
        self.version = version
        self.answer = answer


# --- what a resource link opens (read in progress/state.py) -----------------------------------

def placement_from_custom(custom: Mapping[str, str], catalog: Catalog) -> tuple[str, str | None] | None:
    """The (programme, module or None) a link's custom parameters name (set by deep linking or by
    hand), or None when they name nothing in the catalog."""
    module_id = custom.get("module") or custom.get("module_id")
    programme_id = custom.get("programme") or custom.get("programme_id")
    if module_id and catalog.module(module_id):
        programme = catalog.programme_of(module_id)
        return (programme.id, module_id) if programme else None
    if programme_id and programme_id in catalog.programmes:
        return programme_id, None
    return None


# --- reading state (more in progress/state.py) ------------------------------------------------

def latest_submission(session: Session, user_id: int, module: Module, activity: Activity) -> Submission | None:
    """The learner's newest submission of this activity in this module, or None."""
    return session.scalars(
        select(Submission)
        .where(Submission.user_id == user_id, Submission.module_id == module.id, Submission.activity_id == activity.id)
        .order_by(Submission.id.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class Draft:
    """The answer being written: the saved draft and its version, and what an expired page of the
    learner's posted after that (kept apart, see progress/rescue.py)."""

    answer: dict[str, Any] | None
    version: int
    rescued: dict[str, Any] | None = None
    rescued_at: datetime | None = None


def draft_of(session: Session, user_id: int, module: Module, activity: Activity) -> Draft:
    """The learner's draft of an exercise (empty, version 0, when there is none)."""
    state = _state(session, user_id, module, activity, create=False)
    if state is None:
        return Draft(None, 0)
    return Draft(state.draft, state.draft_version, state.rescued_draft, state.rescued_at)


# --- changing state ------------------------------------------------------------------------

def _state(session: Session, user_id: int, module: Module, activity: Activity, *,
           create: bool = True, lock: bool = False) -> ActivityState | None:
    query = select(ActivityState).where(ActivityState.user_id == user_id, ActivityState.module_id == module.id,
                                        ActivityState.activity_id == activity.id)
    # lock: a submission and its grading take the learner's activity row first, one after the
    # other, before any other row (they deadlocked when each took one row, then the other's).
    state = session.scalars(query.with_for_update() if lock else query).first()
    if state is None and create:
        state = ActivityState(user_id=user_id, programme_id=module.programme_id, module_id=module.id,
                              activity_id=activity.id, status=rules.ActivityStatus.VIEWED, attempts=0,
                              draft_version=0)
        session.add(state)
    return state


def _lock_learner(session: Session, user_id: int) -> None:
    """Take the learner's row before reading their progress: two requests of one learner (two
    tabs, a grading meanwhile) then run one after the other, and the second computes the module's
    status with the first one's work in it. Launches update the same row first, so the order holds."""
    session.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))


def recompute(session: Session, user_id: int, module: Module) -> rules.ModuleStatus:
    """Compute the module's status from the stored states and store it (no commit)."""
    session.flush()
    status = rules.module_status(module, activity_records(session, user_id, module))
    row = session.scalars(
        select(ModuleProgress).where(ModuleProgress.user_id == user_id, ModuleProgress.module_id == module.id)
    ).first()
    now = utcnow()
    if row is None:
        row = ModuleProgress(user_id=user_id, programme_id=module.programme_id, module_id=module.id, started_at=now)
        session.add(row)
    was_completed = row.status == rules.ModuleState.COMPLETED
    row.status = status.state
    row.points = status.points
    row.max_points = status.max_points
    row.done_count = status.done
    row.required_count = status.required
    row.pending_manual = status.pending_manual
    row.updated_at = now
    if status.state == rules.ModuleState.COMPLETED and not was_completed:
        row.completed_at = now
    elif status.state != rules.ModuleState.COMPLETED:
        row.completed_at = None
    return status


def retried_on_conflict(unit: Callable[..., T]) -> Callable[..., T]:
    """Run a unit of work (it commits) once more when a concurrent request got in its way: a row
    the other inserted first (two tabs opening the same new activity), or a deadlock PostgreSQL
    broke by aborting this one. The next try starts from a clean session and sees the other's rows.
    The rollback drops any uncommitted work of the caller: call these with none (the views do)."""

    @functools.wraps(unit)
    def run(session: Session, *args: Any, **kwargs: Any) -> T:
        for attempt in range(3):
            try:
                return unit(session, *args, **kwargs)
            except (IntegrityError, OperationalError) as exc:
                session.rollback()
                conflict = isinstance(exc, IntegrityError) or getattr(exc.orig, "sqlstate", None) in RETRYABLE
                if not conflict or attempt == 2:
                    raise
                log.info("%s met a concurrent request (%s): trying again", unit.__name__, type(exc.orig).__name__)
        raise AssertionError("unreachable")

    return run


# PostgreSQL's deadlock_detected and serialization_failure: the transaction may simply run again.
RETRYABLE = {"40P01", "40001"}


@retried_on_conflict
def open_activity(session: Session, catalog: Catalog, user_id: int, module: Module,
                  activity: Activity) -> rules.ModuleStatus | None:
    """Opening a page marks it done; opening an exercise only records that it was seen."""
    _lock_learner(session, user_id)
    state = _state(session, user_id, module, activity, create=False)
    if state is not None:
        return None
    before = session.scalars(select(ModuleProgress.status).where(
        ModuleProgress.user_id == user_id, ModuleProgress.module_id == module.id)).first()
    _state(session, user_id, module, activity)
    status = recompute(session, user_id, module)
    if status.state != before:
        # Started, or completed by the last page: the LMS hears about it.
        on_progress(session, catalog, user_id, module, status)
    session.commit()
    return status


@retried_on_conflict
def save_draft(session: Session, user_id: int, module: Module, activity: Activity, answer: dict[str, Any], *,
               based_on: int | None = None, took_rescue: str | None = None) -> int:
    """Keep the answer as it is being written; closing the browser loses nothing. Returns the
    draft's new version.

    `based_on`: the version the page started from (autosave sends it); when another save came in
    between, DraftConflict and nothing is changed. None (a plain form's save button) saves anyway.
    `took_rescue`: the rescued answer (its time, isoformat) the page showed; saved, it is done with."""
    _lock_learner(session, user_id)  # after a submission racing it, not before: it must see the attempt
    state = _state(session, user_id, module, activity)
    assert state is not None
    if based_on is not None and based_on != state.draft_version:
        current, version = _current_answer(session, user_id, module, activity, state), state.draft_version
        session.rollback()
        raise DraftConflict(f"{activity.id}: save based on version {based_on}, stored {version}",
                            version=version, answer=current)
    state.draft = answer
    state.draft_version += 1
    _drop_rescue_taken(state, took_rescue)
    if state.attempts == 0:
        state.status = rules.ActivityStatus.DRAFT
    state.updated_at = utcnow()
    session.commit()
    return state.draft_version


def _current_answer(session: Session, user_id: int, module: Module, activity: Activity,
                    state: ActivityState) -> dict[str, Any]:
    """The stored answer a conflicting save is told about: the draft, else the last submission's."""
    if state.draft is not None:
        return dict(state.draft)
    submission = latest_submission(session, user_id, module, activity)
    return dict(submission.answer) if submission is not None else {}


def _drop_rescue_taken(state: ActivityState, took_rescue: str | None) -> None:
    """Forget the rescued answer once a page that showed it saved or submitted: its text is in that
    answer now. A rescue that came later (or a page that never showed it) leaves it in place."""
    if took_rescue and state.rescued_at is not None and state.rescued_at.isoformat() == took_rescue:
        state.rescued_draft = None
        state.rescued_at = None


@retried_on_conflict
def rescue_draft(session: Session, user_id: int, module: Module, activity: Activity,
                 answer: dict[str, Any]) -> None:
    """Keep what a page posted after its launch expired, beside the draft (never over it): the
    learner's next launch offers it. One slot per activity; a newer rescue replaces the older."""
    _lock_learner(session, user_id)
    state = _state(session, user_id, module, activity)
    assert state is not None
    state.rescued_draft = answer
    state.rescued_at = utcnow()
    session.commit()


@dataclass(frozen=True)
class SubmitOutcome:
    """What submit_answer stored: the submission and the module status it led to."""

    submission: Submission
    module_status: rules.ModuleStatus


@retried_on_conflict
def submit_answer(session: Session, catalog: Catalog, user_id: int, module: Module, activity: Activity,
                  answer: dict[str, Any], *, too_long: bool = False, took_rescue: str | None = None) -> SubmitOutcome:
    """Score and store a submission and the new module status in one transaction.

    Raises AnswerError (after keeping the answer as a draft) when the answer is incomplete, or
    AnswerTooLong when a text was cut to fit (`too_long`); AttemptsUsed when a quiz has no tries
    left, AlreadyGraded for a graded reflection (both before any draft is kept)."""
    _lock_learner(session, user_id)
    state = _state(session, user_id, module, activity, lock=True)
    assert state is not None
    if activity.type == "quiz" and activity.max_attempts and state.attempts >= activity.max_attempts:
        raise AttemptsUsed(f"{activity.id}: {state.attempts} attempts used")
    if activity.type == "reflection" and state.status == rules.ActivityStatus.GRADED:
        raise AlreadyGraded(f"{activity.id} already graded")
    try:
        if too_long:
            raise scoring.AnswerTooLong(activity.id)
        scored = scoring.score_answer(activity, answer)
    except AnswerError:
        state.draft = answer
        state.draft_version += 1
        _drop_rescue_taken(state, took_rescue)
        if state.attempts == 0:
            state.status = rules.ActivityStatus.DRAFT
        session.commit()
        raise
    if activity.type == "reflection":
        # A resubmission replaces the one waiting; only the newest is graded.
        for older in session.scalars(select(Submission).where(
                Submission.user_id == user_id, Submission.module_id == module.id,
                Submission.activity_id == activity.id, Submission.status == rules.SubmissionStatus.PENDING)):
            older.status = rules.SubmissionStatus.SUPERSEDED
    state.attempts += 1
    submission = Submission(user_id=user_id, programme_id=module.programme_id, module_id=module.id,
                            activity_id=activity.id, attempt=state.attempts, answer=answer, status=scored.status,
                            score=scored.score, passed=scored.passed, result=scored.result)
    session.add(submission)
    state.status = scored.status
    state.draft = None
    state.draft_version += 1  # a tab still writing the old draft hears of the submission (409)
    _drop_rescue_taken(state, took_rescue)
    if scored.score is not None:
        # The best result counts: a retake never lowers a score.
        if state.score is None or scored.score >= state.score:
            state.score = scored.score
            state.passed = scored.passed
    elif activity.type == "action_plan":
        state.passed = True
    state.updated_at = utcnow()
    status = recompute(session, user_id, module)
    on_progress(session, catalog, user_id, module, status)
    session.commit()
    return SubmitOutcome(submission=submission, module_status=status)


@retried_on_conflict
def grade_submission(session: Session, catalog: Catalog, submission_id: int, module: Module,
                     activity: Activity, *,
                     grader_id: int, points: Mapping[str, float], feedback: str) -> rules.ModuleStatus:
    """The instructor's rubric points and written feedback for a reflection still waiting for them.

    Raises NotAwaitingGrading when it was graded or replaced in the meantime (a second click, the
    learner's resubmission): only one grading counts."""
    submission = session.get_one(Submission, submission_id)
    # A submission's answer never changes (a resubmission is a new row): its variant's rubric counts.
    answered = activity.case_for((submission.answer or {}).get("variant"))
    fraction, given = scoring.grade_reflection(activity, submission.answer or {}, dict(points))
    # The learner's rows first, as submit_answer takes them; then the submission as it is now.
    _lock_learner(session, submission.user_id)
    _state(session, submission.user_id, module, activity, lock=True)
    session.refresh(submission)
    if submission.status != rules.SubmissionStatus.PENDING:
        raise NotAwaitingGrading(f"submission {submission_id} is {submission.status}")
    submission.score = fraction
    submission.passed = True
    submission.status = rules.SubmissionStatus.GRADED
    submission.feedback = feedback.strip() or None
    # The rubric's maximum per criterion as graded: if a pack later changes a criterion's points,
    # the learner still sees "3 / 4" as the instructor gave it, beside the same percentage.
    submission.result = {**(submission.result or {}), "points": given,
                         "maxima": {c.id: c.points for c in answered.rubric}}
    submission.graded_by = grader_id
    submission.graded_at = utcnow()
    state = _state(session, submission.user_id, module, activity)
    assert state is not None
    state.status = rules.ActivityStatus.GRADED
    state.score = fraction
    state.passed = True
    state.updated_at = utcnow()
    status = recompute(session, submission.user_id, module)
    on_progress(session, catalog, submission.user_id, module, status)
    session.commit()
    return status


def on_progress(session: Session, catalog: Catalog, user_id: int, module: Module, status: rules.ModuleStatus) -> None:
    """What follows a change in a learner's module status: the new score goes to the outbox."""
    enqueue_module_scores(session, catalog, user_id, module, status)


# --- certificates -----------------------------------------------------------------------

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def new_certificate_code() -> str:
    """A random code in the form XXXX-XXXX-XXXX, from letters and digits that are hard to misread."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def certificate_for(session: Session, user_id: int, holder_name: str | None, programme: Programme,
                    locale: str) -> Certificate | None:
    """The learner's certificate for a completed programme; issued on first request."""
    existing = session.scalars(
        select(Certificate).where(Certificate.user_id == user_id, Certificate.programme_id == programme.id)
    ).first()
    if existing:
        return existing
    statuses = module_statuses(session, user_id, programme.modules)
    status = rules.programme_status(programme, {k: v.state for k, v in statuses.items()})
    if not status.completed:
        return None
    completed = [m for m in programme.modules if statuses[m.id].state == rules.ModuleState.COMPLETED]
    certificate = Certificate(code=new_certificate_code(), user_id=user_id, programme_id=programme.id,
                              holder_name=holder_name, programme_title=programme.title_in(locale),
                              modules=[m.title for m in completed],
                              study_minutes=sum(m.estimated_minutes for m in completed),
                              issued_at=_programme_completed_at(session, user_id, programme))
    session.add(certificate)
    try:
        session.commit()
    except IntegrityError:
        # Two requests issued it at once (a double click): the other one's certificate stands.
        session.rollback()
        return session.scalars(
            select(Certificate).where(Certificate.user_id == user_id, Certificate.programme_id == programme.id)
        ).one()
    return certificate


def _programme_completed_at(session: Session, user_id: int, programme: Programme) -> datetime:
    """When the programme's rule was first met: the certificate carries that date, not the day it
    was first opened."""
    done: dict[str, datetime] = {module_id: when for module_id, when in session.execute(
        select(ModuleProgress.module_id, ModuleProgress.completed_at).where(
            ModuleProgress.user_id == user_id, ModuleProgress.programme_id == programme.id,
            ModuleProgress.completed_at.is_not(None))
    ) if when is not None}
    mandatory = [done[m.id] for m in programme.mandatory if m.id in done]
    electives = sorted(done[m.id] for m in programme.electives if m.id in done)
    needed = mandatory + electives[:programme.electives_required]
    return max(needed, default=utcnow())


def find_certificate(session: Session, code: str) -> Certificate | None:
    """The certificate with verification `code`, typed in any case, with or without spaces/dashes."""
    normalised = code.strip().upper().replace(" ", "")
    if len(normalised) == 12:
        normalised = "-".join(normalised[i:i + 4] for i in range(0, 12, 4))
    return session.scalars(select(Certificate).where(Certificate.code == normalised)).first()


def bind_link(session: Session, catalog: Catalog, link: ResourceLink, choice: str) -> Placement:
    """The instructor's choice for a link made by hand: `programme:<id>` or `module:<id>`."""
    kind, _, target = choice.partition(":")
    if kind == "module" and catalog.module(target):
        programme = catalog.programme_of(target)
        assert programme is not None
        link.programme_id, link.module_id = programme.id, target
    elif kind == "programme" and target in catalog.programmes:
        link.programme_id, link.module_id = target, None
    else:
        raise ToolError(f"unknown placement {choice!r}", reason="bad_placement")
    session.commit()
    placement = placement_for(link, catalog)
    assert placement is not None
    return placement
