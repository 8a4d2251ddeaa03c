"""Data protection: export and erase a person, purge a platform, erase by retention.

"No personal data left" is checked by reading every column of every table of the tool (not the
demo LMS's tables: those are what the LMS itself knows) for the person's name, email address,
`sub` and answer texts.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from lti_tool.extensions import db
from lti_tool.models import (
    Certificate,
    Context,
    Deployment,
    LaunchRecord,
    ModuleProgress,
    Platform,
    RosterSnapshot,
    ScoreMessage,
    User,
    utcnow,
)
from lti_tool.operating import gdpr
from lti_tool.operating.reach import reach_report
from tests.support.agent import text_of
from tests.support.learner import activity_url, correct_answer, csrf_of, submit
from tests.support.records import occurrences, seed_person, seed_platform


def catalog(app):
    return app.extensions["integrationsloeft"].catalog()


def launch_id(url: str) -> str:
    return re.search(r"/c/([^/]+)/", url).group(1)


def work_with_free_text(agent, app, home_url: str, marker: str) -> None:
    """Answer the reflection and draft an action plan, both carrying the marker text."""
    module = catalog(app).module("nyankomne")
    reflection = next(a for a in module.activities if a.type == "reflection")
    answer = correct_answer(reflection)
    answer["text"] = f"{marker} {answer['text']}"
    assert submit(agent, home_url, module, reflection, answer).status_code == 200
    plan = next(a for a in module.activities if a.type == "action_plan")
    url = activity_url(home_url, module, plan)
    page = agent.get(url)
    fields = {"csrf_token": csrf_of(page.text), f"prompt-{plan.prompts[0].id}": f"{marker} ringer"}
    saved = agent.http.post(url + "/draft", data=fields, headers={"X-Requested-With": "fetch"},
                            timeout=30)
    assert saved.json()["saved"] is True


def test_export_then_erase_a_learner_after_real_launches(app, agent, console, fresh_learner):
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor")
    marker = "Svar-" + uuid.uuid4().hex[:8]
    work_with_free_text(agent, app, home.url, marker)
    db.session.rollback()
    user = db.session.get(LaunchRecord, launch_id(home.url)).user
    user_id, platform_id, sub = user.id, user.platform_id, user.sub
    name, email = user.name, user.email
    assert name
    assert email
    assert sub == fresh_learner
    # A certificate snapshot carries the name too.
    db.session.add(Certificate(code="TEST-" + uuid.uuid4().hex[:8].upper(), user_id=user_id,
                               holder_name=name, programme_id="efteruddannelse-integration",
                               programme_title="Efteruddannelse", modules=["Modul 1"]))
    db.session.commit()
    reach_before = reach_report(db.session, catalog(app), target=800, timezone="UTC", locale="da",
                                platform_id=platform_id)

    # Found by a part of the email address, and by platform and sub.
    found = console.post("/admin/learners", {"text": email.split("@")[0].upper()})
    assert f"/admin/learners/{user_id}" in found.text
    found = console.post("/admin/learners", {"platform": str(platform_id), "sub": sub})
    assert f"/admin/learners/{user_id}" in found.text
    assert name in text_of(found.text)
    detail = text_of(console.get(f"/admin/learners/{user_id}").text)
    assert email in detail
    assert "Submitted answers 1" in detail

    export = console.get(f"/admin/learners/{user_id}/export.json")
    assert export.headers["Content-Type"].startswith("application/json")
    assert "attachment" in export.headers["Content-Disposition"]
    data = export.json()
    assert data["user"]["name"] == name
    assert data["user"]["email"] == email
    assert data["user"]["sub"] == sub
    assert data["platform"]["id"] == platform_id
    assert [launch["id"] for launch in data["launches"]] == [launch_id(home.url)]
    assert data["launches"][0]["course_title"] == "Stort hold (1.000 deltagere)"
    assert any(marker in s["answer"]["text"] for s in data["submissions"])
    assert any(marker in json.dumps(s["draft"]) for s in data["activity_states"] if s["draft"])
    assert {p["module_id"] for p in data["module_progress"]} == {"nyankomne"}
    assert data["certificates"][0]["holder_name"] == name
    assert data["score_messages"]
    assert all(m["sub"] == sub for m in data["score_messages"])

    assert len(occurrences(db.session, [marker])) == 2  # the submission and the draft
    # Erasing needs the confirmation ...
    unconfirmed = console.post(f"/admin/learners/{user_id}/erase")
    assert "Tick the box" in text_of(console.follow(unconfirmed).text)
    db.session.rollback()
    assert db.session.get(User, user_id).name == name

    # ... and then leaves nothing that identifies the person, in any of the tool's tables.
    erased = console.post(f"/admin/learners/{user_id}/erase", {"confirm": "erase"})
    assert "was erased" in text_of(console.follow(erased).text)
    db.session.rollback()
    # The LMS's roster of this course under another registration of the same LMS (another test
    # registers it twice) lists the same login as another person of the tool: not this one.
    elsewhere = {f"roster_snapshots.members has {v!r}" for v in (name, email, sub)} if any(
        s.platform_id != platform_id for s in db.session.scalars(select(RosterSnapshot))) else set()
    assert set(occurrences(db.session, [name, email, sub, marker])) <= elsewhere
    mine = db.session.scalars(select(RosterSnapshot).where(RosterSnapshot.platform_id == platform_id)).all()
    assert not [m for s in mine for m in s.members if m.get("user_id") == sub]
    anonymous = db.session.get(User, user_id)
    assert anonymous.sub.startswith("erased-")
    assert (anonymous.name, anonymous.email, anonymous.locale) == (
        None, None, None)
    assert db.session.scalar(select(func.count()).select_from(LaunchRecord).where(
        LaunchRecord.user_id == user_id)) == 0
    assert db.session.scalar(select(func.count()).select_from(ScoreMessage).where(
        ScoreMessage.user_id == user_id)) == 0
    # The statistics survive: the module status stays, anonymously.
    kept = select(ModuleProgress.status).where(ModuleProgress.user_id == user_id)
    assert db.session.scalars(kept).all()
    reach_after = reach_report(db.session, catalog(app), target=800, timezone="UTC", locale="da",
                               platform_id=platform_id)
    assert reach_after.totals == reach_before.totals
    assert "erased" in text_of(console.get(f"/admin/learners/{user_id}").text)

    # The old launch is gone; launching again starts a new, empty record for the person.
    assert agent.get(home.url).status_code == 401
    again = agent.launch(fresh_learner, "stor-kursus", "rl-stor")
    db.session.rollback()
    new_user = db.session.get(LaunchRecord, launch_id(again.url)).user
    assert new_user.id != user_id
    assert new_user.sub == sub


def test_export_and_erase_from_the_cli(make_app, tmp_path):
    app = make_app()
    runner = app.test_cli_runner()
    with app.app_context():
        platform = seed_platform(db.session)
        person = seed_person(db.session, platform)
        other = seed_person(db.session, platform)
        platform_id = platform.id

    exported = runner.invoke(args=["gdpr", "export", person.sub, "--platform", str(platform_id)])
    assert exported.exit_code == 0, exported.output
    data = json.loads(exported.output)
    assert data["user"]["email"] == person.email
    assert data["submissions"][0]["answer"] == {"text": person.answer}
    assert data["activity_states"][0]["draft"] == {"prompt-1": person.answer}
    to_file = tmp_path / "export.json"
    assert runner.invoke(args=["gdpr", "export", person.sub, "--platform", str(platform_id),
                               "--output", str(to_file)]).exit_code == 0
    assert json.loads(to_file.read_text(encoding="utf-8"))["user"]["name"] == person.name

    on_platform = ["--platform", str(platform_id)]
    missing = runner.invoke(args=["gdpr", "erase", "nobody", *on_platform, "--yes"])
    assert missing.exit_code != 0
    assert "No user nobody" in missing.output
    declined = runner.invoke(args=["gdpr", "erase", person.sub, *on_platform], input="n\n")
    assert declined.exit_code != 0
    erased = runner.invoke(args=["gdpr", "erase", person.sub, *on_platform, "--yes"])
    assert erased.exit_code == 0, erased.output

    with app.app_context():
        assert occurrences(db.session, [person.name, person.email, person.sub, person.answer]) == []
        query = select(Certificate).where(Certificate.code == person.certificate_code)
        certificate = db.session.scalars(query).one()
        assert certificate.holder_name is None
        assert certificate.user_id == person.user_id
        # The other person on the same platform is untouched.
        assert occurrences(db.session, [other.name, other.email, other.answer])


def test_purge_a_platform_removes_everything_that_came_through_it(app, console):
    doomed = seed_platform(db.session)
    kept = seed_platform(db.session)
    people = [seed_person(db.session, doomed), seed_person(db.session, doomed, parked_score=True)]
    survivor = seed_person(db.session, kept)
    doomed_id, doomed_name = doomed.id, doomed.name

    wrong = console.post(f"/admin/platforms/{doomed_id}/purge", {"confirm": "not the name"})
    assert "Type the platform's name" in text_of(console.follow(wrong).text)
    db.session.rollback()
    assert db.session.get(Platform, doomed_id) is not None

    purged = console.post(f"/admin/platforms/{doomed_id}/purge", {"confirm": doomed_name})
    assert purged.headers["Location"] == "/admin/platforms"
    assert "and all its data were deleted" in text_of(console.follow(purged).text)
    db.session.rollback()
    assert db.session.get(Platform, doomed_id) is None
    assert db.session.scalars(select(Deployment).where(Deployment.platform_id == doomed_id)).all() \
        == []
    assert db.session.scalars(select(User).where(User.platform_id == doomed_id)).all() == []
    for person in people:
        assert occurrences(db.session, [person.name, person.email, person.sub, person.answer]) == []
        for model in (ModuleProgress, Certificate, LaunchRecord, ScoreMessage):
            assert db.session.scalar(select(func.count()).select_from(model).where(
                model.user_id == person.user_id)) == 0
    # The other platform keeps all of it.
    assert db.session.get(Platform, kept.id) is not None
    assert len(occurrences(db.session, [survivor.name])) >= 3  # user, certificate, feedback
    assert gdpr.holdings(db.session, survivor.user_id).launches == 1


def test_platforms_remove_deletes_the_platforms_data_on_sqlite_too(make_app):
    """SQLite ignores ON DELETE CASCADE here; the purge deletes table by table instead."""
    app = make_app()
    with app.app_context():
        platform = seed_platform(db.session)
        person = seed_person(db.session, platform)
        platform_id = platform.id
    removed = app.test_cli_runner().invoke(args=["platforms", "remove", str(platform_id)])
    assert removed.exit_code == 0
    with app.app_context():
        assert occurrences(db.session, [person.name, person.email, person.sub, person.answer]) == []
        assert db.session.scalar(select(func.count()).select_from(Context)) == 0
        assert db.session.scalar(select(func.count()).select_from(ModuleProgress)) == 0


def test_purge_expired_erases_people_not_seen_within_the_retention_period(make_app):
    app = make_app(RETENTION_DAYS=30)
    runner = app.test_cli_runner()
    with app.app_context():
        platform = seed_platform(db.session)
        old = seed_person(db.session, platform, last_seen_at=utcnow() - timedelta(days=31))
        recent = seed_person(db.session, platform, last_seen_at=utcnow() - timedelta(days=29))

    dry = runner.invoke(args=["gdpr", "purge-expired", "--dry-run"])
    assert "1 user(s) not seen for 30 days would be erased" in dry.output
    with app.app_context():
        assert occurrences(db.session, [old.email])

    purged = runner.invoke(args=["gdpr", "purge-expired"])
    assert purged.exit_code == 0
    assert "Erased 1 user(s)" in purged.output
    with app.app_context():
        assert occurrences(db.session, [old.name, old.email, old.sub, old.answer]) == []
        assert occurrences(db.session, [recent.email])
        assert db.session.get(User, old.user_id).sub.startswith("erased-")
        assert db.session.scalar(select(func.count()).select_from(ModuleProgress).where(
            ModuleProgress.user_id == old.user_id)) == 1
    # The erased are not erased again.
    assert "Erased 0 user(s)" in runner.invoke(args=["gdpr", "purge-expired"]).output


def test_default_retention_is_three_years(make_app):
    app = make_app()
    assert app.config["RETENTION_DAYS"] == 1095
    assert app.config["REACH_TARGET"] == 800
    assert app.config["ADMIN_SESSION_MINUTES"] == 30
    with app.app_context():
        platform = seed_platform(db.session)
        seed_person(db.session, platform, last_seen_at=utcnow() - timedelta(days=1094))
        assert gdpr.expired_users(db.session, app.config["RETENTION_DAYS"]) == []
