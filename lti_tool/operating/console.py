"""What the operator console shows that no other service already assembles: key states, the
start page's summary and the values for registering the tool by hand."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from lti_tool.grading.delivery import outbox_status
from lti_tool.lti import keys as tool_keys
from lti_tool.lti.registration import client_metadata
from lti_tool.lti.tool_info import ToolInfo
from lti_tool.models import OutboxState, Platform, PlatformStatus, ToolKey, User, utcnow

STATUS_LABELS = {
    PlatformStatus.PENDING: _l("waiting for approval"),
    PlatformStatus.ACTIVE: _l("active"),
    PlatformStatus.DISABLED: _l("disabled"),
}


@dataclass(frozen=True)
class PlatformRow:
    """One platform in the console's list, with its deployment IDs and how many users came through it."""

    id: int
    name: str
    issuer: str
    client_id: str
    status: PlatformStatus
    deployments: list[str]
    users: int
    created_at: datetime


def platform_rows(session: Session) -> list[PlatformRow]:
    """Every platform with its deployments and how many people came through it; pending first."""
    per_platform = select(User.platform_id, func.count()).group_by(User.platform_id)
    users = {platform_id: n for platform_id, n in session.execute(per_platform)}
    query = select(Platform).options(selectinload(Platform.deployments)).order_by(Platform.name)
    rows = [PlatformRow(p.id, p.name, p.issuer, p.client_id, p.status,
                        [d.deployment_id for d in p.deployments], users.get(p.id, 0), p.created_at)
            for p in session.scalars(query)]
    return sorted(rows, key=lambda r: r.status != PlatformStatus.PENDING)


@dataclass(frozen=True)
class KeyState:
    """A tool key as the operator sees it: current, retired but still published, or withdrawn."""

    kid: str
    created_at: datetime
    retired_at: datetime | None
    state: str  # current | published | withdrawn
    published_until: datetime | None


def key_states(session: Session, grace: timedelta, now: datetime | None = None) -> list[KeyState]:
    """Every key, newest first, with how long a retired one stays in the JWKS."""
    now = now or utcnow()
    states = []
    for key in tool_keys.list_keys(session):
        until = key.retired_at + grace if key.retired_at else None
        if until is None:
            state = "current"
        elif until > now:
            state = "published"
        else:
            state = "withdrawn"
        states.append(KeyState(key.kid, key.created_at, key.retired_at, state, until))
    return states


def rotate_key(session: Session, secret_key: str) -> ToolKey:
    """A new current key; the previous one stays published for the grace period."""
    return tool_keys.generate_key(session, secret_key)


@dataclass(frozen=True)
class Summary:
    """The counts on the console's start page."""

    pending_platforms: int
    active_platforms: int
    waiting_scores: int
    parked_scores: int
    oldest_waiting: datetime | None


def summary(session: Session) -> Summary:
    """The figures on the console's start page: what needs the operator now."""
    query = select(Platform.status, func.count()).group_by(Platform.status)
    by_status = {status: n for status, n in session.execute(query)}
    outbox = outbox_status(session, parked_limit=0)
    return Summary(
        pending_platforms=by_status.get(PlatformStatus.PENDING, 0),
        active_platforms=by_status.get(PlatformStatus.ACTIVE, 0),
        waiting_scores=outbox.waiting,
        parked_scores=outbox.counts.get(OutboxState.PARKED, 0),
        oldest_waiting=outbox.oldest_waiting,
    )


@dataclass(frozen=True)
class ManualRegistration:
    """The values to paste into an LMS by hand, and the dynamic registration JSON alongside."""

    rows: list[tuple[str, str]]
    configuration_json: str


def manual_registration(base_url: str, locale: str) -> ManualRegistration:
    """Every URL to paste, and the same configuration dynamic registration would send."""
    metadata = client_metadata(base_url, locale=locale)  # it falls back to Danish itself
    return ManualRegistration(rows=ToolInfo(base_url).rows(),
                              configuration_json=json.dumps(metadata, indent=2, ensure_ascii=False))
