"""The grade worker outlives its database and Redis: after a dropped connection, a database
outage or restart and a Redis outage it logs once, backs off, reconnects and delivers every score
queued before or during the outage exactly once. Real drops on PostgreSQL: pg_terminate_backend,
and TCP proxies the test stops and starts (never the machine's own services)."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from sqlalchemy import select

from config.settings import database_uri
from lti_tool import create_app
from lti_tool.demo_lms.models import DemoLineItem, DemoScore
from lti_tool.extensions import db
from lti_tool.grading.delivery import Outage, run_rounds
from lti_tool.lti.keys import ensure_key
from lti_tool.models import GradeTarget, LaunchRecord, ScoreMessage
from lti_tool.runtime import delivery_round
from tests.conftest import settings_for
from tests.integration.test_grades import deliver_all, queue_scores
from tests.integration.test_learning import launch_id
from tests.support.lms import lms
from tests.support.logs import records_of
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import wait_for


@pytest.fixture
def worker_log() -> Iterator[list[logging.LogRecord]]:
    """The grade worker's log records."""
    with records_of("lti_tool.grading.delivery") as records:
        yield records


def said(records: list[logging.LogRecord], text: str) -> list[logging.LogRecord]:
    return [r for r in records if text in r.getMessage()]


@dataclass
class Worker:
    """`flask grades worker`'s loop (run_rounds over delivery_round) in a thread of the test."""

    app: Flask
    outage: Outage
    stop: threading.Event
    thread: threading.Thread

    @classmethod
    def start(cls, app: Flask) -> Worker:
        # Short back-off so the test sees several failed rounds in a short outage.
        outage = Outage(first_delay=0.05, ceiling=0.5)
        stop = threading.Event()
        thread = threading.Thread(target=run_rounds, args=(delivery_round(app), stop),
                                  kwargs={"interval": 0.1, "outage": outage}, daemon=True)
        thread.start()
        return cls(app, outage, stop, thread)

    def end(self) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()


# --- PostgreSQL and Redis, each behind a proxy of the test's own ---------------------------------

@dataclass
class Proxied:
    app: Flask
    database: TcpProxy
    redis: TcpProxy
    application_name: str


@pytest.fixture
def proxied(live, tmp_path: Path) -> Iterator[Proxied]:
    """A worker app sharing the live services app's schema and Redis prefix, but reaching both
    through proxies; and without pool_pre_ping, so a dropped connection is the worker's to handle."""
    if live.backend != "services":
        pytest.skip("PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL)")
    pg_url, redis_url = os.environ["TEST_DATABASE_URL"], os.environ["TEST_REDIS_URL"]
    database = TcpProxy.for_url(pg_url, 5432).start()
    redis = TcpProxy.for_url(redis_url, 6379).start()
    name = "il-worker-" + uuid.uuid4().hex[:8]
    search_path = live.app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"]
    settings = settings_for("embedded", tmp_path, live.base_url,
                            SQLALCHEMY_DATABASE_URI=database_uri(database.url(pg_url)),
                            SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {
                                "options": search_path, "application_name": name, "connect_timeout": 5}},
                            REDIS_URL=redis.url(redis_url), REDIS_PREFIX=live.app.config["REDIS_PREFIX"])
    app = create_app(settings)
    yield Proxied(app, database, redis, name)
    database.stop()
    redis.stop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def queue(proxied, app, agent, make_learner: Callable[[], str]) -> Callable[[int], tuple[list[int], list[str]]]:
    """Queues final scores for fresh learners on the large demo course's graded link, straight
    into the outbox (as learners' submissions do), for the worker alone to deliver."""
    home = agent.launch(make_learner(), "stor-kursus", "rl-stor")
    deliver_all(app)  # what is due now goes with the live app: the worker's rounds start empty
    db.session.rollback()
    # The link of this launch (another test may have registered the demo LMS a second time).
    link_id = db.session.get(LaunchRecord, launch_id(home.url)).resource_link_id
    target = db.session.scalars(select(GradeTarget).where(GradeTarget.resource_link_id == link_id)).one()

    def scores(count: int) -> tuple[list[int], list[str]]:
        subs = [make_learner() for _ in range(count)]
        rows = queue_scores(target, subs)
        return [row.id for row in rows], subs

    return scores


def delivered(ids: list[int]) -> bool:
    db.session.rollback()
    states = db.session.scalars(select(ScoreMessage.state).where(ScoreMessage.id.in_(ids))).all()
    return bool(states) and all(state == "delivered" for state in states)


def assert_received_once(subs: list[str]) -> None:
    with lms() as session:
        items = session.scalars(select(DemoLineItem.id).where(DemoLineItem.resource_link_id == "rl-stor")).all()
        received = session.scalars(select(DemoScore).where(DemoScore.user_id.in_(subs),
                                                           DemoScore.line_item_id.in_(items))).all()
        assert sorted(s.user_id for s in received) == sorted(subs)
        assert [s.received for s in received] == [1] * len(subs)  # exactly once each


def test_worker_survives_a_dropped_database_connection(proxied, queue, worker_log) -> None:
    worker = Worker.start(proxied.app)
    try:
        def backends() -> list[int]:
            with psycopg.connect(os.environ["TEST_DATABASE_URL"], autocommit=True) as conn:
                return [pid for (pid,) in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (proxied.application_name,))]

        pids = wait_for(backends, what="the worker's database connection")
        with psycopg.connect(os.environ["TEST_DATABASE_URL"], autocommit=True) as conn:
            for pid in pids:
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        wait_for(lambda: worker.outage.dependency == "database" or not set(backends()) & set(pids),
                 what="the dropped connection to be gone")
        ids, subs = queue(4)

        wait_for(lambda: delivered(ids), what="the scores to be delivered after the drop")
        assert worker.thread.is_alive()
        assert_received_once(subs)
        assert len(said(worker_log, "database is unreachable")) <= 1  # at most once, never per round
        assert not [r for r in worker_log if r.exc_info]  # no traceback
    finally:
        worker.end()


def test_worker_rides_out_a_database_outage_and_restart(proxied, queue, worker_log) -> None:
    before_ids, before_subs = queue(3)
    proxied.database.stop()  # the database goes away before the worker has seen these scores
    worker = Worker.start(proxied.app)
    try:
        during_ids, during_subs = queue(3)  # queued during the outage
        wait_for(lambda: worker.outage.dependency == "database" and worker.outage.failures >= 3,
                 what="the worker to fail a few rounds against the missing database")
        assert len(said(worker_log, "database is unreachable")) == 1  # logged once, not per round
        assert not delivered(before_ids)

        proxied.database.start()  # back, as after a restart, on the same address
        wait_for(lambda: delivered(before_ids + during_ids), what="the scores to be delivered after the outage")
        assert worker.thread.is_alive()
        assert_received_once(before_subs + during_subs)
        # The worker says the outage is over after the round that delivered: wait for the round's end.
        wait_for(lambda: worker.outage.dependency is None, what="the worker to note that the database is back")
        assert len(said(worker_log, "database available again")) == 1
        assert not [r for r in worker_log if r.exc_info]

        # A restart while the worker holds connections: they are cut, the worker reconnects.
        proxied.database.stop()
        proxied.database.start()
        after_ids, after_subs = queue(2)
        wait_for(lambda: delivered(after_ids), what="the scores to be delivered after the restart")
        assert_received_once(after_subs)
    finally:
        worker.end()


def test_worker_rides_out_a_redis_outage(proxied, queue, worker_log) -> None:
    worker = Worker.start(proxied.app)
    try:
        proxied.redis.stop()
        ids, subs = queue(3)
        wait_for(lambda: worker.outage.dependency == "redis" and worker.outage.failures >= 2,
                 what="the worker to fail a few rounds against the missing Redis")
        assert len(said(worker_log, "Redis is unreachable")) == 1
        # The claimed scores went back to the queue unsent, the attempt not counted.
        db.session.rollback()
        rows = db.session.scalars(select(ScoreMessage).where(ScoreMessage.id.in_(ids))).all()
        assert {(r.state, r.attempts) for r in rows} == {("queued", 0)}

        proxied.redis.start()
        wait_for(lambda: delivered(ids), what="the scores to be delivered after the Redis outage")
        assert worker.thread.is_alive()
        assert_received_once(subs)
        # The worker says the outage is over after the round that delivered: wait for the round's end.
        wait_for(lambda: worker.outage.dependency is None, what="the worker to note that Redis is back")
        assert len(said(worker_log, "redis available again")) == 1
    finally:
        worker.end()


# --- no signing key (any backend) ----------------------------------------------------------------

def test_worker_without_a_signing_key_says_so_once_and_waits(make_app, worker_log) -> None:
    app = make_app()  # migrated, no key: a fresh install before `flask keys ensure`
    worker = Worker.start(app)
    try:
        wait_for(lambda: worker.outage.dependency == "signing_key" and worker.outage.failures >= 5,
                 what="several rounds without a key")
        [line] = said(worker_log, "no signing key")
        assert "flask keys ensure" in line.getMessage() and line.exc_info is None
        assert not [r for r in worker_log if r.exc_info]  # no traceback per round

        with app.app_context():
            ensure_key(db.session(), app.config["SECRET_KEY"])
            db.session.remove()
        wait_for(lambda: worker.outage.dependency is None, what="the worker to go on with the key")
        assert len(said(worker_log, "signing_key available again")) == 1
        assert worker.thread.is_alive()
    finally:
        worker.end()
