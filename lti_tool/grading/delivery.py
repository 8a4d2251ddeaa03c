"""Delivering the outbox to the platforms' AGS endpoints, so no score is ever lost.

Workers claim due rows in a short transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so any
number of workers share one outbox), lease them, send them outside any transaction, and record
the outcome. At most one row per (line item, learner) is in flight, so scores arrive in order.
429, 5xx and timeouts are retried with exponential back-off and jitter; 409 means the LMS already
holds this or a newer score and counts as delivered; any other 4xx is parked for the operator.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased, scoped_session

from lti_tool.lti.services import (
    PlatformAuth,
    ServiceClient,
    ServiceError,
    TokenClient,
    find_or_create_line_item,
    post_score,
)
from lti_tool.models import GradeTarget, Platform, ResourceLink, ScoreMessage, utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)
BASE_DELAY = 2.0
MAX_DELAY = 3600.0
MAX_ATTEMPTS = 30  # about a day of retries at the longest delay before the operator is asked


@dataclass
class DeliveryReport:
    delivered: int = 0
    retried: int = 0
    parked: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.delivered + self.retried + self.parked


def backoff(attempts: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential, capped, with ±50 % jitter so a recovering LMS is not hit by a thundering herd."""
    delay = min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))
    return timedelta(seconds=delay * (0.5 + rng()))


def claim(session: Session, limit: int, now: datetime | None = None) -> list[ScoreMessage]:
    """Lease up to `limit` due rows for this worker and commit the lease."""
    now = now or utcnow()
    other = aliased(ScoreMessage)
    in_flight = exists().where(and_(
        other.grade_target_id == ScoreMessage.grade_target_id, other.user_id == ScoreMessage.user_id,
        other.state == "sending", other.lease_until > now, other.id != ScoreMessage.id,
    ))
    due = (
        (ScoreMessage.state == "queued") & (ScoreMessage.next_attempt_at <= now)
    ) | ((ScoreMessage.state == "sending") & (ScoreMessage.lease_until <= now))
    # Performance: `state IN (...)` is implied by `due`, but only with it can PostgreSQL use the
    # (state, next_attempt_at) index; without it the planner walks the primary key past every
    # delivered row ever kept, so each claim (every second, even idle) grew with the history.
    waiting = ScoreMessage.state.in_(("queued", "sending"))
    query = select(ScoreMessage).where(waiting, due, ~in_flight).order_by(ScoreMessage.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=ScoreMessage)
    rows = list(session.scalars(query))
    for row in rows:
        row.state = "sending"
        row.lease_until = now + LEASE
        row.attempts += 1
    session.commit()
    return rows


def _score_body(row: ScoreMessage) -> dict[str, Any]:
    """AGS 2.0 §3.4 score publish body; the timestamp has a zone and milliseconds."""
    body: dict[str, Any] = {
        "userId": row.sub,
        "scoreGiven": row.score_given,
        "scoreMaximum": row.score_maximum,
        "activityProgress": row.activity_progress,
        "gradingProgress": row.grading_progress,
        "timestamp": row.timestamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if row.score_given is None:
        body.pop("scoreGiven")
    if row.comment:
        body["comment"] = row.comment
    return body


class Deliverer:
    def __init__(self, session: Session, tokens: TokenClient, http: Any) -> None:
        self._session = session
        self._tokens = tokens
        self._http = http
        # Line items and their platforms read this round, by line item id: read once per round,
        # not per score (see _loaded_across_commits).
        self._targets: dict[int, tuple[GradeTarget | None, Platform | None]] = {}

    def _client(self, platform: Platform) -> ServiceClient:
        auth = PlatformAuth(platform.id, platform.client_id, platform.auth_token_url, platform.auth_audience)
        return ServiceClient(self._tokens, self._http, auth)

    def _line_item(self, target: GradeTarget, client: ServiceClient) -> str:
        if target.lineitem_url:
            return target.lineitem_url
        if not target.lineitems_url:
            raise ServiceError("the platform gave no line item and no line-item container", retry=False)
        link = self._session.get(ResourceLink, target.resource_link_id)
        assert link is not None
        resource_id = link.module_id or link.programme_id or "integrationsloeft"
        url = find_or_create_line_item(client, target.lineitems_url, resource_id=resource_id,
                                       resource_link_id=link.resource_link_id, label=target.label,
                                       score_maximum=target.score_maximum, tag="integrationsloeft")
        target.lineitem_url = url
        self._session.commit()
        return url

    def send(self, row: ScoreMessage) -> str:
        """Send one leased row; returns its new state."""
        found = self._targets.get(row.grade_target_id)
        if found is None:
            target = self._session.get(GradeTarget, row.grade_target_id)
            platform = self._session.get(Platform, target.platform_id) if target else None
            found = self._targets[row.grade_target_id] = (target, platform)
        target, platform = found
        if target is None or platform is None:
            return self._finish(row, "parked", "the line item or platform no longer exists")
        try:
            client = self._client(platform)
            response = post_score(client, self._line_item(target, client), _score_body(row))
        except ServiceError as exc:
            return self._failed(row, str(exc), retry=exc.retry)
        status = response.status_code
        if 200 <= status < 300 or status == 409:
            # 409: the LMS already holds a score at least this new (Moodle): nothing to resend.
            return self._finish(row, "delivered", None if status != 409 else "409: LMS holds a newer score")
        message = f"{status}: {response.text[:500]}"
        return self._failed(row, message, retry=status in (401, 408, 429) or status >= 500)

    def _failed(self, row: ScoreMessage, message: str, *, retry: bool) -> str:
        if not retry or row.attempts >= MAX_ATTEMPTS:
            log.warning("score %s parked after %s attempts: %s", row.id, row.attempts, message)
            return self._finish(row, "parked", message)
        row.state = "queued"
        row.lease_until = None
        row.last_error = message
        row.next_attempt_at = utcnow() + backoff(row.attempts)
        self._session.commit()
        log.info("score %s will be retried (attempt %s): %s", row.id, row.attempts, message)
        return "queued"

    def _finish(self, row: ScoreMessage, state: str, message: str | None) -> str:
        row.state = state
        row.lease_until = None
        row.last_error = message
        if state == "delivered":
            row.delivered_at = utcnow()
        self._session.commit()
        return state


@contextmanager
def _loaded_across_commits(session: Session) -> Iterator[None]:
    """Performance: keep what the round has read loaded across its own commits.

    Each claimed row is committed on its own, and every commit expired every object, so each
    row was read again twice and its line item and platform once more per score (five queries
    per score instead of one UPDATE). The claimed rows are leased to this worker, so nobody else
    writes them meanwhile; line items and platforms are read once per round instead of per score.
    """
    real = session() if isinstance(session, scoped_session) else session
    previous = real.expire_on_commit
    real.expire_on_commit = False
    try:
        yield
    finally:
        real.expire_on_commit = previous
        # A round ends with a commit, after which everything used to be expired: so it is again,
        # and the next round in this session reads the rows afresh.
        real.expire_all()


def deliver_due(session: Session, tokens: TokenClient, http: Any, *, batch: int = 50) -> DeliveryReport:
    """One round: claim due scores and send them. Returns what happened."""
    report = DeliveryReport()
    deliverer = Deliverer(session, tokens, http)
    with _loaded_across_commits(session):
        for row in claim(session, batch):
            state = deliverer.send(row)
            if state == "delivered":
                report.delivered += 1
                report.latencies.append((utcnow() - row.created_at).total_seconds())
            elif state == "parked":
                report.parked += 1
            else:
                report.retried += 1
    return report


# --- operators -------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutboxStatus:
    counts: dict[str, int]
    oldest_waiting: datetime | None
    parked: list[ScoreMessage]

    @property
    def waiting(self) -> int:
        return self.counts.get("queued", 0) + self.counts.get("sending", 0)


def outbox_status(session: Session, parked_limit: int = 50) -> OutboxStatus:
    counts = {state: n for state, n in session.execute(
        select(ScoreMessage.state, func.count()).group_by(ScoreMessage.state))}
    oldest = session.scalar(select(func.min(ScoreMessage.created_at)).where(
        ScoreMessage.state.in_(("queued", "sending"))))
    parked = list(session.scalars(select(ScoreMessage).where(ScoreMessage.state == "parked")
                                  .order_by(ScoreMessage.id.desc()).limit(parked_limit)))
    return OutboxStatus(counts, oldest, parked)


def retry_parked(session: Session, ids: list[int] | None = None) -> int:
    """Put parked scores back in the queue (all, or the given ids), unless a newer one exists."""
    query = select(ScoreMessage).where(ScoreMessage.state == "parked")
    if ids:
        query = query.where(ScoreMessage.id.in_(ids))
    count = 0
    for row in session.scalars(query):
        newer = session.scalar(select(func.count()).where(
            ScoreMessage.grade_target_id == row.grade_target_id, ScoreMessage.user_id == row.user_id,
            ScoreMessage.timestamp > row.timestamp, ScoreMessage.state.in_(("queued", "sending", "delivered"))))
        row.state = "superseded" if newer else "queued"
        row.attempts = 0
        row.next_attempt_at = utcnow()
        count += 0 if newer else 1
    session.commit()
    return count


class WorkerThread(threading.Thread):
    """The embedded default: the grade worker as a thread in the web process."""

    def __init__(self, round_: Callable[[], DeliveryReport], interval: float = 1.0) -> None:
        super().__init__(name="grade-worker", daemon=True)
        self._round = round_
        self._interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                report = self._round()
            except Exception:  # noqa: BLE001 - the worker must outlive any one bad round
                log.exception("grade delivery round failed")
                report = DeliveryReport()
            if report.handled == 0:
                self.stopped.wait(self._interval)

    def stop(self) -> None:
        self.stopped.set()


