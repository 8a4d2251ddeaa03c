"""Nothing a learner writes is lost: two tabs on one draft, and a page whose launch expired.

The server side of static/js/exercise.js: a save based on an older draft version is refused (409)
with the stored one; an expired page's answer is kept (progress/rescue.py) for the learner's next
launch, and what a stolen expired token can do is bounded.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from babel.numbers import format_decimal
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import ActivityState, LaunchRecord, Submission, utcnow
from lti_tool.operating import gdpr
from lti_tool.runtime import runtime
from tests.support.agent import text_of
from tests.support.learner import activity_url, correct_answer, csrf_of, open_answer_form

FETCH = {"X-Requested-With": "fetch", "Accept": "application/json"}


def reflection_of(module_id: str = "nyankomne"):
    module = runtime().catalog().module(module_id)
    return module, next(a for a in module.activities if a.type == "reflection")


def launch_id(url: str) -> str:
    return re.search(r"/c/([^/]+)/", url).group(1)


def version_of(page: str) -> str:
    match = re.search(r'data-draft-version="(\d+)"', page)
    assert match, "no draft version on the page"
    return match.group(1)


def form_fields(text: str) -> dict[str, str]:
    """What the Haddad case's form posts besides its token: the text, and the role the fixture chose
    (the form carries it as a hidden field)."""
    return {"text": text, "variant": reflection_of()[1].variants[0].id}


def save(agent, url: str, token: str, text: str, version: str | None = None, **extra: str):
    data = {"csrf_token": token, **form_fields(text), **extra}
    if version is not None:
        data["draft_version"] = version
    return agent.http.post(url + "/draft", data=data, headers=FETCH, timeout=30)


def expire(launch: str, ago: timedelta = timedelta(minutes=1)) -> None:
    """The launch's lifetime ran out `ago` (as after a long pause), without waiting for it."""
    db.session.rollback()
    db.session.get_one(LaunchRecord, launch).expires_at = utcnow() - ago
    db.session.commit()


def stored_state(user_sub_launch: str, activity_id: str) -> ActivityState:
    db.session.rollback()  # see what the live server committed meanwhile
    user_id = db.session.get_one(LaunchRecord, user_sub_launch).user_id
    return db.session.scalars(select(ActivityState).where(ActivityState.user_id == user_id,
                                                          ActivityState.activity_id == activity_id)).one()


@pytest.fixture
def writing(app, agent, fresh_learner):
    """A fresh learner with the Haddad reflection open: (its URL, the page's token and version)."""
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor")
    module, reflection = reflection_of()
    url = activity_url(home.url, module, reflection)
    page = open_answer_form(agent, url, reflection)
    return url, csrf_of(page.text), version_of(page.text), reflection, fresh_learner


# --- two tabs ------------------------------------------------------------------------------------

def test_a_save_based_on_an_older_version_is_refused_with_the_stored_one(agent, writing):
    url, token, version, reflection, _ = writing

    first = save(agent, url, token, "Skrevet i den første fane", version)
    assert first.status_code == 200
    newer = first.json()["version"]
    assert newer == int(version) + 1

    second = save(agent, url, token, "Skrevet i den anden fane", version)  # the other tab, still on the old one

    assert second.status_code == 409
    assert second.json() == {"error": "draft_conflict", "version": newer,
                             "answer": form_fields("Skrevet i den første fane")}
    assert stored_state(launch_id(url), reflection.id).draft == form_fields("Skrevet i den første fane")

    # The learner keeps the second tab's version: a save based on the newest one goes through.
    kept = save(agent, url, token, "Skrevet i den anden fane", str(newer))
    assert kept.status_code == 200
    assert stored_state(launch_id(url), reflection.id).draft == form_fields("Skrevet i den anden fane")


def test_a_submission_in_another_tab_refuses_the_old_drafts_save(agent, writing):
    url, token, version, reflection, _ = writing
    answer = str(correct_answer(reflection)["text"])
    assert agent.http.post(url, data={"csrf_token": token, **form_fields(answer)}, timeout=30).status_code == 200

    late = save(agent, url, token, "Gammel kladde", version)

    assert late.status_code == 409
    assert late.json()["answer"] == form_fields(answer)


@pytest.mark.parametrize("version", ["²", "-1", "1e3", "9" * 40, ""])
def test_a_version_that_is_no_number_is_as_if_none_was_sent(agent, writing, version):
    url, token, _, reflection, _ = writing

    response = save(agent, url, token, "Hvad som helst", version)

    assert response.status_code == 200
    assert stored_state(launch_id(url), reflection.id).draft == form_fields("Hvad som helst")


def test_the_save_button_without_javascript_still_saves(agent, writing):
    url, token, _, reflection, _ = writing
    save(agent, url, token, "Fra en anden fane", "0")

    plain = agent.http.post(url + "/draft", data={"csrf_token": token, **form_fields("Uden JavaScript")}, timeout=30)

    assert plain.status_code == 200
    assert stored_state(launch_id(url), reflection.id).draft == form_fields("Uden JavaScript")


# --- an expired launch -----------------------------------------------------------------------------

def test_an_expired_pages_answer_comes_back_at_the_next_launch(agent, writing):
    url, token, version, reflection, learner = writing
    assert save(agent, url, token, "Det gemte", version).status_code == 200
    expire(launch_id(url))

    late = save(agent, url, token, "Det gemte og det skrevet efter pausen", "1")

    assert late.status_code == 401
    assert late.json()["error"] == "session_expired_answer_kept"
    state = stored_state(launch_id(url), reflection.id)
    assert state.draft == form_fields("Det gemte"), "a rescue never overwrites the saved draft"
    assert state.rescued_draft == form_fields("Det gemte og det skrevet efter pausen")

    home = agent.launch(learner, "stor-kursus", "rl-stor")  # opened again from the LMS
    again_url = activity_url(home.url, *reflection_of())
    page = agent.get(again_url)
    assert '>Det gemte og det skrevet efter pausen</textarea>' in page.text
    assert "det, du skrev, efter din sidste session sluttede" in text_of(page.text)
    assert '<textarea id="replaced-text" rows="6" readonly>Det gemte</textarea>' in page.text
    marker = re.search(r'name="rescue" value="([^"]+)"', page.text).group(1)

    saved = save(agent, again_url, csrf_of(page.text), "Det gemte og det skrevet efter pausen. Videre.",
                 version_of(page.text), rescue=marker)
    assert saved.status_code == 200
    state = stored_state(launch_id(again_url), reflection.id)
    assert state.rescued_draft is None
    assert "Videre." in state.draft["text"]
    assert 'name="rescue"' not in agent.get(again_url).text


def test_submitting_an_expired_page_keeps_the_answer_and_says_what_to_do(agent, writing):
    url, token, _, reflection, _ = writing
    expire(launch_id(url))

    response = agent.http.post(url, data={"csrf_token": token, **form_fields("Mit svar")}, timeout=30)

    assert response.status_code == 401
    text = text_of(response.text)
    assert "Din session var udløbet" in text and "Åbn aktiviteten igen" in text
    db.session.rollback()
    user_id = db.session.get_one(LaunchRecord, launch_id(url)).user_id
    assert db.session.scalars(select(Submission).where(Submission.user_id == user_id)).first() is None
    assert stored_state(launch_id(url), reflection.id).rescued_draft == form_fields("Mit svar")


# --- what an expired page's token can do ----------------------------------------------------------

@pytest.mark.parametrize("case", ["wrong token", "expired beyond the window", "a module the link does not open",
                                  "not an exercise", "unknown launch"])
def test_an_expired_token_keeps_nothing_outside_its_bounds(app, agent, writing, case):
    url, token, _, _, _ = writing
    launch = launch_id(url)
    window = timedelta(seconds=app.config["DRAFT_RESCUE_WINDOW"])
    expire(launch, window + timedelta(minutes=1) if case == "expired beyond the window" else timedelta(minutes=1))
    target = {
        "wrong token": url, "expired beyond the window": url,
        "a module the link does not open": url.replace("/m/nyankomne/a/refleksion-familien-haddad",
                                                       "/m/unge/a/refleksion-mahdi"),
        "not an exercise": url.replace("/a/refleksion-familien-haddad", "/a/modtagelsen"),
        "unknown launch": url.replace(launch, "x" * 40),
    }[case]
    if case == "wrong token":
        token = "0" * 64

    late = save(agent, target, token, "Skrevet af en anden")

    assert late.status_code == 401
    assert late.json()["error"] == "session_expired"
    assert "Skrevet af en anden" not in late.text
    db.session.rollback()
    user_id = db.session.get_one(LaunchRecord, launch).user_id
    assert db.session.scalars(select(ActivityState).where(
        ActivityState.user_id == user_id, ActivityState.rescued_draft.is_not(None))).first() is None


def test_erasing_the_learner_erases_a_kept_answer(agent, writing):
    url, token, _, reflection, _ = writing
    expire(launch_id(url))
    assert save(agent, url, token, "Navn og alt muligt").json()["error"] == "session_expired_answer_kept"
    user_id = stored_state(launch_id(url), reflection.id).user_id

    gdpr.erase_user(db.session, user_id)

    db.session.rollback()
    state = db.session.scalars(select(ActivityState).where(ActivityState.user_id == user_id,
                                                           ActivityState.activity_id == reflection.id)).one()
    assert (state.rescued_draft, state.rescued_at) == (None, None)


def test_a_live_page_never_keeps_a_rescue(agent, writing):
    url, token, version, reflection, _ = writing

    assert save(agent, url, token, "Levende", version).status_code == 200

    assert stored_state(launch_id(url), reflection.id).rescued_draft is None


def test_the_hint_states_the_length_limit(agent, writing):
    url, _, _, reflection, _ = writing

    hint = re.search(r'<p class="muted" id="text-hint">([^<]+)</p>', agent.get(url).text).group(1)

    assert f"Skriv mindst {reflection.min_words} ord og højst 20.000 tegn." in hint


@pytest.mark.parametrize(("user", "course", "link", "programme", "words"), [
    ("sara", "malmo-change", "rl-change", "change", "Skriv minst {n} ord och högst {chars} tecken."),
    ("amir", "vejle-int", "rl-programme", "efteruddannelse-integration",
     "Write at least {n} words and at most {chars} characters."),
])
def test_the_hint_states_the_length_limit_in_the_learners_language(app, agent, user, course, link, programme, words):
    home = agent.launch(user, course, link)
    module, reflection = next((m, a) for m in runtime().catalog().programmes[programme].modules
                              for a in m.activities if a.type == "reflection" and a.min_words)
    locale = "sv" if user == "sara" else "en_GB"

    page = open_answer_form(agent, activity_url(home.url, module, reflection), reflection).text

    expected = words.format(n=reflection.min_words, chars=format_decimal(20000, locale=locale))
    assert expected in re.search(r'<p class="muted" id="text-hint">([^<]+)</p>', page).group(1)
