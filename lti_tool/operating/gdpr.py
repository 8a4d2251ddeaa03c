"""Data protection: find a person, export everything held about them, erase them, purge a platform.

Erasure anonymises rather than deletes the user row: the person's identity (name, email, the
platform's `sub`), their free-text answers and their launches go, while module statuses and
points stay attached to an anonymous row, so reach statistics survive. Deletes are issued table by
table in dependency order instead of relying on ON DELETE CASCADE, which SQLite only honours with
a per-connection pragma the embedded set-up does not turn on.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, delete, func, inspect, or_, select, update
from sqlalchemy.orm import Session

from lti_tool.errors import NotFound
from lti_tool.launch.record import purge_expired_launches
from lti_tool.models import (
    ActionPlanFollowUp,
    ActivityState,
    Base,
    Certificate,
    Context,
    Deployment,
    GradeTarget,
    IssuedCredential,
    LaunchRecord,
    ModuleProgress,
    Platform,
    ResourceLink,
    RosterSnapshot,
    ScoreMessage,
    Submission,
    User,
    utcnow,
)

ERASED_PREFIX = "erased-"


class LearnerNotFound(NotFound):
    """The person asked for (by user id, or by platform and `sub`) is not known to the tool."""

    reason = "learner_not_found"
    message = _l("No such person is known to the tool.")
    hint = _l("Search for the person again in the operator console.")


# --- finding people ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Learner:
    """A person as the console lists them."""

    user_id: int
    platform_id: int
    platform_name: str
    sub: str
    name: str | None
    email: str | None
    last_seen_at: datetime

    @property
    def erased(self) -> bool:
        """Whether the person was erased (their `sub` was replaced by an anonymous one)."""
        return self.sub.startswith(ERASED_PREFIX)


def _learners(rows: Iterable[tuple[User, str]]) -> list[Learner]:
    return [Learner(user_id=u.id, platform_id=u.platform_id, platform_name=name, sub=u.sub,
                    name=u.name, email=u.email, last_seen_at=u.last_seen_at) for u, name in rows]


def _with_platform() -> Select[User, str]:
    return select(User, Platform.name).join(Platform, Platform.id == User.platform_id)


def find_learners(session: Session, *, platform_id: int | None = None, sub: str = "",
                  text: str = "", limit: int = 50) -> list[Learner]:
    """By exact platform and `sub`, or by a part of the name or email (case-insensitive)."""
    query = _with_platform().order_by(User.name, User.id).limit(limit)
    if platform_id is not None:
        query = query.where(User.platform_id == platform_id)
    if sub.strip():
        query = query.where(User.sub == sub.strip())
    elif text.strip():
        needle = text.strip().lower()
        query = query.where(or_(func.lower(User.name).contains(needle, autoescape=True),
                                func.lower(User.email).contains(needle, autoescape=True)))
    else:
        return []
    return _learners(session.execute(query).all())


def get_learner(session: Session, user_id: int) -> Learner:
    """The person with user id `user_id`; raises LearnerNotFound."""
    found = _learners(session.execute(_with_platform().where(User.id == user_id)).all())
    if not found:
        raise LearnerNotFound(f"no user {user_id}")
    return found[0]


def find_user(session: Session, platform_id: int, sub: str) -> User:
    """The user a platform knows by `sub`; raises LearnerNotFound."""
    query = select(User).where(User.platform_id == platform_id, User.sub == sub)
    user = session.scalars(query).first()
    if user is None:
        raise LearnerNotFound(f"no user {sub[:40]!r} on platform {platform_id}")
    return user


# --- export ------------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None  # no personal data is stored as bytes; keys never belong to a person
    return value


def row_dict(row: Base) -> dict[str, Any]:
    """Every column of a row. Generic on purpose: a column added later is exported too."""
    return {attr.key: _plain(getattr(row, attr.key)) for attr in inspect(row).mapper.column_attrs}


def _rows(session: Session, model: Any, condition: ColumnElement[bool]) -> list[dict[str, Any]]:
    query = select(model).where(condition).order_by(model.id)
    return [row_dict(r) for r in session.scalars(query)]


def export_user(session: Session, user_id: int, now: datetime | None = None) -> dict[str, Any]:
    """Everything held about one person (GDPR art. 15 and 20), as JSON-ready data."""
    user = session.get(User, user_id)
    if user is None:
        raise LearnerNotFound(f"no user {user_id}")
    platform = session.get(Platform, user.platform_id)
    launches = []
    for record in session.scalars(select(LaunchRecord).where(LaunchRecord.user_id == user_id)
                                  .order_by(LaunchRecord.created_at)):
        entry = row_dict(record)
        entry["course_title"] = record.context.title if record.context else None
        launches.append(entry)
    return {
        "exported_at": _plain(now or utcnow()),
        "platform": {"id": platform.id, "name": platform.name, "issuer": platform.issuer}
        if platform else None,
        "user": row_dict(user),
        "launches": launches,
        "activity_states": _rows(session, ActivityState, ActivityState.user_id == user_id),
        "submissions": _rows(session, Submission, Submission.user_id == user_id),
        "action_plan_followups": _rows(session, ActionPlanFollowUp, ActionPlanFollowUp.user_id == user_id),
        "module_progress": _rows(session, ModuleProgress, ModuleProgress.user_id == user_id),
        "certificates": _rows(session, Certificate, Certificate.user_id == user_id),
        "credentials": _rows(session, IssuedCredential, IssuedCredential.user_id == user_id),
        "score_messages": _rows(session, ScoreMessage, ScoreMessage.user_id == user_id),
    }


@dataclass(frozen=True)
class Holdings:
    """How many rows of each kind are held about a person (what the console shows before acting)."""

    launches: int
    activity_states: int
    submissions: int
    module_progress: int
    certificates: int
    score_messages: int


def holdings(session: Session, user_id: int) -> Holdings:
    """How many rows of each kind the tool holds about the person with `user_id`."""
    def count(model: type[Base], column: Any) -> int:
        query = select(func.count()).select_from(model).where(column == user_id)
        return int(session.scalar(query) or 0)

    return Holdings(
        launches=count(LaunchRecord, LaunchRecord.user_id),
        activity_states=count(ActivityState, ActivityState.user_id),
        submissions=count(Submission, Submission.user_id),
        module_progress=count(ModuleProgress, ModuleProgress.user_id),
        certificates=count(Certificate, Certificate.user_id),
        score_messages=count(ScoreMessage, ScoreMessage.user_id),
    )


# --- erasure -----------------------------------------------------------------------------------

def _anonymise(session: Session, user_ids: list[int]) -> None:
    """Remove identity and free text from these users' rows (no commit)."""
    session.execute(delete(LaunchRecord).where(LaunchRecord.user_id.in_(user_ids)))
    # Queued scores carry the `sub`; the LMS keeps the scores it already has.
    session.execute(delete(ScoreMessage).where(ScoreMessage.user_id.in_(user_ids)))
    session.execute(update(Submission).where(Submission.user_id.in_(user_ids))
                    .values(answer={}, feedback=None))
    session.execute(update(ActivityState).where(ActivityState.user_id.in_(user_ids))
                    .values(draft=None, rescued_draft=None, rescued_at=None))
    session.execute(update(ActionPlanFollowUp).where(ActionPlanFollowUp.user_id.in_(user_ids)).values(note=None))
    session.execute(update(Certificate).where(Certificate.user_id.in_(user_ids)).values(holder_name=None))
    _forget_credentials(session, user_ids)
    _forget_in_rosters(session, user_ids)


def _forget_credentials(session: Session, user_ids: Any) -> None:
    """Remove our copy of these users' credentials without revoking them: a credential is its
    holder's to keep. The row stays, nameless, so its status bit is never handed out again."""
    session.execute(update(IssuedCredential).where(IssuedCredential.user_id.in_(user_ids))
                    .values(user_id=None, holder_name=None, jwt=None),
                    execution_options={"synchronize_session": False})


def _forget_in_rosters(session: Session, user_ids: list[int]) -> None:
    """Take these users out of the course roster snapshots (the LMS's names and e-mails of them).

    The LMS still has them: if they are still enrolled, the next roster refresh lists them again."""
    subs: dict[int, set[str]] = {}
    for platform_id, sub in session.execute(select(User.platform_id, User.sub).where(User.id.in_(user_ids))):
        subs.setdefault(platform_id, set()).add(sub)
    if not subs:
        return
    for snapshot in session.scalars(select(RosterSnapshot).where(RosterSnapshot.platform_id.in_(subs))):
        members = snapshot.members or []
        remaining = [m for m in members if str(m.get("user_id")) not in subs[snapshot.platform_id]]
        if len(remaining) != len(members):
            snapshot.members = remaining


def erase_user(session: Session, user_id: int) -> None:
    """Anonymise one person (GDPR art. 17); their statuses and points stay for the statistics."""
    user = session.get(User, user_id)
    if user is None:
        raise LearnerNotFound(f"no user {user_id}")
    _anonymise(session, [user_id])
    user.sub = ERASED_PREFIX + secrets.token_hex(16)
    user.name = None
    user.email = None
    user.locale = None
    session.commit()
    session.expire_all()


def expired_users(session: Session, retention_days: int, now: datetime | None = None) -> list[int]:
    """Users not seen for longer than the retention period and not yet erased."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    query = select(User.id).where(User.last_seen_at < cutoff,
                                  ~User.sub.startswith(ERASED_PREFIX, autoescape=True))
    return list(session.scalars(query.order_by(User.id)))


def purge_expired(session: Session, retention_days: int, now: datetime | None = None) -> int:
    """Erase everyone not seen within the retention period; returns how many were erased."""
    erased = 0
    for user_id in expired_users(session, retention_days, now):
        erase_user(session, user_id)
        erased += 1
    purge_expired_launches(session)
    return erased


# --- a whole platform --------------------------------------------------------------------------

def purge_platform(session: Session, platform_id: int) -> dict[str, int]:
    """Delete a platform and everything that came through it; returns rows deleted per table."""
    if session.get(Platform, platform_id) is None:
        raise NotFound(f"no platform {platform_id}")
    deployments = select(Deployment.id).where(Deployment.platform_id == platform_id)
    contexts = select(Context.id).where(Context.deployment_id.in_(deployments))
    links = select(ResourceLink.id).where(ResourceLink.context_id.in_(contexts))
    targets = select(GradeTarget.id).where(or_(GradeTarget.platform_id == platform_id,
                                               GradeTarget.resource_link_id.in_(links)))
    users = select(User.id).where(User.platform_id == platform_id)
    # Children before parents, while the parents the sub-selects read are still there.
    steps: list[tuple[str, Any]] = [
        ("score_outbox", delete(ScoreMessage).where(or_(ScoreMessage.grade_target_id.in_(targets),
                                                        ScoreMessage.user_id.in_(users)))),
        ("grade_targets", delete(GradeTarget).where(GradeTarget.id.in_(targets))),
        ("launches", delete(LaunchRecord).where(or_(LaunchRecord.deployment_id.in_(deployments),
                                                    LaunchRecord.user_id.in_(users)))),
        ("resource_links", delete(ResourceLink).where(ResourceLink.id.in_(links))),
        ("roster_snapshots", delete(RosterSnapshot).where(or_(RosterSnapshot.context_id.in_(contexts),
                                                               RosterSnapshot.platform_id == platform_id))),
        ("contexts", delete(Context).where(Context.id.in_(contexts))),
        ("activity_states", delete(ActivityState).where(ActivityState.user_id.in_(users))),
        ("action_plan_followups", delete(ActionPlanFollowUp).where(ActionPlanFollowUp.user_id.in_(users))),
        ("submissions", delete(Submission).where(Submission.user_id.in_(users))),
        ("module_progress", delete(ModuleProgress).where(ModuleProgress.user_id.in_(users))),
        ("certificates", delete(Certificate).where(Certificate.user_id.in_(users))),
        ("users", delete(User).where(User.platform_id == platform_id)),
        ("deployments", delete(Deployment).where(Deployment.platform_id == platform_id)),
        ("platforms", delete(Platform).where(Platform.id == platform_id)),
    ]
    _forget_credentials(session, users)
    # Grades given by this platform's instructors elsewhere keep their result, not the grader.
    session.execute(update(Submission).where(Submission.graded_by.in_(users)).values(graded_by=None),
                    execution_options={"synchronize_session": False})
    counts = {}
    for table, statement in steps:
        result = session.execute(statement, execution_options={"synchronize_session": False})
        counts[table] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    session.commit()
    session.expire_all()
    return counts
