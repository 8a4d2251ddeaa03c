"""Scores reach the demo LMS gradebook over real tokens, through outages, exactly once."""

from __future__ import annotations

import re
import threading
import time

import pytest
from sqlalchemy import select, update

from lti_tool.demo_lms.models import DemoLineItem, DemoScore
from lti_tool.demo_lms.views import OUTAGE_KEY
from lti_tool.extensions import db
from lti_tool.lti import services
from lti_tool.models import GradeTarget, LaunchRecord, Platform, ResourceLink, ScoreMessage, User, utcnow
from lti_tool.runtime import runtime
from tests.integration.test_learning import catalog, grade_pending, launch_id
from tests.support.learner import correct_answer, csrf_of, submit, work_through


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
    db.session.rollback()
    item = db.session.scalars(select(DemoLineItem).where(DemoLineItem.resource_link_id == link)).first()
    return db.session.scalars(select(DemoScore).where(DemoScore.line_item_id == item.id,
                                                      DemoScore.user_id == user)).first() if item else None


def user_id_of(home_url: str) -> int:
    db.session.rollback()
    return db.session.get(LaunchRecord, launch_id(home_url)).user_id


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
    assert re.search(rf'data-user="{fresh_learner}"[^>]*>\s*<strong>100\.0</strong>', gradebook)


def test_outage_then_recovery_delivers_each_score_once_newest_last(app, live, fresh_learner):
    learners = [fresh_learner, f"{fresh_learner[:-4]}{int(fresh_learner[-4:]) + 500:04d}"]
    agents = {u: live.agent() for u in learners}
    homes = {u: agents[u].launch(u, "stor-kursus", "rl-stor") for u in learners}
    module = catalog(app).module("nyankomne")
    exercises = [a for a in module.activities if a.type in ("quiz", "matching", "action_plan")]
    store = runtime().store

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


def test_token_is_cached_and_a_401_refreshes_it_once(app, agent, fresh_learner):
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor")
    module = catalog(app).module("nyankomne")
    exercises = [a for a in module.activities if a.is_exercise]
    submit(agent, home.url, module, exercises[0], correct_answer(exercises[0]))
    deliver_all(app)
    fetches = services.stats["token_fetches"]
    for exercise in exercises[1:3]:
        submit(agent, home.url, module, exercise, correct_answer(exercise))
        deliver_all(app)
    assert services.stats["token_fetches"] == fetches  # cached across deliveries

    # The LMS no longer accepts the cached token (expired early, revoked): one refresh, no loss.
    db.session.rollback()
    platform = db.session.scalars(select(Platform).where(Platform.client_id == "integrationsloeft-demo")).one()
    auth = services.PlatformAuth(platform.id, platform.client_id, platform.auth_token_url, None)
    key = services.TokenClient._cache_key(auth, ("https://purl.imsglobal.org/spec/lti-ags/scope/score",))
    runtime().store.set(key, {"access_token": "expired-token", "expires_at": time.time() + 3000}, 3000)
    submit(agent, home.url, module, exercises[3], correct_answer(exercises[3]))
    deliver_all(app)

    assert services.stats["token_fetches"] == fetches + 1
    db.session.rollback()
    uid = user_id_of(home.url)
    assert db.session.scalars(select(ScoreMessage).where(ScoreMessage.user_id == uid,
                                                         ScoreMessage.state == "queued")).all() == []


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

    db.session.rollback()
    item = db.session.scalars(select(DemoLineItem).where(DemoLineItem.resource_link_id == "rl-stor-manual")).one()
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


def test_two_workers_share_one_outbox_without_duplicates(app, live, agent, fresh_learner):
    if live.backend != "services":
        pytest.skip("SKIP LOCKED needs PostgreSQL")
    agent.launch(fresh_learner, "stor-kursus", "rl-stor")  # makes sure the line item target exists
    db.session.rollback()
    target = db.session.scalars(select(GradeTarget).join(ResourceLink, ResourceLink.id == GradeTarget.resource_link_id)
                                .where(ResourceLink.resource_link_id == "rl-stor")).one()
    platform_id = target.platform_id
    subs = [f"stor-kursus-l{900 + i:04d}" for i in range(60)]
    users = [User(platform_id=platform_id, sub=s) for s in subs]
    db.session.add_all(users)
    db.session.flush()
    now = utcnow()
    for user in users:
        db.session.add(ScoreMessage(grade_target_id=target.id, user_id=user.id, sub=user.sub, score_given=50,
                                    score_maximum=100, activity_progress="Completed", grading_progress="FullyGraded",
                                    comment="to", timestamp=now, state="queued", attempts=0, next_attempt_at=now))
    db.session.commit()

    def worker() -> None:
        with live.app.app_context():
            for _ in range(500):  # other tests' scores share the outbox; run until it is empty
                if runtime().deliver_scores(db.session, batch=10).handled == 0:
                    break
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    db.session.rollback()
    rows = db.session.scalars(select(ScoreMessage).where(ScoreMessage.sub.in_(subs))).all()
    assert all(r.state == "delivered" for r in rows), [(r.sub, r.state, r.last_error) for r in rows if r.state != "delivered"][:5]
    received = db.session.scalars(select(DemoScore).where(DemoScore.user_id.in_(subs))).all()
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
    worker.join(timeout=5)
    assert not worker.is_alive()
