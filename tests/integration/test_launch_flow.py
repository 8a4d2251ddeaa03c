"""Whole launches from the demo LMS, through OIDC login, with real RSA signatures."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.lti.platform_keys import stats
from lti_tool.models import Context, LaunchRecord, ResourceLink, User, utcnow
from tests.support.agent import autosubmit_form, text_of


def launch_id_of(url: str) -> str:
    match = re.search(r"/c/([^/]+)/", url)
    assert match, url
    return match.group(1)


def test_learner_launch_lands_on_learner_home(app, agent):
    page = agent.launch("jonas", "vejle-int", "rl-nyankomne")

    assert page.status_code == 200
    assert re.search(r"/c/[^/]+/$", page.url)
    text = text_of(page.text)
    assert "Jonas Madsen" in text
    assert "Integration i praksis – efteruddannelse 2026" in text
    record = db.session.get(LaunchRecord, launch_id_of(page.url))
    assert record is not None
    assert record.user.sub == "jonas"
    assert record.user.email == "jonas.madsen@demo.example"
    assert record.locale == "da"
    assert record.context is not None and record.context.context_id == "vejle-int"
    assert record.resource_link is not None and record.resource_link.custom == {"module": "nyankomne"}
    assert "lineitems" in record.claims["ags"]
    assert "context_memberships_url" in record.claims["nrps"]
    assert '<html lang="da">' in page.text


def test_instructor_launch_lands_on_instructor_home(app, agent):
    page = agent.launch("hanne", "vejle-int", "rl-nyankomne")

    assert page.status_code == 200
    assert page.url.endswith("/instructor/")
    assert "Hanne Kristensen" in text_of(page.text)


def test_learner_cannot_open_instructor_pages(app, agent):
    page = agent.launch("jonas", "vejle-int", "rl-nyankomne")
    response = agent.get(page.url + "instructor/")
    assert response.status_code == 403


def test_launch_locale_chooses_interface_language(app, agent):
    swedish = agent.launch("sara", "malmo-change", "rl-change")
    english = agent.launch("amir", "vejle-int", "rl-programme")

    assert '<html lang="sv">' in swedish.text
    assert '<html lang="en">' in english.text


def test_two_interleaved_launches_in_two_courses_do_not_mix(app, agent):
    """Two tabs: both logins start before either launch finishes, in the same browser."""
    agent.sign_in("jonas")
    first = agent.get("/demo-lms/courses/vejle-int/initiate", params={"link_id": "rl-nyankomne"})
    second = agent.get("/demo-lms/courses/malmo-change/initiate", params={"link_id": "rl-change"})
    form_a, form_b = autosubmit_form(first.text), autosubmit_form(second.text)
    assert form_a and form_b

    page_b = agent.post(*form_b)
    page_a = agent.post(*form_a)

    assert page_a.status_code == page_b.status_code == 200
    assert "Integration i praksis" in text_of(page_a.text)
    assert "CHANGE – kompetensutveckling" in text_of(page_b.text)
    # Each tab keeps its own launch on every later request.
    assert "Integration i praksis" in text_of(agent.get(page_a.url).text)
    assert "CHANGE – kompetensutveckling" in text_of(agent.get(page_b.url).text)
    a = db.session.get(LaunchRecord, launch_id_of(page_a.url))
    b = db.session.get(LaunchRecord, launch_id_of(page_b.url))
    assert a.context.context_id == "vejle-int" and b.context.context_id == "malmo-change"


def test_launch_upserts_user_context_and_link_once(app, agent):
    agent.launch("amir", "vejle-int", "rl-samarbejde")
    agent.launch("amir", "vejle-int", "rl-samarbejde")

    users = db.session.scalars(select(User).where(User.sub == "amir")).all()
    assert len(users) == 1
    contexts = db.session.scalars(select(Context).where(Context.context_id == "vejle-int")).all()
    assert len(contexts) == 1
    links = db.session.scalars(select(ResourceLink).where(ResourceLink.resource_link_id == "rl-samarbejde")).all()
    assert len(links) == 1


def test_steady_state_launches_fetch_no_platform_jwks(app, agent):
    agent.launch("jonas", "vejle-int", "rl-nyankomne")  # warm the cache
    before = stats["fetches"]
    for _ in range(5):
        assert agent.launch("jonas", "vejle-int", "rl-nyankomne").status_code == 200
    assert stats["fetches"] == before


def test_unknown_launch_id_is_a_clear_expired_session(app, agent):
    response = agent.get("/c/not-a-real-launch/")
    assert response.status_code == 401
    assert "session_expired" in response.text


def test_a_launch_in_use_lives_on_and_an_expired_one_is_refused(app, agent):
    """A page of a launch past half its lifetime extends it to a whole one; an expired launch is
    refused with the localised page that sends the learner back to the LMS."""
    page = agent.launch("jonas", "vejle-int", "rl-nyankomne")
    launch_id = launch_id_of(page.url)
    lifetime = timedelta(seconds=app.config["LAUNCH_LIFETIME"])

    def expire_in(delta: timedelta) -> None:
        db.session.get_one(LaunchRecord, launch_id).expires_at = utcnow() + delta
        db.session.commit()

    expire_in(lifetime / 4)
    assert agent.get(page.url).status_code == 200
    db.session.expire_all()
    assert db.session.get_one(LaunchRecord, launch_id).expires_at > utcnow() + lifetime * 0.9

    expire_in(-timedelta(seconds=1))
    refused = agent.get(page.url)
    assert refused.status_code == 401
    assert "session_expired" in refused.text
    assert "Åbn aktiviteten igen fra dit kursus på læringsplatformen." in text_of(refused.text)
