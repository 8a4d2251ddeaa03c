"""Platforms and people made directly in the database: a row in every table a person touches."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.models import (
    ActivityState,
    Base,
    Certificate,
    Context,
    GradeTarget,
    LaunchRecord,
    ModuleProgress,
    Platform,
    PlatformStatus,
    ResourceLink,
    ScoreMessage,
    Submission,
    User,
    utcnow,
)
from lti_tool.operating.platforms import add_platform


def seed_platform(session: Session, *, name: str | None = None,
                  status: PlatformStatus = PlatformStatus.ACTIVE) -> Platform:
    host = f"https://lms-{uuid.uuid4().hex[:8]}.kommune.example"
    return add_platform(session, issuer=host, client_id="client-" + host[12:20],
                        auth_login_url=host + "/auth", auth_token_url=host + "/token",
                        key_set_url=host + "/jwks", deployment_ids=["1"],
                        name=name or f"Kommune {host[12:20]}", status=status)


@dataclass(frozen=True)
class Person:
    user_id: int
    sub: str
    name: str
    email: str
    answer: str
    certificate_code: str | None
    score_id: int | None


Progress = dict[str, tuple[str, datetime, datetime | None]]


def seed_person(session: Session, platform: Platform, *, last_seen_at: datetime | None = None,
                progress: Progress | None = None, programme_id: str = "efteruddannelse-integration",
                certificate: bool = True, parked_score: bool = False) -> Person:
    """A person with a launch, a course, a draft, an answer, progress, a certificate, a score."""
    tag = uuid.uuid4().hex[:8]
    now = utcnow()
    name, email = f"Person {tag}", f"person-{tag}@kommune.example"
    answer = f"Mit svar {tag} om familien"
    user = User(platform_id=platform.id, sub=f"sub-{tag}", name=name, email=email,
                locale="da-DK", last_seen_at=last_seen_at or now)
    session.add(user)
    deployment = platform.deployments[0]
    context = Context(deployment_id=deployment.id, context_id=f"course-{tag}", title="Kursus")
    session.add(context)
    session.flush()
    link = ResourceLink(context_id=context.id, resource_link_id=f"rl-{tag}", custom={},
                        programme_id=programme_id, module_id="nyankomne")
    session.add(link)
    session.flush()
    target = GradeTarget(resource_link_id=link.id, platform_id=platform.id, label="Modul 1",
                         lineitem_url=platform.issuer + "/lineitems/1", scopes=[])
    session.add(target)
    session.add(LaunchRecord(id=secrets.token_urlsafe(16), deployment_id=deployment.id,
                             user_id=user.id, context_id=context.id, resource_link_id=link.id,
                             message_type="LtiResourceLinkRequest", roles=[], locale="da",
                             claims={}, expires_at=now + timedelta(hours=1)))
    session.add(ActivityState(user_id=user.id, programme_id=programme_id, module_id="nyankomne",
                              activity_id="handleplan-modtagelse", status="draft",
                              draft={"prompt-1": answer}))
    session.add(Submission(user_id=user.id, programme_id=programme_id, module_id="nyankomne",
                           activity_id="refleksion-familien-haddad", attempt=1,
                           answer={"text": answer}, status="graded", score=1.0, passed=True,
                           result={"words": 5}, feedback=f"Godt set, {name}"))
    for module_id, (status, started, completed) in (progress or {
            "nyankomne": ("completed", now, now)}).items():
        session.add(ModuleProgress(user_id=user.id, programme_id=programme_id, module_id=module_id,
                                   status=status, started_at=started, completed_at=completed,
                                   points=10, max_points=10))
    code = None
    if certificate:
        code = "-".join(secrets.token_hex(2).upper() for _ in range(3))
        session.add(Certificate(code=code, user_id=user.id, programme_id=programme_id,
                                holder_name=name, programme_title="Efteruddannelse i integration",
                                modules=["Modul 1"]))
    session.flush()
    score = ScoreMessage(grade_target_id=target.id, user_id=user.id, sub=user.sub,
                         score_given=100.0, score_maximum=100.0, activity_progress="Completed",
                         grading_progress="FullyGraded", timestamp=now, attempts=1,
                         state="parked" if parked_score else "delivered",
                         last_error="400: line item is closed (Moodle)" if parked_score else None)
    session.add(score)
    session.commit()
    return Person(user.id, user.sub, name, email, answer, code, score.id)


def tool_tables() -> list[Any]:
    """The tool's own tables; the demo LMS's tables hold what the LMS knows, not the tool."""
    return [t for t in Base.metadata.sorted_tables if not t.name.startswith("demo_")]


def occurrences(session: Session, needles: list[str]) -> list[str]:
    """Every `table.column` in the tool's tables whose value contains one of the needles."""
    found = []
    for table in tool_tables():
        for row in session.execute(select(table)).mappings():
            for column, value in row.items():
                rendered = str(value)
                for needle in needles:
                    if needle in rendered:
                        found.append(f"{table.name}.{column} has {needle!r}")
    return found
