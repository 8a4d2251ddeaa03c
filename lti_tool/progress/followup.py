"""The four-week follow-up of an action plan: asked once, kept with the plan.

At the learner's first launch into the programme 28 days or more after they first submitted an
action plan, the course home asks how it went. It is asked once per plan: the question is recorded
when shown, so a learner who skips it is not asked again at every launch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lti_tool.content.model import Activity, Module
from lti_tool.errors import ToolError
from lti_tool.models import ActionPlanFollowUp, Submission, utcnow

FOLLOW_UP_AFTER = timedelta(days=28)
OUTCOMES = ("done", "partly", "not_yet")
NOTE_MAX_CHARS = 4000


class FollowUpRefused(ToolError):
    """A follow-up answer for a plan that was not asked about, or without how it went."""

    reason = "follow_up_refused"
    message = _l("Your answer about the action plan could not be saved.")
    hint = _l("Choose how it went, and send the form again from the course page.")


@dataclass(frozen=True)
class FollowUpQuestion:
    """The plan to ask about: its module and activity, and when the learner submitted it."""

    module: Module
    activity: Activity
    submitted_at: datetime


def ask_on_launch(session: Session, user_id: int, modules: tuple[Module, ...], *,
                  clock: Callable[[], datetime] = utcnow) -> FollowUpQuestion | None:
    """The one action plan to ask about at this launch, recorded as asked; None when none is due.

    Due: first submitted FOLLOW_UP_AFTER or longer ago and never asked about. The oldest plan comes
    first; others wait for later launches, so a learner gets one short question at a time."""
    now = clock()
    plans = {(m.id, a.id): (m, a) for m in modules for a in m.activities if a.type == "action_plan"}
    if not plans:
        return None
    asked = {(row.module_id, row.activity_id) for row in session.execute(
        select(ActionPlanFollowUp.module_id, ActionPlanFollowUp.activity_id)
        .where(ActionPlanFollowUp.user_id == user_id))}
    first_submitted = session.execute(
        select(Submission.module_id, Submission.activity_id, func.min(Submission.created_at))
        .where(Submission.user_id == user_id, Submission.module_id.in_({m for m, _ in plans}))
        .group_by(Submission.module_id, Submission.activity_id)
        .order_by(func.min(Submission.created_at))).all()
    for module_id, activity_id, submitted_at in first_submitted:
        key = (module_id, activity_id)
        if key not in plans or key in asked or submitted_at is None or now - _aware(submitted_at) < FOLLOW_UP_AFTER:
            continue
        module, activity = plans[key]
        latest = session.scalar(select(Submission.id).where(
            Submission.user_id == user_id, Submission.module_id == module_id, Submission.activity_id == activity_id)
            .order_by(Submission.created_at.desc(), Submission.id.desc()).limit(1))
        session.add(ActionPlanFollowUp(user_id=user_id, programme_id=module.programme_id, module_id=module_id,
                                       activity_id=activity_id, submission_id=latest, asked_at=now))
        session.commit()
        return FollowUpQuestion(module, activity, _aware(submitted_at))
    return None


def _aware(moment: datetime) -> datetime:
    # SQLite hands back the stored UTC time without its zone; PostgreSQL keeps it.
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def record_answer(session: Session, user_id: int, module: Module, activity: Activity, outcome: str, note: str, *,
                  clock: Callable[[], datetime] = utcnow) -> ActionPlanFollowUp:
    """Keep the learner's answer with the plan; FollowUpRefused when the plan was not asked about or the
    outcome is not one of OUTCOMES (FollowUpRefused). Answering again replaces the answer."""
    if outcome not in OUTCOMES:
        raise FollowUpRefused(f"follow-up outcome {outcome!r}")
    row = answer_for(session, user_id, module, activity)
    if row is None:
        raise FollowUpRefused(f"no follow-up asked for {module.id}/{activity.id}")
    row.outcome, row.note, row.answered_at = outcome, note.replace("\r\n", "\n")[:NOTE_MAX_CHARS], clock()
    session.commit()
    return row


def answer_for(session: Session, user_id: int, module: Module, activity: Activity) -> ActionPlanFollowUp | None:
    """The follow-up of the learner's plan, asked or answered; None when it was never asked."""
    return session.scalar(select(ActionPlanFollowUp).where(
        ActionPlanFollowUp.user_id == user_id, ActionPlanFollowUp.module_id == module.id,
        ActionPlanFollowUp.activity_id == activity.id))
