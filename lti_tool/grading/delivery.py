"""Delivering the outbox to the platforms' AGS endpoints, so no score is ever lost.

Workers claim due rows in a short transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so any
number of workers share one outbox), lease them under a token of their own, send them outside
any transaction, and record the outcome. Before each send a worker renews that row's lease, and
it writes every outcome with a conditional UPDATE: a row whose lease ran out while the batch was
slow and that another worker took over is neither sent nor overwritten by the first worker.
At most one row per (line item, learner) is in flight, and a row with a newer score behind it is
superseded instead of sent or queued again, so scores arrive in order. 429, 5xx and timeouts are
retried with exponential back-off and jitter (never sooner than a Retry-After asks); 409 means
the LMS already holds this or a newer score and counts as delivered; any other 4xx is parked
for the operator.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Table, and_, bindparam, exists, func, select, update
from sqlalchemy.orm import Session, aliased, scoped_session
from sqlalchemy.orm.attributes import set_committed_value

from lti_tool.errors import DATABASE, REDIS, failing_dependency, summary
from lti_tool.lti.keys import KeyError_
from lti_tool.lti.services import (
    PlatformAuth,
    ServiceClient,
    ServiceError,
    TokenClient,
    find_or_create_line_item,
    post_score,
    retry_after_seconds,
)
from lti_tool.models import GradeTarget, OutboxState, Platform, ResourceLink, ScoreMessage, utcnow
from lti_tool.web.metrics import DEPENDENCY_UNAVAILABLE

log = logging.getLogger(__name__)

# States of a score that still counts: a newer one in any of them supersedes an older score.
_ALIVE = (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.DELIVERED)

LEASE = timedelta(seconds=120)  # per row: renewed before each send, so it covers one send, not a batch
BASE_DELAY = 2.0
MAX_DELAY = 3600.0
MAX_ATTEMPTS = 30  # about a day of retries at the longest delay before the operator is asked


@dataclass
class DeliveryReport:
    """What one delivery round did with the scores it claimed, and how long the sends took."""

    delivered: int = 0
    retried: int = 0
    parked: int = 0
    superseded: int = 0
    # Rows another worker took over after this one's lease ran out; not this worker's to count.
    lost: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def handled(self) -> int:
        """The rows this round settled (not counting those lost to another worker)."""
        return self.delivered + self.retried + self.parked + self.superseded


def backoff(attempts: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential, capped, with ±50 % jitter so a recovering LMS is not hit by a thundering herd."""
    exponent = min(max(0, attempts - 1), 32)  # 2 s · 2³² is far past the cap; no float overflow
    delay = min(MAX_DELAY, BASE_DELAY * 2**exponent)
    return timedelta(seconds=delay * (0.5 + rng()))


def retry_delay(attempts: int, retry_after: float | None = None,
                rng: Callable[[], float] = random.random) -> timedelta | None:
    """How long to wait before the next try, or None when the row goes to the operator.

    Never sooner than the platform's Retry-After (capped at MAX_DELAY, so one answer cannot hold
    a score back for days), and never sooner than the back-off either."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = backoff(attempts, rng)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=min(max(retry_after, 0.0), MAX_DELAY)))
    return delay


def _newer_exists() -> ColumnElement[bool]:
    """A newer score for the same line item and learner is waiting, in flight or delivered."""
    newer = aliased(ScoreMessage)
    return exists().where(and_(
        newer.grade_target_id == ScoreMessage.grade_target_id, newer.user_id == ScoreMessage.user_id,
        newer.timestamp > ScoreMessage.timestamp, newer.state.in_(_ALIVE),
    ))


# Performance: the "delivered" outcome, written once per score, as a statement built once with
# bound parameters. Building an ORM UPDATE per score cost twice the CPU of executing this one.
_OUTBOX = cast(Table, ScoreMessage.__table__)
_DELIVERED = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("b_id"), _OUTBOX.c.lease_owner == bindparam("b_owner"),
           _OUTBOX.c.state == OutboxState.SENDING)
    .values(state=OutboxState.DELIVERED, lease_owner=None, lease_until=None, last_error=bindparam("b_error"),
            delivered_at=bindparam("b_at"))
)


@dataclass(frozen=True)
class Claim:
    """The rows one worker round leased, and the token its lease is held under."""

    owner: str
    rows: list[ScoreMessage]


def claim(session: Session, limit: int, now: datetime | None = None, *, lease: timedelta = LEASE) -> Claim:
    """Lease up to `limit` due rows for this worker, under a new owner token, and commit the lease."""
    now = now or utcnow()
    owner = uuid.uuid4().hex
    other = aliased(ScoreMessage)
    in_flight = exists().where(and_(
        other.grade_target_id == ScoreMessage.grade_target_id, other.user_id == ScoreMessage.user_id,
        other.state == OutboxState.SENDING, other.lease_until > now, other.id != ScoreMessage.id,
    ))
    due = (
        (ScoreMessage.state == OutboxState.QUEUED) & (ScoreMessage.next_attempt_at <= now)
    ) | ((ScoreMessage.state == OutboxState.SENDING) & (ScoreMessage.lease_until <= now))
    # Performance: `state IN (...)` is implied by `due`, but only with it can PostgreSQL use the
    # (state, next_attempt_at) index; without it the planner walks the primary key past every
    # delivered row ever kept, so each claim (every second, even idle) grew with the history.
    waiting = ScoreMessage.state.in_((OutboxState.QUEUED, OutboxState.SENDING))
    query = select(ScoreMessage.id).where(waiting, due, ~in_flight).order_by(ScoreMessage.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=ScoreMessage)
    ids = list(session.scalars(query))
    rows: list[ScoreMessage] = []
    if ids:
        # The UPDATE repeats the conditions: SQLite has no row locks, so another worker may have
        # claimed (or renewed) one of these rows between the SELECT and this statement.
        session.execute(
            update(ScoreMessage).where(ScoreMessage.id.in_(ids), waiting, due)
            .values(state=OutboxState.SENDING, lease_owner=owner, lease_until=now + lease,
                    attempts=ScoreMessage.attempts + 1)
            .execution_options(synchronize_session=False))
        rows = list(session.scalars(
            select(ScoreMessage).where(ScoreMessage.id.in_(ids), ScoreMessage.lease_owner == owner)
            .order_by(ScoreMessage.id).execution_options(populate_existing=True)))
    session.commit()
    return Claim(owner, rows)


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
    """Sends the rows one worker claimed, under its lease `owner`, and records each outcome."""

    def __init__(self, session: Session, tokens: TokenClient, http: Any, *, owner: str,
                 lease: timedelta = LEASE) -> None:
        self._session = session
        self._tokens = tokens
        self._http = http
        self._owner = owner
        self._lease = lease
        # Line items and their platforms read this round, by line item id: read once per round,
        # not per score (see _loaded_across_commits).
        self._targets: dict[int, tuple[GradeTarget | None, Platform | None]] = {}

    def _client(self, platform: Platform) -> ServiceClient:
        auth = PlatformAuth(platform.id, platform.client_id, platform.auth_token_url, platform.auth_audience)
        return ServiceClient(self._tokens, self._http, auth)

    def _line_item(self, target: GradeTarget, client: ServiceClient) -> str:
        if target.lineitem_url:
            return target.lineitem_url
        # One worker at a time finds or creates a link's line item: the row lock (PostgreSQL;
        # SQLite runs a single worker) makes a second worker wait here and then read the URL the
        # first one stored, instead of creating a second column in the gradebook. NO KEY UPDATE,
        # so learners' new outbox rows (foreign keys to this row) are not held up meanwhile.
        locked = self._session.scalars(
            select(GradeTarget).where(GradeTarget.id == target.id).with_for_update(key_share=True)
            .execution_options(populate_existing=True)).first()
        try:
            if locked is None:
                raise ServiceError("the line item target no longer exists", retry=False)
            if locked.lineitem_url:
                return locked.lineitem_url
            if not locked.lineitems_url:
                raise ServiceError("the platform gave no line item and no line-item container", retry=False)
            link = self._session.get(ResourceLink, locked.resource_link_id)
            assert link is not None
            resource_id = link.module_id or link.programme_id or "integrationsloeft"
            url = find_or_create_line_item(client, locked.lineitems_url, resource_id=resource_id,
                                           resource_link_id=link.resource_link_id, label=locked.label,
                                           score_maximum=locked.score_maximum, tag="integrationsloeft")
            locked.lineitem_url = url
            return url
        finally:
            self._session.commit()  # stores the URL if found, and releases the lock either way

    def send(self, row: ScoreMessage) -> OutboxState:
        """Send one leased row; returns its new state (OutboxState.LOST: another worker holds it now)."""
        held = self._hold(row)
        if held != OutboxState.SENDING:
            return held
        found = self._targets.get(row.grade_target_id)
        if found is None:
            target = self._session.get(GradeTarget, row.grade_target_id)
            platform = self._session.get(Platform, target.platform_id) if target else None
            found = self._targets[row.grade_target_id] = (target, platform)
        target, platform = found
        if target is None or platform is None:
            return self._finish(row, OutboxState.PARKED, "the line item or platform no longer exists")
        try:
            client = self._client(platform)
            response = post_score(client, self._line_item(target, client), _score_body(row))
        except ServiceError as exc:
            return self._failed(row, str(exc), retry=exc.retry, retry_after=exc.retry_after)
        status = response.status_code
        if 200 <= status < 300 or status == 409:
            # 409: the LMS already holds a score at least this new (Moodle): nothing to resend.
            return self._finish(row, OutboxState.DELIVERED, None if status != 409 else "409: LMS holds a newer score")
        message = f"{status}: {response.text[:500]}"
        return self._failed(row, message, retry=status in (401, 408, 429) or status >= 500,
                            retry_after=retry_after_seconds(response.headers.get("Retry-After")))

    def _write(self, row: ScoreMessage, *conditions: ColumnElement[bool], **values: Any) -> bool:
        """Change the row only while this worker still holds its lease; commit. True if it did."""
        result = self._session.execute(
            update(ScoreMessage)
            .where(ScoreMessage.id == row.id, ScoreMessage.lease_owner == self._owner,
                   ScoreMessage.state == OutboxState.SENDING, *conditions)
            .values(**values).execution_options(synchronize_session=False))
        return self._written(row, result, values)

    def _write_delivered(self, row: ScoreMessage, values: dict[str, Any]) -> bool:
        """_write for the outcome of nearly every score, through a statement built once."""
        result = self._session.execute(_DELIVERED, {
            "b_id": row.id, "b_owner": self._owner, "b_error": values["last_error"],
            "b_at": values["delivered_at"]})
        return self._written(row, result, values)

    def _written(self, row: ScoreMessage, result: Any, values: dict[str, Any]) -> bool:
        self._session.commit()
        if cast(CursorResult[Any], result).rowcount != 1:
            return False
        for key, value in values.items():  # the loaded row says what the database says, unchanged
            set_committed_value(row, key, value)
        return True

    def _lost(self, row: ScoreMessage) -> OutboxState:
        log.warning("score %s: lease lost to another worker; this worker's outcome is not recorded", row.id)
        return OutboxState.LOST

    def _supersede_or_lose(self, row: ScoreMessage, message: str | None) -> OutboxState:
        """A write conditional on "no newer score" failed: a newer one exists, or the lease is gone."""
        if self._write(row, state=OutboxState.SUPERSEDED, lease_owner=None, lease_until=None, last_error=message):
            log.info("score %s superseded by a newer one for the same line item and learner", row.id)
            return OutboxState.SUPERSEDED
        return self._lost(row)

    def _hold(self, row: ScoreMessage) -> OutboxState:
        """Make sure the row is still this worker's before sending it; renew the lease if it is
        running out, unless another worker took the row over meanwhile.

        Performance: on a row's first attempt, while more than half the lease is left, there is
        nothing to write (one commit per score instead of two): nobody else can have claimed the
        row, and a newer score for the same learner waits in `claim` while this one is in flight.
        A row on a later attempt may have been taken back from a worker that died, next to a newer
        score claimed meanwhile: it is always checked, and superseded rather than sent late.
        """
        now = utcnow()
        if row.attempts == 1 and row.lease_until is not None and row.lease_until - now > self._lease / 2:
            return OutboxState.SENDING
        if self._write(row, ~_newer_exists(), lease_until=now + self._lease):
            return OutboxState.SENDING
        return self._supersede_or_lose(row, row.last_error)

    def _failed(self, row: ScoreMessage, message: str, *, retry: bool, retry_after: float | None = None) -> OutboxState:
        delay = retry_delay(row.attempts, retry_after) if retry else None
        if delay is None:
            log.warning("score %s parked after %s attempts: %s", row.id, row.attempts, message)
            return self._finish(row, OutboxState.PARKED, message)
        # Queued again only if no newer score came meanwhile: sent after it, it would overwrite it.
        if self._write(row, ~_newer_exists(), state=OutboxState.QUEUED, lease_owner=None, lease_until=None,
                       last_error=message, next_attempt_at=utcnow() + delay):
            log.info("score %s will be retried (attempt %s): %s", row.id, row.attempts, message)
            return OutboxState.QUEUED
        return self._supersede_or_lose(row, message)

    def _finish(self, row: ScoreMessage, state: OutboxState, message: str | None) -> OutboxState:
        values: dict[str, Any] = {"state": state, "lease_owner": None, "lease_until": None, "last_error": message}
        if state == OutboxState.DELIVERED:
            values["delivered_at"] = utcnow()
            return state if self._write_delivered(row, values) else self._lost(row)
        # Parked: a row with a newer score behind it needs no operator; it is superseded.
        if self._write(row, ~_newer_exists(), **values):
            return state
        return self._supersede_or_lose(row, message)


@contextmanager
def _loaded_across_commits(session: Session) -> Iterator[None]:
    """Performance: keep what the round has read loaded across its own commits.

    Each claimed row is committed on its own, and every commit expired every object, so each
    row was read again twice and its line item and platform once more per score (five queries
    per score instead of one UPDATE). Rows are never written from these objects: every change
    is a conditional UPDATE on the lease (Deliverer._write), which also keeps them in step.
    Line items and platforms are read once per round instead of per score.
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


def deliver_due(session: Session, tokens: TokenClient, http: Any, *, batch: int = 50,
                lease: timedelta = LEASE) -> DeliveryReport:
    """One round: claim due scores and send them. Returns what happened."""
    report = DeliveryReport()
    with _loaded_across_commits(session):
        claimed = claim(session, batch, lease=lease)
        deliverer = Deliverer(session, tokens, http, owner=claimed.owner, lease=lease)
        for index, row in enumerate(claimed.rows):
            try:
                state = deliverer.send(row)
            except Exception as exc:
                # Redis fails only while getting a token, before the score is posted, so the row
                # in hand was not sent either. After a database error it may have been: it stays
                # leased and is taken back when the lease runs out, as from a worker that died.
                unsent = claimed.rows[index if failing_dependency(exc) == REDIS else index + 1:]
                _release(session, claimed.owner, unsent)
                raise
            if state == OutboxState.DELIVERED:
                report.delivered += 1
                report.latencies.append((utcnow() - row.created_at).total_seconds())
            elif state == OutboxState.PARKED:
                report.parked += 1
            elif state == OutboxState.SUPERSEDED:
                report.superseded += 1
            elif state == OutboxState.LOST:
                report.lost += 1
            else:
                report.retried += 1
    return report


def _release(session: Session, owner: str, rows: list[ScoreMessage]) -> None:
    """Give claimed rows that were not sent back to the queue at once, the attempt not counted
    (instead of holding them until their lease runs out). Best effort: the database may be gone."""
    if not rows:
        return
    try:
        session.rollback()
        session.execute(
            update(ScoreMessage)
            .where(ScoreMessage.id.in_([row.id for row in rows]), ScoreMessage.lease_owner == owner,
                   ScoreMessage.state == OutboxState.SENDING)
            .values(state=OutboxState.QUEUED, lease_owner=None, lease_until=None, next_attempt_at=utcnow(),
                    attempts=ScoreMessage.attempts - 1)
            .execution_options(synchronize_session=False))
        session.commit()
    except Exception:  # noqa: BLE001 - the leases run out instead
        log.debug("could not give back %s claimed score(s); their leases will run out", len(rows))


# --- operators -------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlatformDelivery:
    """One platform's share of the outbox and the last error its LMS answered, if one still stands."""

    name: str
    waiting: int
    parked: int
    last_error: str | None  # the newest undelivered score's error: "503: …", "400: Incorrect score …"


@dataclass(frozen=True)
class OutboxStatus:
    """The outbox at a glance for operators: rows per state, the oldest waiting, the latest parked."""

    counts: dict[str, int]
    oldest_waiting: datetime | None
    parked: list[ScoreMessage]
    platforms: list[PlatformDelivery] = field(default_factory=list)

    @property
    def waiting(self) -> int:
        """The scores not yet delivered and not parked (queued or being sent)."""
        return self.counts.get(OutboxState.QUEUED, 0) + self.counts.get(OutboxState.SENDING, 0)


_UNDELIVERED = (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.PARKED)


def platform_deliveries(session: Session) -> list[PlatformDelivery]:
    """Per platform with scores not yet delivered: how many wait or are parked, and the error the
    LMS gave for the newest of them. A delivered score clears its error, so what shows still stands."""
    counts: dict[int, dict[str, int]] = {}
    for platform_id, state, n in session.execute(
            select(GradeTarget.platform_id, ScoreMessage.state, func.count())
            .join(GradeTarget, GradeTarget.id == ScoreMessage.grade_target_id)
            .where(ScoreMessage.state.in_(_UNDELIVERED))
            .group_by(GradeTarget.platform_id, ScoreMessage.state)):
        counts.setdefault(platform_id, {})[state] = n
    if not counts:
        return []
    newest = (select(GradeTarget.platform_id, func.max(ScoreMessage.id).label("message_id"))
              .join(GradeTarget, GradeTarget.id == ScoreMessage.grade_target_id)
              .where(ScoreMessage.state.in_(_UNDELIVERED), ScoreMessage.last_error.is_not(None))
              .group_by(GradeTarget.platform_id).subquery())
    errors: dict[int, str | None] = {platform_id: error for platform_id, error in session.execute(
        select(newest.c.platform_id, ScoreMessage.last_error)
        .join(ScoreMessage, ScoreMessage.id == newest.c.message_id))}
    names = {platform_id: name for platform_id, name in session.execute(
        select(Platform.id, Platform.name).where(Platform.id.in_(counts)))}
    return sorted((PlatformDelivery(
        name=names.get(platform_id, str(platform_id)),
        waiting=by_state.get(OutboxState.QUEUED, 0) + by_state.get(OutboxState.SENDING, 0),
        parked=by_state.get(OutboxState.PARKED, 0), last_error=errors.get(platform_id))
        for platform_id, by_state in counts.items()), key=lambda p: p.name.casefold())


def outbox_status(session: Session, parked_limit: int = 50, *, per_platform: bool = False) -> OutboxStatus:
    """Counts by state, the oldest waiting score, the parked ones; per platform when asked."""
    counts = {state: n for state, n in session.execute(
        select(ScoreMessage.state, func.count()).group_by(ScoreMessage.state))}
    oldest = session.scalar(select(func.min(ScoreMessage.created_at)).where(
        ScoreMessage.state.in_((OutboxState.QUEUED, OutboxState.SENDING))))
    parked = list(session.scalars(select(ScoreMessage).where(ScoreMessage.state == OutboxState.PARKED)
                                  .order_by(ScoreMessage.id.desc()).limit(parked_limit)))
    return OutboxStatus(counts, oldest, parked, platform_deliveries(session) if per_platform else [])


def retry_parked(session: Session, ids: list[int] | None = None) -> int:
    """Put parked scores back in the queue (all, or the given ids), unless a newer one exists."""
    query = select(ScoreMessage).where(ScoreMessage.state == OutboxState.PARKED)
    if ids:
        query = query.where(ScoreMessage.id.in_(ids))
    count = 0
    for row in session.scalars(query):
        newer = session.scalar(select(func.count()).where(
            ScoreMessage.grade_target_id == row.grade_target_id, ScoreMessage.user_id == row.user_id,
            ScoreMessage.timestamp > row.timestamp, ScoreMessage.state.in_(_ALIVE)))
        row.state = OutboxState.SUPERSEDED if newer else OutboxState.QUEUED
        row.attempts = 0
        row.next_attempt_at = utcnow()
        count += 0 if newer else 1
    session.commit()
    return count


# --- the worker loop ---------------------------------------------------------------------------

SIGNING_KEY = "signing_key"  # what the worker waits for when the tool has no key yet

_WAITING = {
    DATABASE: "grade worker: the database is unreachable (%s); scores wait in the outbox, retrying with back-off",
    REDIS: "grade worker: Redis is unreachable (%s); scores wait in the outbox, retrying with back-off",
    SIGNING_KEY: "grade worker: the tool has no signing key (%s); waiting for `flask keys ensure`",
}


class Outage:
    """What the worker loop knows of a failing dependency: it logs the start of an outage once and
    its end once (not a traceback per round), counts each failed round in the metrics, and waits
    longer after each failure, up to `ceiling` seconds."""

    def __init__(self, first_delay: float = 1.0, ceiling: float = 30.0,
                 rng: Callable[[], float] = random.random) -> None:
        self.first_delay = first_delay
        self.ceiling = ceiling
        self._rng = rng
        self.dependency: str | None = None
        self.failures = 0

    def failed(self, dependency: str | None, error: BaseException) -> float:
        """Note a failed round; returns the seconds to wait before the next one."""
        what = dependency or "error"
        if dependency is None:  # a bug, not an outage: its traceback every time, but no busy loop
            log.exception("grade delivery round failed")
        elif what != self.dependency:
            log.warning(_WAITING[what], summary(error), extra={"dependency": what})
        DEPENDENCY_UNAVAILABLE.labels(what, "worker").inc()
        self.dependency = what
        self.failures += 1
        delay = min(self.ceiling, self.first_delay * 2 ** min(self.failures - 1, 16))
        return float(delay * (0.75 + self._rng() / 2))  # jitter: workers do not reconnect in step

    def recovered(self) -> None:
        """A round went through: log the end of an outage, if there was one."""
        if self.dependency is not None:
            log.warning("grade worker: %s available again after %s failed round(s); delivering",
                        self.dependency, self.failures, extra={"dependency": self.dependency})
        self.dependency = None
        self.failures = 0


def run_rounds(round_: Callable[[], DeliveryReport], stop: threading.Event, *, interval: float = 1.0,
               once: bool = False, outage: Outage | None = None,
               on_report: Callable[[DeliveryReport], None] | None = None) -> None:
    """The grade worker: delivery rounds until `stop` is set, waiting `interval` when nothing is due.

    A round that fails because the database or Redis does not answer, or because the tool has no
    signing key yet, is logged once and retried with back-off; the next round reconnects (the
    pool drops connections found broken). With `once`, one round and its failure is raised."""
    outage = outage or Outage()
    while not stop.is_set():
        try:
            report = round_()
        except Exception as exc:  # noqa: BLE001 - the worker must outlive its dependencies
            dependency = SIGNING_KEY if isinstance(exc, KeyError_) else failing_dependency(exc)
            delay = outage.failed(dependency, exc)
            if once:
                raise
            stop.wait(delay)
            continue
        outage.recovered()
        if on_report is not None:
            on_report(report)
        if once:
            return
        if report.handled == 0:
            stop.wait(interval)


class WorkerThread(threading.Thread):
    """The embedded default: the grade worker as a thread in the web process."""

    def __init__(self, round_: Callable[[], DeliveryReport], interval: float = 1.0) -> None:
        super().__init__(name="grade-worker", daemon=True)
        self._round = round_
        self._interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        """Deliver rounds until `stop` is called."""
        run_rounds(self._round, self.stopped, interval=self._interval)

    def stop(self) -> None:
        """Ask the thread to stop; it ends after the round it is in."""
        self.stopped.set()


