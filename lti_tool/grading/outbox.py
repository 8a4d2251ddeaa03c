"""The grade outbox: every score change becomes a row, in the learner's own transaction.

Only the newest row per (line item, learner) is ever sent: a new row supersedes the queued
ones before it, and timestamps are strictly increasing, so an older score can never overwrite
a newer one at the LMS (which answers 409 to a timestamp not later than the one it holds).
Only enrolled learners' scores are queued (roles.is_enrolled_learner): an instructor trying the
activities out, or an observer, has no gradebook row, and the LMS would refuse the score
(Moodle: 400, Canvas: 422).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lti_tool.content.model import Catalog, Module, Programme
from lti_tool.grading.messages import COMMENT_LANGUAGES, ScoreValues, module_score, programme_score
from lti_tool.lti.roles import is_enrolled_learner
from lti_tool.models import GradeTarget, LaunchRecord, OutboxState, ResourceLink, ScoreMessage, User, utcnow
from lti_tool.progress import rules
from lti_tool.progress.state import module_statuses, placement_for


def learner_links(launches: Iterable[tuple[int | None, list[str]]]) -> set[int]:
    """The links whose latest launch, of (link, roles) pairs oldest first, was as an enrolled learner."""
    latest: dict[int, list[str]] = {}
    for link_id, roles in launches:
        if link_id is not None:
            latest[link_id] = roles
    return {link_id for link_id, roles in latest.items() if is_enrolled_learner(roles)}


def _targets_for(session: Session, user_id: int, module: Module) -> list[tuple[GradeTarget, ResourceLink]]:
    """Line items of the links this user launched as a learner that cover the module."""
    rows = session.execute(
        select(GradeTarget, ResourceLink)
        .join(ResourceLink, GradeTarget.resource_link_id == ResourceLink.id)
        .where(
            ResourceLink.id.in_(select(LaunchRecord.resource_link_id).where(LaunchRecord.user_id == user_id)),
            ResourceLink.programme_id == module.programme_id,
            (ResourceLink.module_id == module.id) | (ResourceLink.module_id.is_(None)),
        )
    ).all()
    if not rows:
        return []
    launches = session.execute(
        select(LaunchRecord.resource_link_id, LaunchRecord.roles)
        .where(LaunchRecord.user_id == user_id, LaunchRecord.resource_link_id.in_([link.id for _, link in rows]))
        .order_by(LaunchRecord.created_at, LaunchRecord.id)
    )
    learning = learner_links((link_id, list(roles or [])) for link_id, roles in launches)
    return [(target, link) for target, link in rows if link.id in learning]


def next_timestamp(session: Session, target_id: int, user_id: int, now: datetime | None = None) -> datetime:
    """Now, or just after the last message for this line item and learner if that is later."""
    now = now or utcnow()
    # Whole milliseconds: what is stored is exactly what the LMS sees, so "strictly later"
    # holds on the wire too (two scores within one millisecond must not look equal).
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    last = session.scalars(
        select(ScoreMessage.timestamp)
        .where(ScoreMessage.grade_target_id == target_id, ScoreMessage.user_id == user_id)
        .order_by(ScoreMessage.timestamp.desc())
        .limit(1)
    ).first()
    if last is not None and last >= now:
        return last + timedelta(milliseconds=1)
    return now


def enqueue(session: Session, target: GradeTarget, user: User, values: ScoreValues) -> ScoreMessage:
    """Add a score row, superseding queued rows for the same line item and learner (no commit)."""
    session.execute(
        update(ScoreMessage)
        .where(ScoreMessage.grade_target_id == target.id, ScoreMessage.user_id == user.id,
               ScoreMessage.state == OutboxState.QUEUED)
        .values(state=OutboxState.SUPERSEDED)
    )
    message = ScoreMessage(
        grade_target_id=target.id, user_id=user.id, sub=user.sub, score_given=values.score_given,
        score_maximum=values.score_maximum, activity_progress=values.activity_progress,
        grading_progress=values.grading_progress, comment=values.comment,
        timestamp=next_timestamp(session, target.id, user.id), state=OutboxState.QUEUED, attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(message)
    return message


def comment_language(user: User, content_language: str) -> str:
    """The learner's language from their latest launch; the content's before any launch said one.

    The comment is read by the learner in the LMS (Moodle shows it as feedback), and a Swedish
    caseworker may well take a Danish programme, so the content's language is only the fallback.
    """
    return user.locale if user.locale in COMMENT_LANGUAGES else content_language


def enqueue_module_scores(session: Session, catalog: Catalog, user_id: int, module: Module,
                          status: rules.ModuleStatus) -> int:
    """Queue the learner's new score for every line item covering the module (no commit)."""
    user = session.get(User, user_id)
    if user is None:
        return 0
    count = 0
    for target, link in _targets_for(session, user_id, module):
        if link.module_id:
            values = module_score(status, target.score_maximum, comment_language(user, module.language))
        else:
            values = _programme_values(session, user, catalog.programmes[module.programme_id], target)
        enqueue(session, target, user, values)
        count += 1
    return count


def _programme_values(session: Session, user: User, programme: Programme, target: GradeTarget) -> ScoreValues:
    statuses = module_statuses(session, user.id, programme.modules)
    overall = rules.programme_status(programme, {k: v.state for k, v in statuses.items()})
    return programme_score(list(statuses.values()), overall, target.score_maximum,
                           comment_language(user, programme.language))


def enqueue_opening_score(session: Session, catalog: Catalog, user: User, link: ResourceLink,
                          target: GradeTarget) -> ScoreMessage | None:
    """A learner's first launch of a graded link tells the LMS where they stand (no commit).

    Initialized for someone new (AGS §3.4.4); for someone who already worked on the module
    through another link, their progress, so this link's column does not wait for their next
    answer. (An answer committed in another tab during this launch's transaction is not in it;
    the learner's next answer or completion brings the column up to date.)"""
    known = select(ScoreMessage.id).where(ScoreMessage.grade_target_id == target.id,
                                          ScoreMessage.user_id == user.id).limit(1)
    placement = placement_for(link, catalog)
    if placement is None or session.scalar(known) is not None:
        return None
    if link.module_id:
        module = placement.modules[0]
        status = module_statuses(session, user.id, [module])[module.id]
        values = module_score(status, target.score_maximum, comment_language(user, module.language))
    else:
        values = _programme_values(session, user, placement.programme, target)
    return enqueue(session, target, user, values)
