"""What a launch writes: one read of its rows (learner, course, link, grade column), an upsert
only for a row kind that is missing or differs, which again writes only what changed, and the
launch record itself.

- A changed name, e-mail, locale, course label or title, link title, custom parameter (and the
  placement it names) or grade column is written; changed back, it is written back.
- An unchanged launch writes no row but its launch record, and `users.last_seen_at` at most once
  a minute (an injected clock, or the stored time set back: no test waits for a minute).
- The service commits the launch itself: a first page that fails to render loses no launch.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from blueprints import learner as learner_views
from lti_tool import errors
from lti_tool.demo_lms import platform as demo
from lti_tool.extensions import db
from lti_tool.launch.live import find_launch
from lti_tool.launch.record import record_launch
from lti_tool.lti import claims
from lti_tool.lti.launch import Launch
from lti_tool.models import (
    ActivityState,
    Context,
    Deployment,
    GradeTarget,
    LaunchRecord,
    Platform,
    ResourceLink,
    ScoreMessage,
    User,
    utcnow,
)
from lti_tool.progress.state import placement_for, records_by_module
from lti_tool.runtime import runtime
from tests.support.agent import landing_url, text_of
from tests.support.crafting import crafted_launch, demo_claims
from tests.support.learner import csrf_of

UPSERTED_TABLES = ("users", "contexts", "resource_links", "grade_targets")
NOTHING = dict.fromkeys(UPSERTED_TABLES, 0)


@contextmanager
def rows_written() -> Iterator[dict[str, int]]:
    """The rows each INSERT … ON CONFLICT of a launch inserted or updated, by table (a row kind not
    upserted, or whose UPDATE was skipped, reports 0), as the database reported them. (The launch
    record is counted in its table: SQLite reports no rowcount for an INSERT … RETURNING.)"""
    written = dict(NOTHING)

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        words = statement.split(None, 3)
        if len(words) > 2 and words[0] == "INSERT" and words[2] in UPSERTED_TABLES:
            written[words[2]] = written.get(words[2], 0) + cursor.rowcount

    event.listen(db.engine, "after_cursor_execute", count)
    try:
        yield written
    finally:
        event.remove(db.engine, "after_cursor_execute", count)


def _user(sub: str) -> User:
    db.session.rollback()
    return db.session.scalars(select(User).where(User.sub == sub)).one()


def _launches_of(sub: str) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(LaunchRecord).join(User).where(User.sub == sub)) or 0


def _set_last_seen(sub: str, moment: datetime) -> datetime:
    db.session.execute(update(User).where(User.sub == sub).values(last_seen_at=moment))
    db.session.commit()
    return _user(sub).last_seen_at


def _pin_last_seen(sub: str) -> datetime:
    """Set the learner's last_seen_at a little ahead, so a minute that turns during the test does
    not make the next launch write it (test_last_seen_is_compared_to_the_minute tests the minute)."""
    return _set_last_seen(sub, utcnow() + timedelta(minutes=10))


def _rows_of(sub: str, course: str) -> tuple:
    """Every column a launch writes into the learner's, the course's, the link's and the grade
    column's rows."""
    db.session.rollback()
    user = db.session.scalars(select(User).where(User.sub == sub)).one()
    context = db.session.scalars(select(Context).where(Context.context_id == course)).one()
    link = db.session.scalars(select(ResourceLink).where(ResourceLink.context_id == context.id)).one()
    target = db.session.scalars(select(GradeTarget).where(GradeTarget.resource_link_id == link.id)).one()
    return (user.name, user.email, user.locale, user.last_seen_at, context.label, context.title,
            link.title, link.custom, link.programme_id, link.module_id,
            target.lineitem_url, target.lineitems_url, target.scopes, target.label, target.updated_at)


# --- through the launch POST ---------------------------------------------------------------------

def test_an_unchanged_launch_writes_only_its_launch_record(app, agent):
    sub = "returning-" + uuid.uuid4().hex[:8]

    def as_learner(name):
        return lambda body: body.update(sub=sub, name=name)

    with rows_written() as first:
        assert landing_url(crafted_launch(app, agent, as_learner("Aya Haddad")))
    assert first["users"] == 1  # a new learner
    first_seen = _pin_last_seen(sub)

    with rows_written() as again:
        page = crafted_launch(app, agent, as_learner("Aya Haddad"))

    assert "Aya Haddad" in text_of(page.text)
    assert again == NOTHING
    assert _user(sub).last_seen_at == first_seen  # within the minute
    assert _launches_of(sub) == 2

    with rows_written() as renamed:
        page = crafted_launch(app, agent, as_learner("Aya Haddad Nielsen"))

    assert "Aya Haddad Nielsen" in text_of(page.text)
    assert renamed == NOTHING | {"users": 1}
    assert _user(sub).name == "Aya Haddad Nielsen"
    assert _launches_of(sub) == 3


def test_a_returning_learners_launch_is_one_transaction(app, agent):
    """The recording reads the learner's activity states before its COMMIT and the first page uses
    them: the launch POST ends one transaction and reads the states once."""
    sub = "one-transaction-" + uuid.uuid4().hex[:8]
    assert landing_url(crafted_launch(app, agent, lambda body: body.update(sub=sub)))
    _pin_last_seen(sub)
    db.session.remove()  # the test's own session holds no transaction during the launch
    ends: list[str] = []
    state_reads: list[str] = []

    def on_statement(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if "FROM activity_states" in statement:
            state_reads.append(statement)

    listeners: dict[str, Callable[..., None]] = {
        "commit": lambda _conn: ends.append("commit"), "rollback": lambda _conn: ends.append("rollback"),
        "before_cursor_execute": on_statement}
    for name, listener in listeners.items():
        event.listen(db.engine, name, listener)
    try:
        page = crafted_launch(app, agent, lambda body: body.update(sub=sub))
    finally:
        for name, listener in listeners.items():
            event.remove(db.engine, name, listener)

    assert landing_url(page) and 'class="cards"' in page.text
    assert ends == ["commit"]
    assert len(state_reads) == 1


def test_a_launch_a_minute_or_more_after_the_last_writes_last_seen(app, agent):
    sub = "seen-" + uuid.uuid4().hex[:8]
    assert landing_url(crafted_launch(app, agent, lambda body: body.update(sub=sub)))
    a_while_ago = _set_last_seen(sub, utcnow() - timedelta(minutes=5))

    with rows_written() as later:
        assert landing_url(crafted_launch(app, agent, lambda body: body.update(sub=sub)))

    assert later == NOTHING | {"users": 1}
    assert _user(sub).last_seen_at > a_while_ago + timedelta(minutes=4)


def test_a_first_page_that_fails_loses_no_launch(app, agent, monkeypatch):
    """The service commits the launch before the view reads the page: the learner's new name and
    the launch are kept, and the error page is a clear 404, not a 500."""
    sub = "committed-" + uuid.uuid4().hex[:8]
    assert landing_url(crafted_launch(app, agent, lambda body: body.update(sub=sub, name="Aya Haddad")))

    def unreadable_first_page(*_):
        raise errors.NotFound("the first page could not be read (simulated)")

    monkeypatch.setattr(learner_views, "course_view", unreadable_first_page)
    failed = crafted_launch(app, agent, lambda body: body.update(sub=sub, name="Aya Haddad Nielsen"))
    monkeypatch.undo()

    assert failed.status_code == 404
    assert _user(sub).name == "Aya Haddad Nielsen"
    assert _launches_of(sub) == 2


def test_a_placement_picked_by_hand_stays_through_later_launches(app, agent, live):
    """The platform's custom parameters place a link when they are new or change; an instructor's
    own pick for the link stays through every later launch with the same parameters."""
    link = "picked-" + uuid.uuid4().hex[:8]

    def on_link(sub, role, title="Udvalgt modul"):
        def mutate(body):
            body.update(sub=sub)
            body[claims.RESOURCE_LINK] = {"id": link, "title": title}
            body[claims.CUSTOM] = {"module": "nyankomne"}
            body[claims.ROLES] = [claims.ROLE_PREFIX_CONTEXT + role]
        return mutate

    staff = live.agent()
    landing = staff.get(landing_url(crafted_launch(app, staff, on_link("hanne-" + link, "Instructor"))))
    pick = staff.get(landing.url + "pick")
    staff.http.post(pick.url, data={"csrf_token": csrf_of(pick.text), "placement": "module:unge"}, timeout=30)

    first = crafted_launch(app, agent, on_link("first-" + link, "Learner"))  # a new learner
    again = crafted_launch(app, agent, on_link("first-" + link, "Learner"))  # the same learner again
    retitled = crafted_launch(app, agent, on_link("first-" + link, "Learner", "Nyt navn"))  # the row is written

    for page in (first, again, retitled):
        text = text_of(page.text)
        assert "Unge" in text and "Nyankomne flygtninge" not in text
    assert _link(link) == ("unge", "Nyt navn", {"module": "nyankomne"})


def test_a_change_made_by_another_launch_and_changed_back_is_written_again(app, agent):
    """A link moved to another module by one launch and back by the next, or a name changed and
    changed back, ends as the last launch wrote it."""
    link, aya, omar = ("revert-" + uuid.uuid4().hex[:8] for _ in range(3))

    def launch_as(sub, name, module, title):
        def mutate(body):
            body.update(sub=sub, name=name)
            body[claims.RESOURCE_LINK] = {"id": link, "title": title}
            body[claims.CUSTOM] = {"module": module}
        return crafted_launch(app, agent, mutate)

    assert "Nyankomne" in text_of(launch_as(aya, "Aya Haddad", "nyankomne", "Modtagelse").text)
    assert landing_url(launch_as(omar, "Omar Ali", "unge", "Unge i job"))  # the platform moved it
    assert _link(link) == ("unge", "Unge i job", {"module": "unge"})
    assert "Aya" in text_of(launch_as(aya, "Aya H.", "unge", "Unge i job").text)  # and she was renamed

    back = launch_as(aya, "Aya Haddad", "nyankomne", "Modtagelse")  # both changed back: her first claims

    text = text_of(back.text)
    assert "Nyankomne flygtninge" in text and "Modtagelse" in text and "Unge i job" not in text
    assert "Aya Haddad" in text
    assert _user(aya).name == "Aya Haddad"
    assert _link(link) == ("nyankomne", "Modtagelse", {"module": "nyankomne"})


CHANGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "name": lambda b: b.update(name="Aya H. Nielsen"),
    "email": lambda b: b.update(email="aya.h@example.dk"),
    "locale": lambda b: b[claims.LAUNCH_PRESENTATION].update(locale="sv-SE"),
    "course-label": lambda b: b[claims.CONTEXT].update(label="NY-LABEL"),
    "course-title": lambda b: b[claims.CONTEXT].update(title="Et andet kursus"),
    "link-title": lambda b: b[claims.RESOURCE_LINK].update(title="Et andet link"),
    "custom-parameter": lambda b: b[claims.CUSTOM].update(extra="1"),
    "placement": lambda b: b[claims.CUSTOM].update(module="unge"),
    "scopes": lambda b: b[claims.AGS_ENDPOINT].update(scope=b[claims.AGS_ENDPOINT]["scope"][:1]),
    "lineitem": lambda b: b[claims.AGS_ENDPOINT].update(lineitem="https://lms.example/lineitems/2"),
    "lineitems": lambda b: b[claims.AGS_ENDPOINT].update(lineitems=b[claims.AGS_ENDPOINT]["lineitems"] + "?x=1"),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_each_column_a_launch_writes_is_written_when_changed_and_changed_back(app, agent, change):
    """For each value a launch writes: a launch that changes it writes it (and nothing it did not
    change stays rewritten), and the next launch with the first claims writes it back."""
    sub, course = ("each-" + uuid.uuid4().hex[:8] for _ in range(2))

    def launch(changed):
        def mutate(body):
            body.update(sub=sub)
            body[claims.CONTEXT]["id"] = course
            body[claims.RESOURCE_LINK] = {"id": "rl-" + course, "title": "Modtagelse"}
            body[claims.CUSTOM] = {"module": "nyankomne"}
            body[claims.AGS_ENDPOINT]["lineitem"] = "https://lms.example/lineitems/1"
            if changed:
                change(body)
        return crafted_launch(app, agent, mutate)

    assert landing_url(launch(changed=False))
    first = _rows_of(sub, course)

    assert landing_url(launch(changed=True))
    changed = _rows_of(sub, course)
    assert changed != first  # the change was written
    differing = [i for i, (a, b) in enumerate(zip(first, changed, strict=True)) if a != b]
    assert len(differing) <= 4  # the changed value, with what follows it (placement, updated_at)

    assert landing_url(launch(changed=False))  # the first claims again

    back = _rows_of(sub, course)
    stamps = (3, 14)  # last_seen_at (within the minute: kept), updated_at (moves with the endpoints)
    assert [v for i, v in enumerate(back) if i not in stamps] == [v for i, v in enumerate(first) if i not in stamps]


def test_an_absent_lineitem_keeps_the_stored_one(app, agent):
    """AGS 2.0 §3.1: the platform sends `lineitem` only while one is coupled; the line item the
    delivery found or created stays when the claim is absent."""
    sub, course = ("keep-" + uuid.uuid4().hex[:8] for _ in range(2))

    def launch(lineitem):
        def mutate(body):
            body.update(sub=sub)
            body[claims.CONTEXT]["id"] = course
            body[claims.AGS_ENDPOINT].pop("lineitem", None)
            if lineitem:
                body[claims.AGS_ENDPOINT]["lineitem"] = lineitem
        return crafted_launch(app, agent, mutate)

    assert landing_url(launch("https://lms.example/lineitems/7"))
    with rows_written() as written:
        assert landing_url(launch(None))

    assert written["grade_targets"] == 0
    assert _rows_of(sub, course)[10] == "https://lms.example/lineitems/7"


def test_a_link_placed_after_a_learners_launch_gets_their_opening_score(app, agent, live):
    """An opening score is queued once the link opens something, also for a learner whose
    earlier launches through it found it unplaced."""
    link = "late-" + uuid.uuid4().hex[:8]

    def on_link(sub, role):
        def mutate(body):
            body.update(sub=sub)
            body[claims.RESOURCE_LINK] = {"id": link, "title": "Endnu ikke valgt"}
            body[claims.CUSTOM] = {}
            body[claims.ROLES] = [claims.ROLE_PREFIX_CONTEXT + role]
        return mutate

    learner = "learner-" + link
    assert crafted_launch(app, agent, on_link(learner, "Learner")).status_code == 200  # opens nothing yet
    assert _opening_scores(learner) == 0
    staff = live.agent()
    pick = staff.get(landing_url(crafted_launch(app, staff, on_link("hanne-" + link, "Instructor"))))
    assert pick.url.endswith("/instructor/pick")  # an unplaced link sends the instructor to the pick
    staff.http.post(pick.url, data={"csrf_token": csrf_of(pick.text), "placement": "module:unge"}, timeout=30)

    again = crafted_launch(app, agent, on_link(learner, "Learner"))

    assert "Unge" in text_of(again.text)
    assert _opening_scores(learner) == 1
    assert landing_url(crafted_launch(app, agent, on_link(learner, "Learner")))
    assert _opening_scores(learner) == 1  # once


def test_custom_parameters_in_another_order_change_no_row(app, agent):
    sub, link = "order-" + uuid.uuid4().hex[:8], "order-" + uuid.uuid4().hex[:8]

    def launch(custom):
        def mutate(body):
            body.update(sub=sub)
            body[claims.RESOURCE_LINK] = {"id": link, "title": "Orden"}
            body[claims.CUSTOM] = custom
        return crafted_launch(app, agent, mutate)

    assert landing_url(launch({"module": "nyankomne", "a": "1"}))

    with rows_written() as written:
        assert landing_url(launch({"a": "1", "module": "nyankomne"}))

    assert written["resource_links"] == 0
    assert _link(link) == ("nyankomne", "Orden", {"a": "1", "module": "nyankomne"})


def _link(resource_link_id: str) -> tuple:
    db.session.rollback()
    stored = db.session.scalars(select(ResourceLink).where(ResourceLink.resource_link_id == resource_link_id)).one()
    return stored.module_id, stored.title, stored.custom


def _opening_scores(sub: str) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(ScoreMessage).join(User)
                             .where(User.sub == sub)) or 0


# --- the service itself, with an injected clock ----------------------------------------------------

def _demo_platform(app) -> Platform:
    issuer = app.config["DEMO_LMS_URL"] + "/demo-lms"
    return db.session.scalars(select(Platform).where(Platform.issuer == issuer,
                                                     Platform.client_id == demo.CLIENT_ID)).one()


def _launch_of(app, platform: Platform, deployment: Deployment, **claims_: Any) -> Launch:
    body = demo_claims(app, "nonce-" + uuid.uuid4().hex[:8])
    body.update(azp=platform.client_id, **claims_)
    return Launch(claims=body, platform_id=platform.id, deployment_pk=deployment.id)


def test_last_seen_is_compared_to_the_minute(db_app, db_session, clock):
    platform = _demo_platform(db_app)
    launch = _launch_of(db_app, platform, platform.deployments[0], sub="clock-" + uuid.uuid4().hex[:8])
    start = clock.set(clock().replace(second=10))  # hh:mm:10

    def record_at(moment: datetime) -> dict[str, int]:
        clock.set(moment)
        with rows_written() as written:
            record_launch(db_session, launch, 3600, runtime().catalog(), clock=clock)
        return written

    assert record_at(start)["users"] == 1
    assert record_at(start + timedelta(seconds=49))["users"] == 0  # hh:mm:59, the same minute
    assert _user(launch.sub).last_seen_at == start
    assert record_at(start + timedelta(seconds=50))["users"] == 1  # the next minute's first second
    assert _user(launch.sub).last_seen_at == start + timedelta(seconds=50)
    assert record_at(start + timedelta(seconds=109))["users"] == 0  # its last
    assert _user(launch.sub).last_seen_at == start + timedelta(seconds=50)


def test_rows_of_one_registration_are_not_used_for_another(db_app, db_session):
    """Two registrations of one issuer under one deployment id, a token addressed to both: the
    claims are the same, the platform is not, so the second launch gets its own learner."""
    first_platform = _demo_platform(db_app)
    first_deployment = first_platform.deployments[0]
    second_platform = Platform(issuer=first_platform.issuer, client_id="second-" + uuid.uuid4().hex[:8],
                               auth_login_url=first_platform.auth_login_url,
                               auth_token_url=first_platform.auth_token_url,
                               key_set_url=first_platform.key_set_url, name="Second registration")
    second_deployment = Deployment(platform=second_platform, deployment_id=first_deployment.deployment_id)
    db_session.add_all([second_platform, second_deployment])
    db_session.commit()
    sub = "shared-" + uuid.uuid4().hex[:8]
    recorded = []
    for platform, deployment in ((first_platform, first_deployment), (second_platform, second_deployment)):
        launch = _launch_of(db_app, platform, deployment, sub=sub,
                            aud=[first_platform.client_id, second_platform.client_id])
        record = record_launch(db_session, launch, 3600, runtime().catalog())
        recorded.append(db_session.get_one(LaunchRecord, record.id))
    assert [r.user.platform_id for r in recorded] == [first_platform.id, second_platform.id]
    assert recorded[0].user_id != recorded[1].user_id
    assert recorded[0].context_id != recorded[1].context_id  # a course is per deployment


def test_a_launch_tells_its_live_launch_as_find_launch_reads_it(db_app, db_session, clock):
    """The first page of a launch into a known course and unchanged link reads the launch and the
    learner's records from the recording, not again from the database: both must be the same, also
    when the learner or the course was renamed (and last_seen_at written) by that launch."""
    platform = _demo_platform(db_app)
    launch = _launch_of(db_app, platform, platform.deployments[0], sub="live-" + uuid.uuid4().hex[:8])
    clock.set(clock().replace(second=10))

    first = record_launch(db_session, launch, 3600, runtime().catalog(), clock=clock)
    again = record_launch(db_session, launch, 3600, runtime().catalog(), clock=clock)

    assert first.live is None  # a new course and link: the page reads the launch
    assert again.live is not None and again.live.resource_link is not None
    assert again.live == find_launch(db_session, again.id, 3600)

    # The learner's records come with it, read in the launch's transaction, as the page would read them.
    placement = placement_for(again.live.resource_link, runtime().catalog())
    assert placement is not None and first.records is None
    module = placement.modules[0]
    db_session.add(ActivityState(user_id=again.live.user_id, programme_id=placement.programme.id,
                                 module_id=module.id, activity_id=module.activities[0].id, status="completed",
                                 attempts=1, score=1.0, passed=True))
    db_session.commit()
    with_work = record_launch(db_session, launch, 3600, runtime().catalog(), clock=clock)
    module_ids = [m.id for m in placement.programme.modules]
    assert with_work.records == records_by_module(db_session, again.live.user_id, module_ids)
    assert with_work.records is not None and with_work.records[module.id][module.activities[0].id].passed

    clock.set(clock() + timedelta(minutes=2))
    renamed = _launch_of(db_app, platform, platform.deployments[0], sub=launch.sub, name="Aya Haddad Nielsen")
    renamed.claims[claims.CONTEXT]["title"] = "Et andet kursus"
    with rows_written() as written:
        later = record_launch(db_session, renamed, 3600, runtime().catalog(), clock=clock)

    assert written == NOTHING | {"users": 1, "contexts": 1}
    assert later.live is not None and later.live.user_name == "Aya Haddad Nielsen"
    assert later.live == find_launch(db_session, later.id, 3600)
