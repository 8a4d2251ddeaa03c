"""No page waits on the LMS: the dashboard renders from the roster snapshot; the grade worker refreshes it.

Issue 13 point 4. With the roster endpoint frozen, six dashboards took 10 to 30 s each (every one
waited for the timeout, queued on the web threads). These tests freeze the endpoint of a platform
they control (the demo LMS's outage switch covers only score posts) and check that no dashboard
calls it, that the worker's round does, and that nobody is hidden meanwhile.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from flask_babel import force_locale, format_datetime
from sqlalchemy import select, update

from lti_tool.extensions import db
from lti_tool.lti import claims
from lti_tool.models import Context, Deployment, Platform, PlatformStatus, RosterSnapshot, User, utcnow
from lti_tool.operating import gdpr
from lti_tool.runtime import runtime
from lti_tool.teaching import roster
from tests.integration.test_external_platform import launch
from tests.support.agent import landing_url, text_of
from tests.support.learner import csrf_of
from tests.support.lms import lms_command
from tests.support.records import occurrences
from tests.support.roster import RosterPlatform, refresh_rosters

BEING_READ = "Deltagerlisten hentes fra læringsplatformen"
FRESH_COPY = "En ny udgave hentes fra læringsplatformen."
NOT_READ = "Deltagerlisten kunne ikke hentes fra læringsplatformen"
NOT_REFRESHED = "Deltagerlisten kunne ikke opdateres fra læringsplatformen; listen er fra {when},"
LAST_REFRESHED = "Deltagerlisten blev sidst opdateret {when}."
TRIES_AGAIN = "Værktøjet prøver selv igen."
NOT_OPENED = "har ikke åbnet aktiviteten"


@pytest.fixture
def lms(live, runner) -> Iterator[RosterPlatform]:
    """A platform whose roster endpoint the test can freeze, registered with the live tool."""
    platform = RosterPlatform()
    result = runner.invoke(args=platform.cli_args())
    assert result.exit_code == 0, result.output
    platform.tool_jwks_url = live.base_url + "/.well-known/jwks.json"
    yield platform
    platform.close()


def members(tag: str, *learners: int) -> list[dict]:
    """The course as the LMS lists it: teacher 0 and the given learners."""
    people = [(0, "Instructor"), *((n, "Learner") for n in learners)]
    return [{"user_id": f"{tag}-{n}", "name": f"Person {tag} {n}", "status": "Active",
             "roles": [claims.ROLE_PREFIX_CONTEXT + role]} for n, role in people]


def open_dashboard(agent, lms, tag: str, *, look: bool = True) -> str:
    """The teacher's launch (and, if `look`, a first look at the dashboard); returns its address."""
    response, _, _ = launch(agent, lms, role="Instructor", sub=f"{tag}-0",
                            mutate=lambda body: body.update(name=f"Person {tag} 0"))
    board = landing_url(response)
    if look:
        assert agent.get(board).status_code == 200
    return board


def learner_launches(live, lms, tag: str, n: int) -> None:
    response, _, _ = launch(live.agent(), lms, sub=f"{tag}-{n}",
                            mutate=lambda body: body.update(name=f"Person {tag} {n}"))
    assert landing_url(response)


def shown(page: str, tag: str) -> set[int]:
    """Which of the course's people the dashboard lists (everyone, teachers too)."""
    return {int(n) for n in re.findall(rf"Person {tag} (\d+)", text_of(page))}


def snapshot_of(lms) -> RosterSnapshot:
    db.session.rollback()  # see what the live server committed
    # By client id too: a port, and so an issuer, can come back for another test's platform.
    platform = db.session.scalars(select(Platform).where(Platform.issuer == lms.issuer,
                                                         Platform.client_id == lms.client_id)).one()
    context = db.session.scalars(select(Context).join(Deployment).where(Deployment.platform_id == platform.id)).one()
    return db.session.scalars(select(RosterSnapshot).where(RosterSnapshot.context_id == context.id)).one()


def test_dashboards_answer_without_asking_a_frozen_roster_endpoint(app, live, agent, lms):
    tag = uuid.uuid4().hex[:6]
    lms.members = members(tag, 1, 2, 3)
    lms.freeze()
    board = open_dashboard(agent, lms, tag, look=False)

    with ThreadPoolExecutor(6) as pool:  # six teachers at once, as in the report
        pages = list(pool.map(lambda _: agent.get(board + "?role=all"), range(6)))
    assert [p.status_code for p in pages] == [200] * 6
    assert lms.roster_calls == 0  # no request asked the LMS
    text = text_of(pages[0].text)
    assert BEING_READ in text  # says the roster is on its way
    assert shown(pages[0].text, tag) == {0}  # the teacher, known from the launch
    assert snapshot_of(lms).wanted_since is not None  # queued for the worker

    # The worker's round asks the frozen LMS: its own timeout ends the wait, and the failure is kept.
    report = refresh_rosters()
    assert lms.roster_calls == 1
    assert any("reading the roster" in e or "timed out" in e for e in report.errors)
    snapshot = snapshot_of(lms)
    assert "timed out" in snapshot.last_error
    assert snapshot.failures == 1 and snapshot.last_error and snapshot.members is None
    page = agent.get(board + "?role=all")
    assert page.status_code == 200
    assert NOT_READ in text_of(page.text) and TRIES_AGAIN in text_of(page.text)
    assert 'class="notice notice-warn" id="roster-status"' in page.text


def test_a_failed_refresh_is_retried_with_back_off_and_shows_the_old_list(app, live, agent, lms):
    tag = uuid.uuid4().hex[:6]
    lms.members = members(tag, 1)
    board = open_dashboard(agent, lms, tag)
    refresh_rosters()
    first = snapshot_of(lms)
    assert first.members is not None and lms.roster_calls == 1
    page = agent.get(board + "?role=all")
    assert LAST_REFRESHED.format(when=shown_time(app, first.refreshed_at)) in text_of(page.text)

    # Two minutes on, the teacher opens the dashboard: it asks for a fresh roster; the LMS is frozen.
    now = utcnow()
    db.session.execute(update(RosterSnapshot).where(RosterSnapshot.id == first.id)
                       .values(refreshed_at=now - roster.STALE_AFTER))
    db.session.commit()
    taken = now - roster.STALE_AFTER
    lms.freeze()
    calls = lms.roster_calls
    page = agent.get(board + "?role=all")
    assert FRESH_COPY in text_of(page.text) and lms.roster_calls == calls
    refresh_rosters(now=lambda: now)
    assert lms.roster_calls == calls + 1 and snapshot_of(lms).failures == 1

    page = agent.get(board + "?role=all")
    assert page.status_code == 200
    assert NOT_REFRESHED.format(when=shown_time(app, taken)) in text_of(page.text)
    assert TRIES_AGAIN in text_of(page.text)
    assert shown(page.text, tag) == {0, 1}  # the old list, nobody lost

    # The back-off: not again at once, nor after less than half the first delay; after the longest, yes.
    lms.thaw()
    refresh_rosters(now=lambda: now + timedelta(seconds=1))
    refresh_rosters(now=lambda: now + timedelta(seconds=roster.BASE_DELAY * 0.7))  # the jitter's least
    assert lms.roster_calls == calls + 1
    refresh_rosters(now=lambda: now + timedelta(seconds=roster.BASE_DELAY * 1.3))  # the jitter's most
    assert lms.roster_calls == calls + 2 and snapshot_of(lms).failures == 0
    page = agent.get(board + "?role=all")
    assert NOT_READ not in text_of(page.text) and "kunne ikke opdateres" not in text_of(page.text)


def shown_time(app, moment) -> str:
    """A time as the Danish dashboard shows it (flask-babel, the configured time zone)."""
    with app.test_request_context(), force_locale("da"):
        return str(format_datetime(moment, "short"))


def test_the_worker_gives_up_after_many_failures_until_someone_asks_again(app, live, agent, lms):
    tag = uuid.uuid4().hex[:6]
    lms.members = members(tag, 1)
    lms.broken = True
    board = open_dashboard(agent, lms, tag)
    for attempt in range(1, roster.MAX_FAILURES + 1):
        back_off_elapsed(lms)
        refresh_rosters()
        assert lms.roster_calls == attempt and snapshot_of(lms).failures == attempt
    assert snapshot_of(lms).wanted_since is None  # nobody looking: the course is not polled forever
    back_off_elapsed(lms)
    refresh_rosters()
    assert lms.roster_calls == roster.MAX_FAILURES

    page = agent.get(board)
    assert NOT_READ in text_of(page.text)
    assert snapshot_of(lms).wanted_since is not None  # the next visit asks again
    lms.broken = False
    refresh_rosters()
    assert snapshot_of(lms).failures == 0 and shown(agent.get(board + "?role=all").text, tag) == {0, 1}


def back_off_elapsed(lms) -> None:
    """As if the snapshot's back-off had run out (only this test's snapshot; the clock stays)."""
    snapshot = snapshot_of(lms)
    db.session.execute(update(RosterSnapshot).where(RosterSnapshot.id == snapshot.id).values(next_attempt_at=None))
    db.session.commit()


def test_a_learner_enrolled_after_the_snapshot_appears_after_the_refresh_button(app, live, agent, lms):
    tag = uuid.uuid4().hex[:6]
    lms.members = members(tag, 1)
    board = open_dashboard(agent, lms, tag)
    refresh_rosters()
    page = agent.get(board + "?role=all")
    assert shown(page.text, tag) == {0, 1}
    assert "Deltagerlisten blev sidst opdateret" in text_of(page.text)

    lms.members = members(tag, 1, 2)  # enrolled in the LMS; has not opened the tool
    page = agent.get(board + "?role=all")
    assert shown(page.text, tag) == {0, 1}  # the snapshot is fresh: nothing asked of the LMS
    calls = lms.roster_calls

    refused = agent.http.post(agent.url(board + "roster/refresh"), data={"csrf_token": "wrong"}, timeout=30)
    assert 400 <= refused.status_code < 500
    pressed = agent.http.post(agent.url(board + "roster/refresh"), data={"csrf_token": csrf_of(page.text)}, timeout=30,
                              allow_redirects=False)
    assert pressed.status_code == 303 and pressed.headers["Location"].endswith("/instructor/")
    assert lms.roster_calls == calls  # queued, not read in the request
    page = agent.get(board + "?role=all")
    assert FRESH_COPY in text_of(page.text)

    db.session.rollback()
    runtime().deliver_scores(db.session)  # the grade worker's round reads it
    assert lms.roster_calls == calls + 1
    page = agent.get(board + "?role=all")
    assert shown(page.text, tag) == {0, 1, 2}
    assert FRESH_COPY not in text_of(page.text)
    assert snapshot_of(lms).wanted_since is None


def test_a_learner_who_launched_shows_at_once_without_a_refresh(app, live, agent, lms):
    tag = uuid.uuid4().hex[:6]
    lms.members = members(tag, 1, 4)
    learner_launches(live, lms, tag, 4)  # opened the tool, then left the course
    board = open_dashboard(agent, lms, tag)
    lms.members = members(tag, 1)
    refresh_rosters()
    page = agent.get(board + "?role=all")
    assert shown(page.text, tag) == {0, 1}  # 4 launched before the snapshot that leaves them out

    lms.freeze()
    calls = lms.roster_calls
    learner_launches(live, lms, tag, 5)  # enrolled after the snapshot, and opened the tool
    page = agent.get(board + "?role=all")
    assert page.status_code == 200
    assert shown(page.text, tag) == {0, 1, 5}
    assert lms.roster_calls == calls
    row = re.search(rf"<tr><th scope=\"row\">Person {tag} 5(.*?)</tr>", page.text, re.S)
    assert row and NOT_OPENED not in row.group(1)


def test_the_demo_lms_roster_is_refreshed_by_the_worker_round(app, live):
    """Against the demo LMS over HTTP: the button queues, the worker's round reads all members."""
    teacher = live.agent()
    board = teacher.launch("hanne", "vejle-int", "rl-nyankomne")
    assert board.status_code == 200
    pressed = teacher.http.post(board.url + "roster/refresh", data={"csrf_token": csrf_of(board.text)}, timeout=30)
    assert pressed.status_code == 200
    assert FRESH_COPY in text_of(pressed.text) or BEING_READ in text_of(pressed.text)  # read before, or not

    db.session.rollback()
    runtime().deliver_scores(db.session)
    page = teacher.get(board.url + "?role=all")
    text = text_of(page.text)
    for name in ("Hanne Kristensen", "Jonas Madsen", "Sara Lindqvist", "Amir Haddad"):
        assert name in text
    assert "Deltagerlisten blev sidst opdateret" in text and FRESH_COPY not in text and BEING_READ not in text


def test_erasing_a_person_takes_them_out_of_the_snapshot_and_a_purge_deletes_it(app, live, agent, lms):
    tag = uuid.uuid4().hex[:6]
    lms.members = members(tag, 1, 2)
    learner_launches(live, lms, tag, 1)
    open_dashboard(agent, lms, tag)
    refresh_rosters()
    snapshot = snapshot_of(lms)
    assert {m["user_id"] for m in snapshot.members} == {f"{tag}-0", f"{tag}-1", f"{tag}-2"}
    user = db.session.scalars(select(User).where(User.sub == f"{tag}-1",
                                                 User.platform_id == snapshot.platform_id)).one()

    gdpr.erase_user(db.session, user.id)
    assert {m["user_id"] for m in snapshot_of(lms).members} == {f"{tag}-0", f"{tag}-2"}
    assert occurrences(db.session, [f"Person {tag} 1"]) == []

    snapshot_id, platform_id = snapshot.id, snapshot.platform_id
    gdpr.purge_platform(db.session, platform_id)
    db.session.rollback()
    assert db.session.get(RosterSnapshot, snapshot_id) is None
    assert occurrences(db.session, [f"Person {tag}"]) == []


def test_a_suspended_platform_is_not_asked_for_its_roster(app, live, agent, lms):
    tag = uuid.uuid4().hex[:6]
    lms.members = members(tag, 1)
    open_dashboard(agent, lms, tag)
    snapshot = snapshot_of(lms)
    db.session.execute(update(Platform).where(Platform.id == snapshot.platform_id)
                       .values(status=PlatformStatus.DISABLED))
    db.session.commit()
    refresh_rosters()
    assert lms.roster_calls == 0
    snapshot = snapshot_of(lms)
    assert snapshot.wanted_since is None and "not registered and active" in snapshot.last_error


def test_a_demo_lms_whose_roster_is_down_leaves_the_dashboard_answering(app, live):
    """`flask lms outage 503 --roster`: the teacher's page answers from what the tool knows and
    says the roster could not be read; the worker's round records the failure, not a 500."""
    assert lms_command("lms", "outage", "503", "--roster").exit_code == 0
    try:
        teacher = live.agent()
        board = teacher.launch("hanne", "malmo-change", "rl-change")
        assert board.status_code == 200
        teacher.http.post(board.url + "roster/refresh", data={"csrf_token": csrf_of(board.text)}, timeout=30)
        db.session.rollback()
        runtime().deliver_scores(db.session)  # the worker's round: the roster read fails
        page = text_of(teacher.get(board.url).text)
        assert "Hanne Kristensen" in page  # known from her own launch
        assert NOT_READ in page or NOT_REFRESHED.split("{")[0] in page
        assert TRIES_AGAIN in page
    finally:
        assert lms_command("lms", "outage", "off", "--roster").exit_code == 0
