"""The operator console: its own sign-in, lock-out, time-out and CSRF, and each of its actions."""

from __future__ import annotations

import html
import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from blueprints.admin import SEEN_KEY
from lti_tool.extensions import db
from lti_tool.models import (
    Deployment,
    Operator,
    Platform,
    PlatformStatus,
    ScoreMessage,
    ToolKey,
    utcnow,
)
from lti_tool.operating.gdpr import holdings
from lti_tool.operating.operators import find_operator
from tests.support.agent import text_of
from tests.support.console import PASSWORD, Console, make_operator
from tests.support.records import seed_person, seed_platform


def fresh(model, pk):
    db.session.rollback()  # see what the request committed
    return db.session.get(model, pk)


# --- signing in ------------------------------------------------------------------------------

def test_pages_need_a_signed_in_operator(live):
    response = Console(live.base_url).get("/admin/platforms")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=/admin/platforms")


def test_sign_in_lands_on_the_overview_and_sign_out_ends_it(live, app):
    email = make_operator(app)
    client = Console(live.base_url)
    signed_in = client.sign_in(email)
    assert signed_in.status_code == 302
    assert signed_in.headers["Location"] == "/admin/"
    home = client.get("/admin/")
    assert home.status_code == 200
    assert f"Signed in as {email}" in text_of(home.text)
    assert fresh(Operator, find_operator(db.session, email).id).last_login_at is not None

    signed_out = client.post("/admin/logout")
    assert signed_out.status_code == 302
    assert client.get("/admin/").status_code == 302


def test_sign_in_returns_to_the_page_asked_for_but_never_leaves_the_console(live, app):
    email = make_operator(app)
    asked = Console(live.base_url).get("/admin/keys")
    assert asked.headers["Location"] == "/admin/login?next=/admin/keys"
    login_page = Console(live.base_url).get(asked.headers["Location"]).text
    assert 'name="next" value="/admin/keys"' in login_page
    back = Console(live.base_url).sign_in(email, next="/admin/keys")
    assert back.headers["Location"] == "/admin/keys"
    # a newline in `next` was a 500 (Werkzeug refuses it in a header); a backslash, a way out
    for elsewhere in ("//evil.example/admin/", "https://evil.example/admin/", "/lti/login",
                      "/admin/\r\nX-Injected: 1", "/admin/\\evil.example"):
        response = Console(live.base_url).sign_in(email, next=elsewhere)
        assert response.status_code == 302
        assert response.headers["Location"] == "/admin/"
        assert "X-Injected" not in response.headers


def test_wrong_password_is_refused(live, app):
    email = make_operator(app)
    client = Console(live.base_url)
    response = client.sign_in(email, "not the password at all")
    assert response.status_code == 401
    assert "The email address or password is not correct." in text_of(response.text)
    assert client.get("/admin/").status_code == 302
    unknown = client.sign_in("nobody@konsortium.example")
    assert unknown.status_code == 401


def test_five_failures_lock_the_account_even_for_the_right_password(live, app):
    email = make_operator(app)
    client = Console(live.base_url)
    statuses = [client.sign_in(email, f"wrong password {i}").status_code for i in range(5)]
    assert statuses == [401, 401, 401, 401, 429]

    # Another browser (or another app instance: the count is in the database) is refused too.
    locked = Console(live.base_url).sign_in(email)
    assert locked.status_code == 429
    assert "locked for 15 minutes" in text_of(locked.text)
    operator = fresh(Operator, find_operator(db.session, email).id)
    assert operator.locked_until > utcnow() + timedelta(minutes=14)

    # Once the 15 minutes are over, the right password works again.
    operator.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert Console(live.base_url).sign_in(email).status_code == 302
    assert fresh(Operator, operator.id).failed_logins == 0


def test_sign_in_attempts_are_rate_limited_per_address(make_app, serve):
    app = make_app(RATELIMIT_ENABLED=True, LIMIT_CONSOLE_LOGIN="3 per minute")
    email = make_operator(app)
    client = Console(serve(app))
    # Guesses at different addresses: the per-account lock-out never sees two of the same.
    statuses = [client.sign_in(f"guess-{i}@konsortium.example").status_code for i in range(3)]
    assert statuses == [401, 401, 401]
    limited = client.sign_in(email)  # even the right password, from this address, now
    assert limited.status_code == 429
    assert "rate_limited" in limited.text and "Wait a minute and try again." in text_of(limited.text)
    assert "session" not in client.http.cookies or client.get("/admin/").status_code == 302
    # Only attempts count: the page, which every console form reads its CSRF token from, still opens.
    assert client.get("/admin/login").status_code == 200
    with app.app_context():
        assert find_operator(db.session, email).failed_logins == 0


def test_a_success_resets_the_failure_count(live, app):
    email = make_operator(app)
    client = Console(live.base_url)
    for i in range(4):
        client.sign_in(email, f"wrong {i}")
    assert client.sign_in(email).status_code == 302
    # Counting starts afresh: one more failure is not the fifth.
    assert Console(live.base_url).sign_in(email, "wrong again").status_code == 401


def test_idle_session_times_out(live, app):
    client = Console(live.base_url)
    client.sign_in(make_operator(app))
    assert client.get("/admin/keys").status_code == 200
    client.set_session(app, {**client.session(app), SEEN_KEY: time.time() - 29 * 60})
    assert client.get("/admin/keys").status_code == 200  # activity keeps the session alive
    assert time.time() - client.session(app)[SEEN_KEY] < 60

    client.set_session(app, {**client.session(app), SEEN_KEY: time.time() - 31 * 60})
    response = client.get("/admin/keys")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login?expired=1"
    page = client.get(response.headers["Location"])
    assert "signed out after 30 minutes without activity" in text_of(page.text)
    assert client.get("/admin/keys").status_code == 302  # and stays signed out


def test_forms_without_the_csrf_token_are_refused(make_app, serve):
    app = make_app()
    assert app.config.get("WTF_CSRF_ENABLED", True)
    email = make_operator(app)
    client = Console(serve(app))
    refused_login = client.post("/admin/login", {"email": email, "password": PASSWORD}, token=False)
    assert refused_login.status_code == 400
    assert "The form has expired" in text_of(refused_login.text)

    assert client.sign_in(email).status_code == 302
    refused = client.post("/admin/keys/rotate", token=False)
    assert refused.status_code == 400
    forged = client.post("/admin/keys/rotate", {"csrf_token": "forged"}, token=False)
    assert forged.status_code == 400
    with app.app_context():
        assert db.session.scalars(select(ToolKey)).all() == []
    assert client.post("/admin/keys/rotate").status_code == 302


def test_console_pages_are_private_and_obey_the_csp(console):
    for path in ("/admin/", "/admin/platforms", "/admin/keys", "/admin/grades", "/admin/reach",
                 "/admin/certificates", "/admin/learners", "/admin/register"):
        response = console.get(path)
        assert response.status_code == 200, path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"
        # style-src and script-src 'self': no inline styles or scripts anywhere.
        assert " style=" not in response.text, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", response.text), path
        assert '<html lang="en">' in response.text


# --- platforms -------------------------------------------------------------------------------

def test_approve_disable_and_enable_a_platform(app, console):
    platform = seed_platform(db.session, status=PlatformStatus.PENDING)
    origin = platform.issuer
    listing = console.get("/admin/platforms")
    assert platform.name in text_of(listing.text)
    assert "waiting for approval" in text_of(listing.text)

    approved = console.post(f"/admin/platforms/{platform.id}/status", {"action": "approve"})
    assert approved.status_code == 302
    assert fresh(Platform, platform.id).status == PlatformStatus.ACTIVE
    assert "is now active" in text_of(console.get(approved.headers["Location"]).text)
    # The approved platform may frame the tool at once (the commit reset the frame-ancestors cache).
    assert origin in console.get("/no/such/page").headers["Content-Security-Policy"]

    console.post(f"/admin/platforms/{platform.id}/status", {"action": "disable"})
    assert fresh(Platform, platform.id).status == PlatformStatus.DISABLED
    assert origin not in console.get("/no/such/page").headers["Content-Security-Policy"]
    refused = console.post(f"/admin/platforms/{platform.id}/status", {"action": "approve"})
    assert "cannot approve a platform that is disabled" in text_of(console.follow(refused).text)
    console.post(f"/admin/platforms/{platform.id}/status", {"action": "enable"})
    assert fresh(Platform, platform.id).status == PlatformStatus.ACTIVE


def test_edit_a_platforms_endpoints(app, console):
    platform = seed_platform(db.session)
    form = {"name": "Aarhus Kommune", "auth_login_url": "https://moodle.aarhus.example/mod/lti/auth.php",
            "auth_token_url": "https://moodle.aarhus.example/mod/lti/token.php",
            "key_set_url": "https://moodle.aarhus.example/mod/lti/certs.php", "auth_audience": ""}
    assert console.post(f"/admin/platforms/{platform.id}", form).status_code == 302
    edited = fresh(Platform, platform.id)
    assert (edited.name, edited.auth_token_url, edited.auth_audience) == (
        "Aarhus Kommune", "https://moodle.aarhus.example/mod/lti/token.php", None)

    bad = console.post(f"/admin/platforms/{platform.id}", {**form, "key_set_url": "not a url"})
    assert "key set URL must be an http(s) URL" in text_of(console.follow(bad).text)
    assert fresh(Platform, platform.id).key_set_url == "https://moodle.aarhus.example/mod/lti/certs.php"
    # a broken IPv6 literal was a 500 (urllib's ValueError)
    broken = console.post(f"/admin/platforms/{platform.id}", {**form, "auth_login_url": "http://[x"})
    assert broken.status_code == 302
    assert "must be an http(s) URL" in text_of(console.follow(broken).text)
    assert fresh(Platform, platform.id).auth_login_url == "https://moodle.aarhus.example/mod/lti/auth.php"
    # longer than the column: PostgreSQL refused it with a 500
    long_url = "https://moodle.aarhus.example/" + "a" * 1100
    too_long = console.post(f"/admin/platforms/{platform.id}", {**form, "key_set_url": long_url})
    assert too_long.status_code == 302
    assert "key set URL is longer than 1024 characters" in text_of(console.follow(too_long).text)


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/admin/learners/{id}"), ("get", "/admin/platforms/{id}"),
    ("post", "/admin/learners/{id}/erase"), ("post", "/admin/platforms/{id}/deployments"),
])
def test_ids_past_what_the_id_columns_hold_are_not_found_not_a_500(console, method, path):
    """The database refuses such a number (SQLite past 64 bits, PostgreSQL's INTEGER past 32)."""
    send = console.get if method == "get" else console.post
    for beyond in (2**31, 2**63):
        assert send(path.format(id=beyond)).status_code == 404
    assert send(path.format(id=2**31 - 1)).status_code in (302, 404)  # the largest id is looked up


def test_add_and_remove_deployments(app, console):
    platform = seed_platform(db.session)
    person = seed_person(db.session, platform)
    added = console.post(f"/admin/platforms/{platform.id}/deployments", {"deployment_id": "42"})
    assert added.status_code == 302
    duplicate = console.post(f"/admin/platforms/{platform.id}/deployments", {"deployment_id": "42"})
    assert "already registered" in text_of(console.get(duplicate.headers["Location"]).text)
    deployments = {d.deployment_id: d.id for d in fresh(Platform, platform.id).deployments}
    assert set(deployments) == {"1", "42"}

    # Removing deployment 1 takes its courses and launches with it; the person's progress stays.
    removed = console.post(f"/admin/platforms/{platform.id}/deployments/{deployments['1']}/remove")
    assert removed.status_code == 302
    db.session.rollback()
    assert [d.deployment_id for d in db.session.get(Platform, platform.id).deployments] == ["42"]
    assert db.session.get(Deployment, deployments["1"]) is None
    left = holdings(db.session, person.user_id)
    assert (left.launches, left.module_progress, left.submissions) == (0, 1, 1)


# --- keys, grades, certificates, manual registration -------------------------------------------

def test_rotate_the_tool_key(app, console):
    db.session.rollback()
    before = db.session.scalars(select(ToolKey).where(ToolKey.retired_at.is_(None))).one()
    page = console.get("/admin/keys")
    assert before.kid in page.text
    assert "current" in text_of(page.text)

    rotated = console.post("/admin/keys/rotate")
    assert rotated.status_code == 302
    db.session.rollback()
    after = db.session.scalars(select(ToolKey).where(ToolKey.retired_at.is_(None))).one()
    assert after.kid != before.kid
    page = text_of(console.get("/admin/keys").text)
    assert after.kid in page
    assert before.kid in page
    assert "still published until" in page


def test_grade_delivery_shows_and_retries_parked_scores(app, console):
    person = seed_person(db.session, seed_platform(db.session), parked_score=True)
    page = text_of(console.get("/admin/grades").text)
    assert "400: line item is closed (Moodle)" in page
    assert person.sub in page

    assert console.post("/admin/grades/retry", {"id": str(person.score_id)}).status_code == 302
    row = fresh(ScoreMessage, person.score_id)
    assert row.state == "queued"
    assert row.attempts == 0
    row.state = "delivered"  # keep the queue of the shared live app clean
    db.session.commit()


def test_certificate_look_up(app, console):
    person = seed_person(db.session, seed_platform(db.session))
    typed = person.certificate_code.replace("-", "").lower()
    found = text_of(console.get("/admin/certificates", params={"code": typed}).text)
    assert "The certificate is genuine" in found
    assert person.name in found
    missing = text_of(console.get("/admin/certificates", params={"code": "ZZZZ-ZZZZ-ZZZZ"}).text)
    assert "No certificate has the code ZZZZ-ZZZZ-ZZZZ" in missing


def test_register_by_hand_shows_every_url_and_the_json(app, console):
    page = console.get("/admin/register")
    base = app.config["TOOL_BASE_URL"]
    for path in ("/lti/login", "/lti/launch", "/.well-known/jwks.json", "/lti/register"):
        assert base + path in page.text
    pre = r'<pre class="code-block" id="configuration-json"[^>]*>(.*?)</pre>'
    configuration = re.search(pre, page.text, re.S)

    metadata = json.loads(html.unescape(configuration.group(1)))
    assert metadata["initiate_login_uri"] == base + "/lti/login"
    assert metadata["jwks_uri"] == base + "/.well-known/jwks.json"
    assert 'src="/static/js/copy.js"' in page.text
    assert 'data-copy="configuration-json"' in page.text
    assert console.get("/static/js/copy.js").status_code == 200
    assert "navigator.clipboard" in console.get("/static/js/copy.js").text


# --- reach -----------------------------------------------------------------------------------

def test_reach_per_platform_and_month_with_csv(app, console):
    platform = seed_platform(db.session, name="Reach Kommune")
    jan, feb, mar = (datetime(2026, m, 10, 12, tzinfo=UTC) for m in (1, 2, 3))
    # One person completes the whole Danish programme (2 mandatory + 2 electives) by March ...
    seed_person(db.session, platform, progress={
        "nyankomne": ("completed", jan, jan), "tvaerfagligt-samarbejde": ("completed", jan, feb),
        "unge": ("completed", feb, feb), "beskaeftigelse": ("completed", feb, mar)})
    # ... another completes one module, a third only started one.
    seed_person(db.session, platform, progress={"nyankomne": ("completed", feb, feb)})
    seed_person(db.session, platform, progress={"nyankomne": ("in_progress", mar, None)})

    page = console.get("/admin/reach", params={"platform": platform.id})
    text = text_of(page.text)
    assert "2 practitioners on this platform have completed at least one module" in text
    assert "Continuing education in integration work 3 1" in text  # started 3, completed 1
    assert "Nyankomne flygtninge og familiesammenførte 3 2" in text
    assert "<svg" in page.text
    assert "chart-bar-started" in page.text
    # Months as the (British) locale names them, with the first module started and completed in each.
    assert "Completed their first module Jan 2026 1 1 Feb 2026 1 1 Mar 2026 1 0" in text

    everyone = text_of(console.get("/admin/reach").text)
    assert re.search(r"\d+ of 800 practitioners have completed at least one module", everyone)
    assert "Reach Kommune" in everyone

    csv_response = console.get("/admin/reach.csv", params={"platform": platform.id})
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    body = csv_response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    lines = body[1:].splitlines()
    assert lines[0] == "Platform;Programme;Module;Month;Learners started;Learners completed"
    assert "Reach Kommune;Continuing education in integration work;;2026-01;1;0" in lines
    assert "Reach Kommune;Continuing education in integration work;;2026-02;1;0" in lines
    # March: the third person starts, the first completes the programme (with the 4th module).
    assert "Reach Kommune;Continuing education in integration work;;2026-03;1;1" in lines
    module = "Nyankomne flygtninge og familiesammenførte"
    assert f"Reach Kommune;Continuing education in integration work;{module};2026-02;1;1" in lines


# --- the CLI ---------------------------------------------------------------------------------

def test_operators_cli(make_app, serve):
    app = make_app()
    runner = app.test_cli_runner()
    create = ["operators", "create"]
    created = runner.invoke(args=[*create, "Drift@Konsortium.example", "--password", PASSWORD])
    assert created.exit_code == 0, created.output
    prompted = runner.invoke(args=["operators", "create", "anden@konsortium.example"],
                             input=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    taken = runner.invoke(args=[*create, "drift@konsortium.example", "--password", PASSWORD])
    assert "already exists" in taken.output
    short = runner.invoke(args=[*create, "kort@konsortium.example", "--password", "kort"])
    assert short.exit_code != 0
    assert "at least 12 characters" in short.output

    with app.app_context():
        operator = find_operator(db.session, "drift@konsortium.example")
        assert operator is not None
        assert operator.password_hash.startswith("$argon2id$")
        assert PASSWORD not in operator.password_hash
        operator.locked_until = utcnow() + timedelta(minutes=15)
        db.session.commit()
    assert "locked until" in runner.invoke(args=["operators", "list"]).output
    assert runner.invoke(args=["operators", "unlock", "drift@konsortium.example"]).exit_code == 0
    assert Console(serve(app)).sign_in("drift@konsortium.example").status_code == 302


def test_grade_page_counts_the_queue_and_retries_all_parked(make_app, serve):
    """On an app of its own, so the figures are exactly this test's: depth, oldest, retry all."""
    app = make_app()
    base_url = serve(app)
    with app.app_context():
        platform = seed_platform(db.session)
        parked = [seed_person(db.session, platform, parked_score=True) for _ in range(2)]
        waiting = seed_person(db.session, platform)
        row = db.session.get(ScoreMessage, waiting.score_id)
        row.state, row.created_at = "queued", datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
        db.session.commit()
    operator = Console(base_url)
    assert operator.sign_in(make_operator(app)).status_code == 302

    page = text_of(operator.get("/admin/grades").text)
    assert "1 waiting" in page and "2 parked" in page
    assert "The oldest waiting score is from 04/03/2026" in page  # 4 March, British

    assert operator.post("/admin/grades/retry", {}).status_code == 302
    with app.app_context():
        states = {db.session.get(ScoreMessage, p.score_id).state for p in parked}
    assert states == {"queued"}
    page = text_of(operator.get("/admin/grades").text)
    assert "3 waiting" in page and "No parked scores." in page


def test_grade_page_shows_each_platforms_last_error_from_the_lms(make_app, serve):
    """Per platform: what waits, what is parked, and the newest error its LMS answered; a platform
    whose scores all arrived is not listed (its 409 note is no error)."""
    app = make_app()
    base_url = serve(app)
    with app.app_context():
        down, closed, fine = (seed_platform(db.session, name=n) for n in ("Aarhus Moodle", "Borås Canvas", "Fanø"))
        older = seed_person(db.session, down, parked_score=True)  # "400: line item is closed (Moodle)"
        newer = seed_person(db.session, down)
        row = db.session.get(ScoreMessage, newer.score_id)
        row.state, row.last_error = "queued", "503: Service Unavailable"
        seed_person(db.session, closed, parked_score=True)
        delivered = seed_person(db.session, fine)
        db.session.get(ScoreMessage, delivered.score_id).last_error = "409: LMS holds a newer score"
        db.session.commit()
        assert older.score_id < newer.score_id
    operator = Console(base_url)
    assert operator.sign_in(make_operator(app)).status_code == 302

    page = operator.get("/admin/grades").text
    table = page.split('<table class="platform-errors">', 1)[1].split("</table>", 1)[0]
    rows = {html.unescape(name): (waiting, parked, text_of(error))
            for name, waiting, parked, error in re.findall(
                r'<th scope="row">([^<]+)</th><td>(\d+)</td><td>(\d+)</td>\s*<td>(.*?)</td></tr>', table, re.S)}
    assert rows == {"Aarhus Moodle": ("1", "1", "503: Service Unavailable"),
                    "Borås Canvas": ("0", "1", "400: line item is closed (Moodle)")}


def test_reach_counts_toward_the_configured_target(make_app, serve):
    """REACH_TARGET is the consortium's own goal (800 in the first programme, 2015–2017)."""
    app = make_app(REACH_TARGET=40)
    base_url = serve(app)
    with app.app_context():
        platform = seed_platform(db.session)
        for _ in range(3):
            seed_person(db.session, platform)  # each completed a module
    operator = Console(base_url)
    assert operator.sign_in(make_operator(app)).status_code == 302

    page = text_of(operator.get("/admin/reach").text)

    assert "3 of 40 practitioners have completed at least one module (8%)" in page
