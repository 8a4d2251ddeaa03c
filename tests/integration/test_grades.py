"""Scores reach the demo LMS gradebook over real tokens, through outages, exactly once."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lti_tool.demo_lms.models import DemoLineItem, DemoResourceLink, DemoScore
from lti_tool.demo_lms.views import CONTAINER_KEY, OUTAGE_KEY
from lti_tool.extensions import db
from lti_tool.grading import delivery
from lti_tool.lti import services
from lti_tool.lti.http import TimeoutSession
from lti_tool.models import GradeTarget, LaunchRecord, Platform, ResourceLink, ScoreMessage, User, utcnow
from lti_tool.runtime import runtime
from tests.integration.test_learning import catalog, grade_pending, launch_id
from tests.support.agent import landing_url
from tests.support.learner import correct_answer, csrf_of, submit, work_through
from tests.support.lms import lms, lms_command, lms_store
from tests.support.waiting import wait_for


def deliver_all(app, rounds: int = 20) -> None:
    """Run worker rounds until nothing is due (treating back-off as elapsed)."""
    for _ in range(rounds):
        db.session.rollback()
        db.session.execute(update(ScoreMessage).where(ScoreMessage.state == "queued")
                           .values(next_attempt_at=utcnow()))
        db.session.commit()
        report = runtime().deliver_scores(db.session)
        if report.handled == 0:
            return


def demo_score(user: str, link: str = "rl-stor") -> DemoScore | None:
    with lms() as session:
        item = session.scalars(select(DemoLineItem).where(DemoLineItem.resource_link_id == link)).first()
        return session.scalars(select(DemoScore).where(DemoScore.line_item_id == item.id,
                                                       DemoScore.user_id == user)).first() if item else None


def user_id_of(home_url: str) -> int:
    db.session.rollback()
    return db.session.get(LaunchRecord, launch_id(home_url)).user_id


@pytest.fixture
def lms_switches(live) -> Iterator[Any]:
    """The demo LMS's outage and line-item container switches, always switched off afterwards."""
    store = lms_store()
    yield store
    store.delete(OUTAGE_KEY)
    store.delete(CONTAINER_KEY)


class WatchedHTTP(TimeoutSession):
    """The tool's real HTTP session, noting every score it posts (and able to act just before)."""

    def __init__(self, app, before_score: Callable[[dict[str, Any]], None] | None = None,
                 posted: list[str] | None = None) -> None:
        super().__init__(app.config["HTTP_TIMEOUT"])
        self.posted = posted if posted is not None else []  # userId of each score POST, in order
        self._before_score = before_score
        self._lock = threading.Lock()

    def request(self, method, url, *args, **kwargs):
        if method == "POST" and str(url).endswith("/scores"):
            with self._lock:
                self.posted.append(kwargs["json"]["userId"])
            if self._before_score:
                self._before_score(kwargs["json"])
        return super().request(method, url, *args, **kwargs)


def one_round(http, *, session=None, lease: timedelta = delivery.LEASE, batch: int = 50) -> delivery.DeliveryReport:
    """One worker round as `flask grades worker` runs it, with the given HTTP session and lease."""
    session = session or db.session
    return delivery.deliver_due(session, runtime().token_client(session), http, batch=batch, lease=lease)


def target_of(link_id: str) -> GradeTarget:
    db.session.rollback()
    return db.session.scalars(select(GradeTarget).join(ResourceLink, ResourceLink.id == GradeTarget.resource_link_id)
                              .where(ResourceLink.resource_link_id == link_id)).one()


def rl_stor_target(agent, learner: str) -> GradeTarget:
    agent.launch(learner, "stor-kursus", "rl-stor")  # makes sure the line item target exists
    # The launch queued the learner's opening score (Initialized): delivered now, so the test's
    # own rows are all that is due.
    deliver_all(current_app)
    return target_of("rl-stor")


def run_workers(live, *jobs: Callable[[], None], timeout: float = 120) -> None:
    """Each job in a thread of its own, with its own app context and session, as separate
    worker processes would run; returns when all have finished."""

    def run(job: Callable[[], None]) -> None:
        with live.app.app_context():
            try:
                job()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)


def queue_scores(target: GradeTarget, subs: list[str]) -> list[ScoreMessage]:
    """A final score for each of these learners, straight into the outbox (as if just submitted)."""
    users = []
    for sub in subs:
        user = db.session.scalars(select(User).where(User.platform_id == target.platform_id, User.sub == sub)).first()
        users.append(user or User(platform_id=target.platform_id, sub=sub))
    db.session.add_all(users)
    db.session.flush()
    now = utcnow()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    rows = [ScoreMessage(grade_target_id=target.id, user_id=user.id, sub=user.sub, score_given=50, score_maximum=100,
                         activity_progress="Completed", grading_progress="FullyGraded", comment="to", timestamp=now,
                         state="queued", attempts=0, next_attempt_at=now) for user in users]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def test_progress_and_final_score_reach_the_gradebook(app, agent, fresh_learner, live):
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor")
    module = catalog(app).module("nyankomne")
    quiz = next(a for a in module.activities if a.type == "quiz")
    submit(agent, home.url, module, quiz, correct_answer(quiz))
    deliver_all(app)

    score = demo_score(fresh_learner)
    assert score is not None
    assert (score.activity_progress, score.grading_progress) == ("InProgress", "Pending")
    assert score.score_given is None  # as Moodle: only a FullyGraded score is kept
    assert "aktiviteter" in score.comment

    work_through(agent, home.url, module)
    grade_pending(app, user_id_of(home.url), module)
    deliver_all(app)

    score = demo_score(fresh_learner)
    assert (score.activity_progress, score.grading_progress) == ("Completed", "FullyGraded")
    assert score.score_given == pytest.approx(100.0)
    teacher = live.agent()
    teacher.sign_in("hanne")
    gradebook = teacher.get("/demo-lms/courses/stor-kursus/gradebook").text
    # In a coordinator's words, with the protocol's values on demand.
    shown = rf'data-user="{fresh_learner}"[^>]*>\s*<strong>100 af 100</strong><br>Gennemført · Bedømt'
    assert re.search(shown, gradebook)
    assert "activityProgress Completed · gradingProgress FullyGraded · scoreGiven 100.0 / 100.0" in gradebook


def test_outage_then_recovery_delivers_each_score_once_newest_last(app, live, make_learner):
    learners = [make_learner(), make_learner()]
    agents = {u: live.agent() for u in learners}
    homes = {u: agents[u].launch(u, "stor-kursus", "rl-stor") for u in learners}
    module = catalog(app).module("nyankomne")
    exercises = [a for a in module.activities if a.type in ("quiz", "matching", "action_plan")]
    store = lms_store()

    store.set(OUTAGE_KEY, {"mode": "503"}, 600)
    for user in learners:
        submit(agents[user], homes[user].url, module, exercises[0], correct_answer(exercises[0], wrong=True))
    deliver_all(app, rounds=2)
    store.set(OUTAGE_KEY, {"mode": "slow", "seconds": 2.5}, 600)  # longer than the tool's timeout
    for user in learners:
        submit(agents[user], homes[user].url, module, exercises[1], correct_answer(exercises[1]))
    deliver_all(app, rounds=1)
    db.session.rollback()
    waiting = db.session.scalars(select(ScoreMessage).where(ScoreMessage.state == "queued")).all()
    assert waiting and all(m.last_error for m in waiting)
    for user in learners:
        assert demo_score(user) is None  # nothing got through while the LMS was down

    store.delete(OUTAGE_KEY)
    for user in learners:
        submit(agents[user], homes[user].url, module, exercises[2], correct_answer(exercises[2]))
    deliver_all(app)

    for user in learners:
        uid = user_id_of(homes[user].url)
        rows = db.session.scalars(select(ScoreMessage).where(ScoreMessage.user_id == uid)
                                  .order_by(ScoreMessage.timestamp)).all()
        delivered = [r for r in rows if r.state == "delivered"]
        assert {r.state for r in rows} <= {"delivered", "superseded"}
        score = demo_score(user)
        assert score.received == len(delivered)  # each delivered row reached the LMS exactly once
        assert score.timestamp == rows[-1].timestamp  # and the newest is what the LMS holds
        assert delivered[-1].id == rows[-1].id


def score_token_key() -> str:
    """The store key of the demo platform's score-scope token. Tests watch that token by value, not
    by the process's fetch count: the worker's thread fetches tokens of other scopes (the roster's)."""
    db.session.rollback()
    platform = db.session.scalars(select(Platform).where(Platform.client_id == "integrationsloeft-demo")).one()
    auth = services.PlatformAuth(platform.id, platform.client_id, platform.auth_token_url, None)
    return services.TokenClient._cache_key(auth, ("https://purl.imsglobal.org/spec/lti-ags/scope/score",))


def test_token_is_cached_and_a_401_refreshes_it_once(app, agent, fresh_learner):
    key = score_token_key()
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor")
    module = catalog(app).module("nyankomne")
    exercises = [a for a in module.activities if a.is_exercise]
    submit(agent, home.url, module, exercises[0], correct_answer(exercises[0]))
    deliver_all(app)
    first = runtime().store.get(key)
    assert first is not None
    for exercise in exercises[1:3]:
        submit(agent, home.url, module, exercise, correct_answer(exercise))
        deliver_all(app)
    assert runtime().store.get(key) == first  # cached across deliveries

    # The LMS no longer accepts the cached token (expired early, revoked): one refresh, no loss.
    runtime().store.set(key, {"access_token": "expired-token", "expires_at": time.time() + 3000}, 3000)
    submit(agent, home.url, module, exercises[3], correct_answer(exercises[3]))
    deliver_all(app)

    renewed = runtime().store.get(key)
    assert renewed is not None and renewed["access_token"] not in ("expired-token", first["access_token"])
    db.session.rollback()
    uid = user_id_of(home.url)
    assert db.session.scalars(select(ScoreMessage).where(ScoreMessage.user_id == uid,
                                                         ScoreMessage.state == "queued")).all() == []


# How long a test token stays usable: a lifetime of a few seconds failed on a loaded machine,
# where the first delivery came after the token had already entered its margin.
USABLE = 15


def test_a_token_that_expires_mid_run_is_replaced_before_the_lms_refuses_it(app, live, agent, fresh_learner,
                                                                           monkeypatch):
    """Tokens of the LMS's real lifetime: the tool stops using one shortly before it expires
    (TOKEN_MARGIN) and fetches a new one, so no score meets a 401 and none waits. The token is still
    usable for USABLE seconds after it is fetched: long enough that a busy machine delivers the first
    score within them, then the test waits until they are over."""
    monkeypatch.setitem(live.lms_app.config, "DEMO_TOKEN_LIFETIME", services.TOKEN_MARGIN + USABLE)
    key = score_token_key()
    runtime().store.delete(key)
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor")
    module = catalog(app).module("nyankomne")
    exercises = [a for a in module.activities if a.is_exercise]
    deliver_all(app)
    first = runtime().store.get(key)
    assert first is not None

    submit(agent, home.url, module, exercises[0], correct_answer(exercises[0]))
    deliver_all(app)
    assert runtime().store.get(key) == first  # still within its lifetime less the margin
    # Now within TOKEN_MARGIN of its expiry (USABLE seconds after the fetch).
    wait_for(lambda: time.time() >= first["expires_at"] - services.TOKEN_MARGIN,
             what="the token to come within TOKEN_MARGIN of its expiry", limit=10 * USABLE)
    submit(agent, home.url, module, exercises[1], correct_answer(exercises[1]))
    deliver_all(app)

    renewed = runtime().store.get(key)
    assert renewed is not None and renewed["access_token"] != first["access_token"]
    db.session.rollback()
    rows = db.session.scalars(select(ScoreMessage).where(ScoreMessage.user_id == user_id_of(home.url))).all()
    assert rows and all(r.state in ("delivered", "superseded") and r.last_error is None for r in rows)
    assert all(r.attempts <= 1 for r in rows)  # no 401 and retry on the way


def test_line_item_is_created_when_the_link_has_none(app, live, fresh_learner):
    teacher = live.agent()
    page = teacher.launch("hanne", "stor-kursus", "rl-stor-manual")
    teacher.http.post(page.url, data={"csrf_token": csrf_of(page.text), "placement": "module:unge"}, timeout=30)
    learner = live.agent()
    home = learner.launch(fresh_learner, "stor-kursus", "rl-stor-manual")
    module = catalog(app).module("unge")
    quiz = next(a for a in module.activities if a.type == "quiz")
    submit(learner, home.url, module, quiz, correct_answer(quiz))
    deliver_all(app)

    with lms() as session:
        item = session.scalars(select(DemoLineItem).where(DemoLineItem.resource_link_id == "rl-stor-manual")).one()
        assert item.resource_id == "unge" and item.score_maximum == 100
    assert demo_score(fresh_learner, "rl-stor-manual") is not None


def test_rejected_score_is_parked_with_the_lms_message_and_can_be_retried(app, agent, fresh_learner, runner):
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor")
    module = catalog(app).module("nyankomne")
    quiz = next(a for a in module.activities if a.type == "quiz")
    submit(agent, home.url, module, quiz, correct_answer(quiz))
    db.session.rollback()
    uid = user_id_of(home.url)
    db.session.execute(update(ScoreMessage).where(ScoreMessage.user_id == uid, ScoreMessage.state == "queued")
                       .values(sub="not-enrolled-anywhere"))
    db.session.commit()
    deliver_all(app)

    db.session.rollback()
    parked = db.session.scalars(select(ScoreMessage).where(ScoreMessage.user_id == uid,
                                                           ScoreMessage.state == "parked")).one()
    assert "Incorrect score received" in parked.last_error
    status = runner.invoke(args=["grades", "status"])
    assert f"parked #{parked.id}" in status.output and "Incorrect score received" in status.output

    db.session.execute(update(ScoreMessage).where(ScoreMessage.id == parked.id).values(sub=fresh_learner))
    db.session.commit()
    assert "1 score(s) queued again" in runner.invoke(args=["grades", "retry", str(parked.id)]).output
    deliver_all(app)
    assert demo_score(fresh_learner) is not None


def test_two_workers_share_one_outbox_without_duplicates(app, live, agent, fresh_learner, make_learner):
    if live.backend != "services":
        pytest.skip("SKIP LOCKED needs PostgreSQL")
    target = rl_stor_target(agent, fresh_learner)
    subs = [make_learner() for _ in range(60)]
    queue_scores(target, subs)

    def worker() -> None:
        for _ in range(500):  # other tests' scores share the outbox; run until it is empty
            if runtime().deliver_scores(db.session, batch=10).handled == 0:
                break

    run_workers(live, worker, worker)

    db.session.rollback()
    rows = db.session.scalars(select(ScoreMessage).where(ScoreMessage.sub.in_(subs),
                                                         ScoreMessage.grade_target_id == target.id)).all()
    assert all(r.state == "delivered" for r in rows), [(r.sub, r.state, r.last_error) for r in rows
                                                       if r.state != "delivered"][:5]
    with lms() as session:
        item = session.scalars(select(DemoLineItem).where(DemoLineItem.resource_link_id == "rl-stor")).first()
        received = session.scalars(select(DemoScore).where(DemoScore.user_id.in_(subs),
                                                           DemoScore.line_item_id == item.id)).all()
        assert len(received) == 60 and all(s.received == 1 for s in received)


def test_roster_of_a_thousand_members_over_several_pages(app, agent):
    home = agent.launch("hanne", "stor-kursus", "rl-stor")
    db.session.rollback()
    record = db.session.get(LaunchRecord, launch_id(home.url))
    client = runtime().service_client(db.session, record.deployment.platform)
    members = services.roster(client, record.claims["nrps"]["context_memberships_url"] + "?limit=150")
    assert len(members) == 1002
    assert len({m["user_id"] for m in members}) == 1002


def test_conflict_409_counts_as_delivered_and_keeps_the_newer_score(app, agent, fresh_learner):
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor")
    module = catalog(app).module("nyankomne")
    quiz = next(a for a in module.activities if a.type == "quiz")
    submit(agent, home.url, module, quiz, correct_answer(quiz))
    deliver_all(app)
    held = demo_score(fresh_learner).timestamp

    # A score older than the one the LMS holds (e.g. sent again after a lost answer): the LMS
    # answers 409, and the tool neither retries nor parks it.
    db.session.rollback()
    uid = user_id_of(home.url)
    latest = db.session.scalars(select(ScoreMessage).where(ScoreMessage.user_id == uid)
                                .order_by(ScoreMessage.id.desc())).first()
    stale = ScoreMessage(grade_target_id=latest.grade_target_id, user_id=uid, sub=latest.sub, score_given=1,
                         score_maximum=100, activity_progress="Started", grading_progress="Pending",
                         timestamp=held, state="queued", attempts=0, next_attempt_at=utcnow())
    db.session.add(stale)
    db.session.commit()
    deliver_all(app)

    db.session.rollback()
    stale = db.session.get(ScoreMessage, stale.id)
    assert stale.state == "delivered" and "409" in stale.last_error
    assert demo_score(fresh_learner).timestamp == held


def test_embedded_grade_worker_runs_as_a_thread(make_app):
    app = make_app(GRADE_WORKER_THREAD=True)
    assert "grade_worker" not in app.extensions  # no thread for CLI commands or imports
    app.test_client().get("/healthz")
    worker = app.extensions["grade_worker"]
    assert worker.is_alive()
    worker.stop()
    worker.join(timeout=60)  # a safety net: it stops within one round
    assert not worker.is_alive()


# --- leases, ordering, line items, rate limits, back-off ----------------------------------------

def test_a_batch_that_outlives_its_lease_is_shared_not_sent_twice(app, live, agent, fresh_learner, make_learner,
                                                                 lms_switches):
    # Each score takes the LMS 0.5 s and the lease is 1.5 s: a batch of eight outlives the lease
    # of its last rows, and a second worker claims those. Each row must still reach the LMS once,
    # and nobody's outcome may overwrite the other's.
    target = rl_stor_target(agent, fresh_learner)
    subs = [make_learner() for _ in range(8)]
    rows = queue_scores(target, subs)
    lms_switches.set(OUTAGE_KEY, {"mode": "delay", "seconds": 0.5}, 600)
    posted: list[str] = []
    reports: dict[str, list[delivery.DeliveryReport]] = {"first": [], "second": []}

    def leases_ran_out() -> bool:
        """Some of the first worker's rows still wait for it, their leases run out."""
        db.session.rollback()
        return bool(db.session.scalar(select(func.count()).where(
            ScoreMessage.id.in_([r.id for r in rows]), ScoreMessage.state == "sending",
            ScoreMessage.lease_until < utcnow())))

    def worker(name: str, start_when: Callable[[], bool] | None) -> Callable[[], None]:
        def rounds() -> None:
            if start_when is not None:
                wait_for(start_when, what="the first worker's leases to run out", limit=120)
            http = WatchedHTTP(live.app, posted=posted)
            for _ in range(20):
                report = one_round(http, lease=timedelta(seconds=1.5), batch=len(rows))
                reports[name].append(report)
                if report.handled == 0 and report.lost == 0:
                    break
        return rounds

    run_workers(live, worker("first", None), worker("second", leases_ran_out))

    assert sum(r.lost for r in reports["first"]) > 0  # the second worker did take rows over
    assert sum(r.delivered for r in reports["second"]) > 0
    mine = [sub for sub in posted if sub in subs]
    assert sorted(mine) == sorted(subs), Counter(mine)  # each score sent exactly once
    db.session.rollback()
    finished = db.session.scalars(select(ScoreMessage).where(ScoreMessage.id.in_([r.id for r in rows]))).all()
    assert [(r.state, r.last_error, r.lease_owner) for r in finished] == [("delivered", None, None)] * len(rows)
    with lms() as session:
        received = session.scalars(select(DemoScore).where(DemoScore.user_id.in_(subs))).all()
        assert sorted(s.received for s in received) == [1] * len(subs)


def test_a_worker_whose_lease_was_taken_over_records_no_outcome(app, agent, fresh_learner, make_learner):
    target = rl_stor_target(agent, fresh_learner)
    queued_for = make_learner()
    [row] = queue_scores(target, [queued_for])
    taken: dict[str, Any] = {}

    def second_worker_claims(body: dict[str, Any]) -> None:
        # While the first worker waits for the LMS, its lease runs out and another worker claims
        # the row (as it would 31 s later), in its own session.
        if body["userId"] == row.sub and not taken:
            other = Session(db.engine, expire_on_commit=False)
            taken["session"] = other
            taken["claim"] = delivery.claim(other, 50, utcnow() + timedelta(seconds=31))

    report = one_round(WatchedHTTP(app, before_score=second_worker_claims), lease=timedelta(seconds=30))

    assert report.lost >= 1 and report.delivered == 0
    db.session.rollback()
    held = db.session.get(ScoreMessage, row.id)
    # The first worker's "delivered" was not written over the second worker's lease.
    assert (held.state, held.lease_owner) == ("sending", taken["claim"].owner)

    other, second = taken["session"], taken["claim"]
    deliverer = delivery.Deliverer(other, runtime().token_client(other), runtime().http(), owner=second.owner)
    outcomes = {r.id: deliverer.send(r) for r in second.rows}
    other.close()
    assert outcomes[row.id] == "delivered"
    db.session.rollback()
    done = db.session.get(ScoreMessage, row.id)
    # The score had in fact arrived with the first worker's post: the LMS says so (409).
    assert (done.state, done.lease_owner, done.last_error) == ("delivered", None, "409: LMS holds a newer score")
    assert demo_score(queued_for).received == 1


def test_an_older_score_that_fails_while_a_newer_one_waits_is_superseded(app, agent, fresh_learner, lms_switches):
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor")
    module = catalog(app).module("nyankomne")
    exercises = [a for a in module.activities if a.type in ("quiz", "matching")]
    submit(agent, home.url, module, exercises[0], correct_answer(exercises[0]))
    uid = user_id_of(home.url)

    def learner_goes_on_and_the_lms_fails(body: dict[str, Any]) -> None:
        # While the first score is on its way, the learner submits again (a newer score is
        # queued next to the one in flight), and then the LMS fails the first one.
        if body["userId"] == fresh_learner and lms_switches.get(OUTAGE_KEY) is None:
            submit(agent, home.url, module, exercises[1], correct_answer(exercises[1]))
            lms_switches.set(OUTAGE_KEY, {"mode": "503"}, 600)

    http = WatchedHTTP(app, before_score=learner_goes_on_and_the_lms_fails)
    one_round(http)
    db.session.rollback()
    rows = db.session.scalars(select(ScoreMessage).where(ScoreMessage.user_id == uid)
                              .order_by(ScoreMessage.timestamp)).all()
    failed = next(r for r in rows if r.last_error and r.last_error.startswith("503"))
    assert failed.state == "superseded"  # not queued again next to the newer score
    assert rows[-1].state == "queued" and rows[-1].timestamp > failed.timestamp

    lms_switches.delete(OUTAGE_KEY)
    deliver_all(app)
    db.session.rollback()
    rows = db.session.scalars(select(ScoreMessage).where(ScoreMessage.user_id == uid)
                              .order_by(ScoreMessage.timestamp)).all()
    assert [r.state for r in rows] == ["superseded"] * (len(rows) - 1) + ["delivered"]
    score = demo_score(fresh_learner)
    assert score.received == 1 and score.timestamp == rows[-1].timestamp  # only the newest, last


def new_demo_link(custom: dict[str, str], line_items: list[tuple[str | None, str | None]]) -> str:
    """A link in the large course with these (resourceLinkId or None for this link, resourceId)
    line items in the course's gradebook, created in that order."""
    link_id = "rl-test-" + uuid.uuid4().hex[:8]
    with lms() as session:
        session.add(DemoResourceLink(course_id="stor-kursus", link_id=link_id, title="Testlink", custom=custom))
        for owner, resource_id in line_items:
            session.add(DemoLineItem(course_id="stor-kursus", resource_link_id=owner or link_id, label="Kolonne",
                                     score_maximum=100, resource_id=resource_id, tag="integrationsloeft"))
            session.flush()
        session.commit()
    return link_id


def line_items_of(link_id: str) -> list[DemoLineItem]:
    with lms() as session:
        return list(session.scalars(select(DemoLineItem).where(DemoLineItem.resource_link_id == link_id)
                                    .order_by(DemoLineItem.id)))


def test_line_item_is_found_by_resource_and_link_id_across_container_pages(app, agent, fresh_learner,
                                                                           lms_switches):
    # Another link's column for the same module comes first; this link has two columns (so the
    # launch names no `lineitem`), ours last. The container ignores the query's filters and
    # answers two items a page, as some platforms do.
    other_link = "rl-other-" + uuid.uuid4().hex[:6]
    link_id = new_demo_link({"module": "unge"}, [(other_link, "unge"), (None, "handmade-column"), (None, "unge")])
    [theirs], [_, ours] = line_items_of(other_link), line_items_of(link_id)
    with lms() as session:
        in_container = list(session.scalars(select(DemoLineItem.id).where(DemoLineItem.course_id == "stor-kursus")
                                            .order_by(DemoLineItem.id)))
    assert in_container.index(theirs.id) < in_container.index(ours.id) and in_container.index(ours.id) >= 2
    lms_switches.set(CONTAINER_KEY, {"ignore_filters": True, "page_size": 2}, 600)

    home = agent.launch(fresh_learner, "stor-kursus", link_id)
    module = catalog(app).module("unge")
    quiz = next(a for a in module.activities if a.type == "quiz")
    submit(agent, home.url, module, quiz, correct_answer(quiz))
    deliver_all(app)

    assert target_of(link_id).lineitem_url.endswith(f"/lineitems/{ours.id}")
    with lms() as session:
        assert session.scalar(select(func.count()).where(DemoLineItem.course_id == "stor-kursus")) == len(
            in_container)  # none created
        scored = session.scalars(select(DemoScore.line_item_id).where(DemoScore.user_id == fresh_learner)).all()
    assert scored == [ours.id]


def test_two_workers_create_one_line_item_for_a_new_link(app, live, agent, fresh_learner, make_learner,
                                                        lms_switches):
    if live.backend != "services":
        pytest.skip("row locks need PostgreSQL (SQLite runs one worker)")
    link_id = new_demo_link({"module": "unge"}, [])
    agent.launch(fresh_learner, "stor-kursus", link_id)
    target = target_of(link_id)
    assert target.lineitem_url is None
    subs = [make_learner(), make_learner()]
    queue_scores(target, subs)
    lms_switches.set(CONTAINER_KEY, {"delay": 1.0}, 600)  # both workers look at once, and slowly

    def worker() -> None:
        one_round(runtime().http(), batch=1)

    run_workers(live, worker, worker, timeout=60)
    deliver_all(app)  # in case a worker picked another test's due score instead of one of these

    [item] = line_items_of(link_id)
    assert item.resource_id == "unge"
    with lms() as session:
        scored = session.scalars(select(DemoScore).where(DemoScore.user_id.in_(subs))).all()
        assert {(s.user_id, s.line_item_id) for s in scored} == {(sub, item.id) for sub in subs}


@pytest.mark.parametrize("retry_after", ["120", "date+300"])
def test_429_waits_as_long_as_retry_after_asks(app, agent, fresh_learner, runner, lms_switches, retry_after):
    expected = 120.0
    if retry_after.startswith("date"):
        expected = 300.0
        retry_after = format_datetime(utcnow() + timedelta(seconds=expected), usegmt=True)
    result = lms_command("lms", "outage", "429", "--retry-after", retry_after)
    assert result.exit_code == 0 and "429" in result.output
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor")
    module = catalog(app).module("nyankomne")
    quiz = next(a for a in module.activities if a.type == "quiz")
    submit(agent, home.url, module, quiz, correct_answer(quiz))
    uid = user_id_of(home.url)

    before = utcnow()
    one_round(runtime().http())
    db.session.rollback()
    waiting = select(ScoreMessage).where(ScoreMessage.user_id == uid, ScoreMessage.state == "queued")
    row = db.session.scalars(waiting).one()
    assert (row.attempts, row.last_error[:3]) == (1, "429")
    wait = (row.next_attempt_at - before).total_seconds()
    assert expected - 2 <= wait <= expected + 2, wait  # not the 1-3 s of a first back-off
    one_round(runtime().http())  # the next round leaves it alone
    db.session.rollback()
    assert db.session.scalars(waiting).one().attempts == 1

    assert "off" in lms_command("lms", "outage", "off").output
    deliver_all(app)
    assert demo_score(fresh_learner).received == 1


def test_failures_back_off_exponentially_and_park_after_max_attempts(app, agent, fresh_learner, lms_switches):
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor")
    module = catalog(app).module("nyankomne")
    quiz = next(a for a in module.activities if a.type == "quiz")
    submit(agent, home.url, module, quiz, correct_answer(quiz))
    uid = user_id_of(home.url)
    lms_switches.set(OUTAGE_KEY, {"mode": "503"}, 600)
    mine = (ScoreMessage.user_id == uid) & (ScoreMessage.state.in_(("queued", "parked")))

    # The fourth failure waits 2 s · 2³ = 16 s, give or take half.
    db.session.execute(update(ScoreMessage).where(mine).values(attempts=3))
    db.session.commit()
    before = utcnow()
    one_round(runtime().http())
    db.session.rollback()
    row = db.session.scalars(select(ScoreMessage).where(mine)).one()
    assert (row.state, row.attempts) == ("queued", 4) and row.last_error.startswith("503")
    assert 8 <= (row.next_attempt_at - before).total_seconds() <= 24 + 1

    # The last allowed attempt fails too: the operator is asked, the score is not dropped.
    db.session.execute(update(ScoreMessage).where(mine).values(attempts=delivery.MAX_ATTEMPTS - 1,
                                                               next_attempt_at=utcnow()))
    db.session.commit()
    assert one_round(runtime().http()).parked >= 1
    db.session.rollback()
    row = db.session.scalars(select(ScoreMessage).where(mine)).one()
    assert (row.state, row.attempts, row.lease_owner) == ("parked", delivery.MAX_ATTEMPTS, None)
    assert row.last_error.startswith("503")
    assert demo_score(fresh_learner) is None


def test_an_instructor_trying_the_activities_queues_no_score(app, live, fresh_learner):
    teacher = live.agent()
    board = teacher.launch("hanne", "stor-kursus", "rl-stor")
    assert board.url.endswith("/instructor/")
    as_learners_see_it = board.url.removesuffix("instructor/")
    module = catalog(app).module("nyankomne")
    quiz = next(a for a in module.activities if a.type == "quiz")
    answered = submit(teacher, as_learners_see_it, module, quiz, correct_answer(quiz))
    assert answered.status_code == 200 and "error=" not in answered.url

    db.session.rollback()
    hanne = db.session.get(LaunchRecord, launch_id(board.url)).user_id
    assert db.session.scalars(select(ScoreMessage).where(ScoreMessage.user_id == hanne)).all() == []
    # A learner's answer on the same link still is.
    learner = live.agent()
    home = learner.launch(fresh_learner, "stor-kursus", "rl-stor")
    submit(learner, home.url, module, quiz, correct_answer(quiz))
    db.session.rollback()
    assert db.session.scalars(select(ScoreMessage).where(ScoreMessage.user_id == user_id_of(home.url))).all()


def test_first_launch_of_a_graded_link_tells_the_lms_where_the_learner_stands(app, agent, live, make_learner):
    """Initialized for someone new; their progress for someone who worked through another link."""
    newcomer = make_learner()
    home = agent.launch(newcomer, "stor-kursus", "rl-stor")
    deliver_all(app)
    opened = demo_score(newcomer)
    assert opened is not None
    assert (opened.activity_progress, opened.grading_progress) == ("Initialized", "Pending")
    assert opened.score_given is None  # Moodle keeps no points before FullyGraded

    agent.launch(newcomer, "stor-kursus", "rl-stor")  # a second launch says nothing new
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ScoreMessage).where(
        ScoreMessage.user_id == user_id_of(home.url))) == 1

    # The module completed through the programme link; then the module's own link is opened:
    # its column shows the completion at once, without waiting for another answer.
    veteran = make_learner()
    other = live.agent()
    programme_home = other.launch(veteran, "stor-kursus", "rl-stor-programme")
    module = catalog(app).module("nyankomne")
    work_through(other, programme_home.url, module)
    grade_pending(app, user_id_of(programme_home.url), module)
    other.launch(veteran, "stor-kursus", "rl-stor")
    deliver_all(app)
    arrived = demo_score(veteran)
    assert arrived is not None
    assert (arrived.activity_progress, arrived.grading_progress) == ("Completed", "FullyGraded")
    assert arrived.score_given is not None and arrived.score_given > 0


def test_a_score_whose_answer_was_lost_is_resent_and_counted_once(app, agent, fresh_learner, lms_switches):
    """The LMS stores the score but its answer comes after the tool's timeout: the tool retries,
    the LMS answers 409 (it holds that timestamp), and the score stands once, as delivered."""
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor")
    deliver_all(app)  # the opening score (Initialized)
    module = catalog(app).module("nyankomne")
    quiz = next(a for a in module.activities if a.type == "quiz")
    before = demo_score(fresh_learner).received
    lms_switches.set(OUTAGE_KEY, {"mode": "lost-answer", "seconds": 3}, 600)  # test timeout is 2 s
    submit(agent, home.url, module, quiz, correct_answer(quiz))

    db.session.rollback()
    report = runtime().deliver_scores(db.session)
    assert report.retried == 1 and report.delivered == 0  # timed out: the tool cannot know
    assert demo_score(fresh_learner).received == before + 1  # … but the LMS has it

    lms_switches.delete(OUTAGE_KEY)
    deliver_all(app)

    db.session.rollback()
    row = db.session.scalars(select(ScoreMessage).where(ScoreMessage.user_id == user_id_of(home.url))
                             .order_by(ScoreMessage.id.desc())).first()
    assert (row.state, row.attempts, row.last_error) == ("delivered", 2, "409: LMS holds a newer score")
    held = demo_score(fresh_learner)
    assert held.received == before + 1  # stored once
    assert (held.activity_progress, held.timestamp) == ("InProgress", row.timestamp)


def test_a_row_taken_back_from_a_dead_worker_never_overtakes_a_newer_score(app, agent, fresh_learner):
    """A worker died holding an older score; a newer one was queued meanwhile. The next worker
    claims both: the older is superseded, not sent after (or beside) the newer."""
    target = rl_stor_target(agent, fresh_learner)
    [older] = queue_scores(target, [fresh_learner])
    db.session.execute(update(ScoreMessage).where(ScoreMessage.id == older.id).values(
        state="sending", attempts=1, lease_owner="dead-worker", lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    [newer] = queue_scores(target, [fresh_learner])
    db.session.execute(update(ScoreMessage).where(ScoreMessage.id == newer.id).values(
        timestamp=older.timestamp + timedelta(milliseconds=5), score_given=80))
    db.session.commit()
    sent: list[dict[str, Any]] = []

    report = one_round(WatchedHTTP(app, before_score=sent.append))

    db.session.rollback()
    assert db.session.get(ScoreMessage, older.id).state == "superseded"
    assert db.session.get(ScoreMessage, newer.id).state == "delivered"
    assert [b["scoreGiven"] for b in sent if b["userId"] == fresh_learner] == [80]
    assert report.superseded == 1 and report.delivered == 1


def test_an_observer_opening_a_graded_link_queues_no_score(app, agent):
    """A Canvas observer (Mentor) has no gradebook row: the LMS would refuse the score (Canvas 422)."""
    from lti_tool.lti import claims
    from tests.support.crafting import crafted_launch

    sub = "observer-" + uuid.uuid4().hex[:8]

    def as_observer(body):
        body.update(sub=sub)
        body[claims.ROLES] = [claims.ROLE_PREFIX_CONTEXT + "Mentor"]

    assert landing_url(crafted_launch(app, agent, as_observer))
    db.session.rollback()
    user = db.session.scalars(select(User).where(User.sub == sub)).one()
    assert db.session.scalars(select(ScoreMessage).where(ScoreMessage.user_id == user.id)).all() == []
