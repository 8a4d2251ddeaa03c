"""The course roster (NRPS) as the dashboard shows it: a snapshot in the database, refreshed by the grade worker.

No page waits on the LMS. An instructor's dashboard reads the last snapshot and, when it is older
than STALE_AFTER (or there is none yet), asks for a refresh by setting `wanted_since`; so does the
"Refresh roster" button. The grade worker (a thread in the embedded set-up, a process in
production) calls `refresh_due_rosters` every round: it leases a wanted snapshot under a token of
its own, reads the roster outside any transaction, and writes the outcome only while it still
holds the lease. A failure is kept (shown to the teacher with the time of the list they see) and
retried with exponential back-off; after MAX_FAILURES the request lapses until someone opens the
dashboard again, so a course nobody looks at is not polled forever.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, case, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti_tool.lti.services import ServiceClient, ServiceError, roster
from lti_tool.models import Platform, PlatformStatus, RosterSnapshot, utcnow

log = logging.getLogger(__name__)

# A dashboard opened on a snapshot older than this asks the worker for a fresh one. Short: a
# learner enrolled meanwhile who has not opened the tool is missing from the list until then.
STALE_AFTER = timedelta(minutes=2)
# How long a worker may hold a snapshot while it reads the roster (pages × the HTTP timeout).
LEASE = timedelta(minutes=5)
BASE_DELAY = 30.0  # seconds after the first failure; doubles with each further one
MAX_DELAY = 1800.0
MAX_FAILURES = 8  # about two hours of tries, then the request lapses until the next visit
# Rosters read per worker round: a frozen LMS holds the round for its timeout per roster, and
# scores wait behind it.
PER_ROUND = 3
# What the dashboard needs of a member; the rest of what the LMS sends is not kept.
KEPT_FIELDS = ("user_id", "status", "name", "given_name", "family_name", "email", "roles")


@dataclass(frozen=True)
class RosterStatus:
    """What the dashboard says about its roster, and the members it has (None: never read)."""

    members: list[dict[str, Any]] | None
    refreshed_at: datetime | None
    refreshing: bool
    failed_at: datetime | None  # the latest try failed, at this time

    @property
    def failing(self) -> bool:
        """The last try to read the roster failed (after the snapshot shown, if there is one)."""
        return self.failed_at is not None


def _status(snapshot: RosterSnapshot) -> RosterStatus:
    failed = snapshot.last_error_at
    if failed is not None and snapshot.refreshed_at is not None and failed < snapshot.refreshed_at:
        failed = None
    return RosterStatus(snapshot.members, snapshot.refreshed_at, snapshot.wanted_since is not None, failed)


def _snapshot(session: Session, *, platform_id: int, context_pk: int, url: str) -> RosterSnapshot:
    """The course's snapshot row, made (empty) if there is none; the NRPS URL kept current."""
    found = session.scalars(select(RosterSnapshot).where(RosterSnapshot.context_id == context_pk)).first()
    if found is None:
        found = RosterSnapshot(context_id=context_pk, platform_id=platform_id, memberships_url=url, failures=0)
        session.add(found)
        try:
            session.commit()
        except IntegrityError:  # two instructors opened a new course at once: the other's row
            session.rollback()
            found = session.scalars(select(RosterSnapshot).where(RosterSnapshot.context_id == context_pk)).one()
    if found.memberships_url != url:
        found.memberships_url = url
    return found


def for_dashboard(session: Session, *, platform_id: int, context_pk: int, url: str,
                  now: datetime | None = None) -> RosterStatus:
    """The course's last known roster, at once; asks the worker for a fresh one when it is old.

    Commits: the request must be seen by a worker in another process."""
    now = now or utcnow()
    snapshot = _snapshot(session, platform_id=platform_id, context_pk=context_pk, url=url)
    stale = snapshot.refreshed_at is None or now - snapshot.refreshed_at >= STALE_AFTER
    if stale and snapshot.wanted_since is None:
        snapshot.wanted_since = now
        snapshot.failures = 0  # a new request: the back-off of the last one lapsed with it
        snapshot.next_attempt_at = None
    status = _status(snapshot)
    session.commit()
    return status


def request_refresh(session: Session, *, platform_id: int, context_pk: int, url: str,
                    now: datetime | None = None) -> RosterStatus:
    """The teacher's "Refresh roster": the worker reads the roster on its next round, back-off or not.

    A person asked and will look; one try per press is not what the back-off protects the LMS
    from (that is the worker retrying on its own). A read already under way is left to finish."""
    now = now or utcnow()
    snapshot = _snapshot(session, platform_id=platform_id, context_pk=context_pk, url=url)
    if snapshot.wanted_since is None:
        snapshot.wanted_since = now
        snapshot.failures = 0
    snapshot.next_attempt_at = None
    status = _status(snapshot)
    session.commit()
    return status


def backoff(failures: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential from BASE_DELAY, capped at MAX_DELAY, with ±25 % jitter (rosters of many
    courses that failed together do not all come back in the same second)."""
    delay = min(MAX_DELAY, BASE_DELAY * 2 ** min(max(failures - 1, 0), 16))
    return timedelta(seconds=delay * (0.75 + rng() / 2))


def kept(members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The members as stored: only the fields the dashboard shows, only members with an id."""
    return [{k: m[k] for k in KEPT_FIELDS if m.get(k) is not None} for m in members if m.get("user_id")]


@dataclass
class RefreshReport:
    """What one round of roster refreshes did: how many were read, how many failed and why."""

    refreshed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _due(now: datetime) -> Any:
    return (RosterSnapshot.wanted_since.is_not(None)
            & or_(RosterSnapshot.next_attempt_at.is_(None), RosterSnapshot.next_attempt_at <= now)
            & or_(RosterSnapshot.leased_until.is_(None), RosterSnapshot.leased_until <= now))


def _claim(session: Session, now: datetime, limit: int) -> tuple[str, list[RosterSnapshot]]:
    """Lease up to `limit` due snapshots for this worker and commit the lease."""
    owner = uuid.uuid4().hex
    ids = list(session.scalars(select(RosterSnapshot.id).where(_due(now))
                               .order_by(RosterSnapshot.wanted_since).limit(limit)))
    if ids:
        # The conditions again: another worker may have leased one since the SELECT.
        session.execute(update(RosterSnapshot).where(RosterSnapshot.id.in_(ids), _due(now))
                        .values(lease_owner=owner, leased_until=now + LEASE)
                        .execution_options(synchronize_session=False))
    session.commit()
    rows = list(session.scalars(select(RosterSnapshot).where(RosterSnapshot.lease_owner == owner)
                                .order_by(RosterSnapshot.id).execution_options(populate_existing=True)))
    return owner, rows


def refresh_due_rosters(session: Session, client_for: Callable[[Platform], ServiceClient], *,
                        now: Callable[[], datetime] = utcnow, limit: int = PER_ROUND,
                        rng: Callable[[], float] = random.random) -> RefreshReport:
    """One worker round's share: read the rosters someone asked for; never raises for the LMS.

    `client_for` gives the NRPS client for a platform; `now` is the clock (tests move it)."""
    report = RefreshReport()
    owner, rows = _claim(session, now(), limit)
    for snapshot in rows:
        snapshot_id, platform_id, url = snapshot.id, snapshot.platform_id, snapshot.memberships_url
        course = snapshot.context_id
        claimed_wanted, failures = snapshot.wanted_since, snapshot.failures
        try:
            platform = session.get(Platform, platform_id)
            if platform is None or platform.status != PlatformStatus.ACTIVE:
                # The operator suspended it: the tool calls it no more, for rosters as for launches.
                raise ServiceError("the platform is not registered and active", retry=False)
            client = client_for(platform)
            session.commit()  # no transaction stays open while the LMS is asked
            # The snapshot's time is when the read began: whoever launches after it shows on the
            # dashboard even if the LMS listed members before enrolling them.
            started = now()
            members = kept(roster(client, url))
        except ServiceError as exc:
            session.rollback()
            at = now()
            failures += 1
            give_up = not exc.retry or failures >= MAX_FAILURES
            message = str(exc)[:500]
            values: dict[str, Any] = {
                "failures": failures, "last_error": message, "last_error_at": at,
                "next_attempt_at": at + backoff(failures, rng), "lease_owner": None, "leased_until": None}
            if give_up:  # until a dashboard or the button asks again
                values["wanted_since"] = case((RosterSnapshot.wanted_since == claimed_wanted, None),
                                              else_=RosterSnapshot.wanted_since)
            _write(session, snapshot_id, owner, values)
            log.warning("roster of course %s could not be read (failure %s%s): %s", course, failures,
                        ", giving up until asked again" if give_up else "", message)
            report.failed += 1
            report.errors.append(message)
            continue
        # A request made while this read was under way stays: the teacher may have enrolled someone.
        _write(session, snapshot_id, owner, {
            "members": members, "refreshed_at": started, "failures": 0, "next_attempt_at": None,
            "lease_owner": None, "leased_until": None,
            "wanted_since": case((RosterSnapshot.wanted_since == claimed_wanted, None),
                                 else_=RosterSnapshot.wanted_since)})
        log.info("roster of course %s refreshed: %s members", course, len(members))
        report.refreshed += 1
    return report


def _write(session: Session, snapshot_id: int, owner: str, values: dict[str, Any]) -> None:
    """Record an outcome only while this worker holds the lease (else another worker took over)."""
    result = session.execute(update(RosterSnapshot)
                             .where(RosterSnapshot.id == snapshot_id, RosterSnapshot.lease_owner == owner)
                             .values(**values).execution_options(synchronize_session=False))
    session.commit()
    if not cast(CursorResult[Any], result).rowcount:
        log.warning("roster snapshot %s: lease lost to another worker; outcome not recorded", snapshot_id)
