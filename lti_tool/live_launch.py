"""A live launch as its pages read it: plain values, found by the launch id in every URL.

Performance: every page of a launch, the first one inside the launch POST included, reads the
launch with its learner, course, link and platform. One statement of plain columns does that in
about a third of the CPU of loading five ORM objects with eager loads, and leaves nothing in the
session. Pages that change a row load that row themselves (the instructor's pick of a link).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from lti_tool.errors import SessionExpired
from lti_tool.models import Context, Deployment, LaunchRecord, Platform, ResourceLink, User, utcnow


@dataclass(frozen=True)
class LinkRef:
    """The resource link a launch came through, and what it opens."""

    id: int
    title: str | None
    programme_id: str | None
    module_id: str | None


@dataclass(frozen=True)
class LiveLaunch:
    id: str
    message_type: str
    roles: list[str]
    locale: str
    claims: dict[str, Any]
    expires_at: datetime
    user_id: int
    user_sub: str
    user_name: str | None
    context_id: int | None
    course_title: str | None
    resource_link: LinkRef | None
    deployment_pk: int
    deployment_id: str
    platform_id: int
    platform_name: str
    platform_issuer: str
    platform_client_id: str


_LAUNCHES = cast(Table, LaunchRecord.__table__)
_USERS = cast(Table, User.__table__)
_CONTEXTS = cast(Table, Context.__table__)
_LINKS = cast(Table, ResourceLink.__table__)
_DEPLOYMENTS = cast(Table, Deployment.__table__)
_PLATFORMS = cast(Table, Platform.__table__)

# Built once, from the tables rather than the mapped classes, so SQLAlchemy compiles it once and
# runs it without the ORM's loading machinery.
_FIND = (
    select(
        _LAUNCHES.c.id, _LAUNCHES.c.message_type, _LAUNCHES.c.roles, _LAUNCHES.c.locale, _LAUNCHES.c.claims,
        _LAUNCHES.c.expires_at, _LAUNCHES.c.user_id, _USERS.c.sub, _USERS.c.name, _LAUNCHES.c.context_id,
        _CONTEXTS.c.title, _CONTEXTS.c.label, _LAUNCHES.c.resource_link_id, _LINKS.c.title, _LINKS.c.programme_id,
        _LINKS.c.module_id, _LAUNCHES.c.deployment_id, _DEPLOYMENTS.c.deployment_id, _PLATFORMS.c.id,
        _PLATFORMS.c.name, _PLATFORMS.c.issuer, _PLATFORMS.c.client_id,
    )
    .select_from(
        _LAUNCHES.join(_USERS, _USERS.c.id == _LAUNCHES.c.user_id)
        .outerjoin(_CONTEXTS, _CONTEXTS.c.id == _LAUNCHES.c.context_id)
        .outerjoin(_LINKS, _LINKS.c.id == _LAUNCHES.c.resource_link_id)
        .join(_DEPLOYMENTS, _DEPLOYMENTS.c.id == _LAUNCHES.c.deployment_id)
        .join(_PLATFORMS, _PLATFORMS.c.id == _DEPLOYMENTS.c.platform_id)
    )
    .where(_LAUNCHES.c.id == bindparam("launch_id"))
)
_EXTEND = update(_LAUNCHES).where(_LAUNCHES.c.id == bindparam("launch_id")).values(expires_at=bindparam("until"))


def find_launch(session: Session, launch_id: str, lifetime: int) -> LiveLaunch:
    """The live launch with this id, its lifetime extended while it is in use."""
    row = (session.execute(_FIND, {"launch_id": launch_id}).first()
           if launch_id and len(launch_id) <= 64 else None)
    now = utcnow()
    if row is None or row[5] < now:
        raise SessionExpired(f"launch {launch_id[:8]}… unknown or expired")
    (id_, message_type, roles, locale, launch_claims, expires_at, user_id, sub, name, context_id,
     context_title, context_label, link_id, link_title, programme_id, module_id, deployment_pk,
     deployment_id, platform_id, platform_name, issuer, client_id) = row
    # Extend only when half the lifetime is gone: one write per half-lifetime, not per request.
    if expires_at - now < timedelta(seconds=lifetime / 2):
        expires_at = now + timedelta(seconds=lifetime)
        session.execute(_EXTEND, {"launch_id": id_, "until": expires_at})
        session.commit()
    return LiveLaunch(
        id=id_, message_type=message_type, roles=roles or [], locale=locale, claims=launch_claims or {},
        expires_at=expires_at, user_id=user_id, user_sub=sub, user_name=name, context_id=context_id,
        course_title=(context_title or context_label) if context_id is not None else None,
        resource_link=LinkRef(link_id, link_title, programme_id, module_id) if link_id is not None else None,
        deployment_pk=deployment_pk, deployment_id=deployment_id, platform_id=platform_id,
        platform_name=platform_name, platform_issuer=issuer, platform_client_id=client_id,
    )
