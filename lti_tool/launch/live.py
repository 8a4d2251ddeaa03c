"""A live launch as its pages read it: plain values, found by the launch id in every URL.

Performance: every page of a launch, the first one inside the launch POST included, reads the
launch with its learner, course, link and platform. One statement of plain columns does that in
about a third of the CPU of loading five ORM objects with eager loads, and leaves nothing in the
session. Pages that change a row load that row themselves (the instructor's pick of a link).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from lti_tool.errors import SessionExpired
from lti_tool.lti.deep_linking import DeepLinkingSettings
from lti_tool.lti.launch import ServiceClaims
from lti_tool.models import Context, Deployment, LaunchRecord, Platform, ResourceLink, User, utcnow
from lti_tool.text import origin


@dataclass(frozen=True)
class LinkRef:
    """The resource link a launch came through, and what it opens."""

    id: int
    title: str | None
    programme_id: str | None
    module_id: str | None


@dataclass(frozen=True)
class LiveLaunch:
    """A live launch as its pages see it: typed values only (the stored claims are read by
    lti_tool.lti.launch.ServiceClaims, behind the properties below)."""

    id: str
    roles: list[str]
    locale: str
    services: ServiceClaims
    user_id: int
    user_sub: str
    user_name: str | None
    context_id: int | None
    course_title: str | None
    resource_link: LinkRef | None
    deployment_id: str
    platform_id: int
    platform_name: str
    platform_issuer: str
    platform_client_id: str
    platform_login_url: str

    @property
    def framing_origins(self) -> list[str]:
        """Who may frame this launch's pages: its platform (the origins of its issuer and login
        address) and the page the launch came from (Canvas cloud's issuer is not the customer's
        domain, so the origin of the launch's return_url, the LMS page, is allowed too)."""
        found: list[str] = []
        for url in (self.platform_issuer, self.platform_login_url, self.return_url):
            value = origin(url)
            if value is not None and value not in found:  # an address urllib cannot parse frames nothing
                found.append(value)
        return found

    @property
    def memberships_url(self) -> str | None:
        """The course roster's NRPS endpoint, if the platform offers one the tool can use."""
        return self.services.memberships_url

    @property
    def deep_linking(self) -> DeepLinkingSettings:
        """What a deep-linking request accepts and where the answer goes."""
        return self.services.deep_linking

    @property
    def return_url(self) -> str | None:
        """The platform page to go back to (launch_presentation.return_url)."""
        return self.services.return_url

    @property
    def opened_in_iframe(self) -> bool:
        """Whether the platform shows the tool in a frame of its page."""
        return self.services.document_target == "iframe"


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
        _LAUNCHES.c.id, _LAUNCHES.c.roles, _LAUNCHES.c.locale, _LAUNCHES.c.claims, _LAUNCHES.c.expires_at,
        _LAUNCHES.c.user_id, _USERS.c.sub.label("user_sub"), _USERS.c.name.label("user_name"),
        _LAUNCHES.c.context_id, _CONTEXTS.c.title.label("context_title"), _CONTEXTS.c.label.label("context_label"),
        _LAUNCHES.c.resource_link_id, _LINKS.c.title.label("link_title"), _LINKS.c.programme_id, _LINKS.c.module_id,
        _DEPLOYMENTS.c.deployment_id, _PLATFORMS.c.id.label("platform_id"),
        _PLATFORMS.c.name.label("platform_name"), _PLATFORMS.c.issuer.label("platform_issuer"),
        _PLATFORMS.c.client_id.label("platform_client_id"), _PLATFORMS.c.auth_login_url.label("platform_login_url"),
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


def launch_locale(session: Session, launch_id: str) -> str | None:
    """The language of a launch, for a page that did not look the launch up (an unknown address
    under it); None when there is no such launch, or it cannot be read just now."""
    if not launch_id or len(launch_id) > 64:
        return None
    try:
        return session.scalar(select(_LAUNCHES.c.locale).where(_LAUNCHES.c.id == launch_id))
    except SQLAlchemyError:  # the language of an error page is not worth a second error
        session.rollback()
        return None


def find_launch(session: Session, launch_id: str, lifetime: int) -> LiveLaunch:
    """The live launch with this id, its lifetime extended while it is in use."""
    row = (session.execute(_FIND, {"launch_id": launch_id}).first()
           if launch_id and len(launch_id) <= 64 else None)
    now = utcnow()
    if row is None or row.expires_at < now:
        raise SessionExpired(f"launch {launch_id[:8]}… unknown or expired")
    # Extend only when half the lifetime is gone: one write per half-lifetime, not per request.
    if row.expires_at - now < timedelta(seconds=lifetime / 2):
        session.execute(_EXTEND, {"launch_id": row.id, "until": now + timedelta(seconds=lifetime)})
        session.commit()
    return _live_launch(row)


def find_ended_launch(session: Session, launch_id: str, window: timedelta) -> LiveLaunch | None:
    """The launch with this id if it has expired, but no longer than `window` ago; else None.

    Only for keeping what a page of it posted after it expired (progress/rescue.py): it grants
    nothing a live launch grants, and is never extended."""
    row = (session.execute(_FIND, {"launch_id": launch_id}).first()
           if launch_id and len(launch_id) <= 64 else None)
    now = utcnow()
    if row is None or row.expires_at >= now or row.expires_at < now - window:
        return None
    return _live_launch(row)


def _live_launch(row: Any) -> LiveLaunch:
    """The typed launch of one row of _FIND (a Row of its columns)."""
    link = (LinkRef(row.resource_link_id, row.link_title, row.programme_id, row.module_id)
            if row.resource_link_id is not None else None)
    return LiveLaunch(
        id=row.id, roles=row.roles or [], locale=row.locale, services=ServiceClaims(row.claims or {}),
        user_id=row.user_id, user_sub=row.user_sub, user_name=row.user_name, context_id=row.context_id,
        course_title=(row.context_title or row.context_label) if row.context_id is not None else None,
        resource_link=link, deployment_id=row.deployment_id, platform_id=row.platform_id,
        platform_name=row.platform_name, platform_issuer=row.platform_issuer,
        platform_client_id=row.platform_client_id, platform_login_url=row.platform_login_url,
    )


def form_token(secret_key: str, launch_id: str) -> str:
    """The CSRF token for forms of one launch: framed pages cannot rely on a session cookie."""
    return hmac.new(secret_key.encode(), b"launch-csrf:" + launch_id.encode(), hashlib.sha256).hexdigest()
