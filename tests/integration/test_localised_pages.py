"""Learner, instructor and operator pages in Danish, Swedish and English, with values chosen to show
how each language writes them: 3.5 hours, 1 and 2 reflections, a percentage, a date. Also the
feedback that teaches: matching, an incomplete quiz, the grading form, a reflection's state."""

from __future__ import annotations

import re
import uuid
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import LaunchRecord, Submission
from tests.integration.test_external_platform import launch
from tests.integration.test_learning import catalog, launch_id
from tests.support.agent import landing_url, text_of
from tests.support.console import Console, make_operator
from tests.support.learner import activity_url, correct_answer, csrf_of, submit, work_through

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
PROGRAMME = "efteruddannelse-integration"
MODULE = "interkulturel-kommunikation"  # Danish; estimated 210 minutes, pass marks 0.7

# What each language must show. Danish and Swedish write a decimal comma and a space before "%".
EXPECTED = {
    "da": {"locale": "da-DK", "format": "da_DK", "hours": "ca. 3,5 timer", "notice": None,
           "pass_mark": "Grænse for at bestå: 70 %", "zero": "(0 %)",
           "one": "1 refleksion venter på din bedømmelse.", "two": "2 refleksioner venter på din bedømmelse."},
    "sv": {"locale": "sv-SE", "format": "sv_SE", "hours": "cirka 3,5 timmar",
           "notice": "Kursmaterialet är på danska; menyer och knappar är på ditt språk.",
           "pass_mark": "Gräns för godkänt: 70 %", "zero": "(0 %)",
           "one": "1 reflektion väntar på din bedömning.", "two": "2 reflektioner väntar på din bedömning."},
    "en": {"locale": "en-GB", "format": "en_GB", "hours": "about 3.5 hours",
           "notice": "The course material is in Danish; menus and buttons are in your language.",
           "pass_mark": "Pass mark: 70%", "zero": "(0%)",
           "one": "1 reflection is waiting for your grading.", "two": "2 reflections are waiting for your grading."},
}


def visible(page: str) -> str:
    return text_of(page)


def launch_in(agent, external, *, sub: str, locale: str, course: str, role: str = "Learner"):
    """A launch from a platform of its own into a course of its own (`course`), on a link to MODULE."""
    def shape(body: dict) -> None:
        body[LTI + "launch_presentation"]["locale"] = locale
        body[LTI + "resource_link"]["id"] = f"{course}-link"
        body[LTI + "custom"] = {"module": MODULE}
        body[LTI + "context"] = {"id": course, "label": "L10N", "title": "Sprogkursus"}

    response, _, _ = launch(agent, external, role=role, sub=sub, mutate=shape)
    return agent.get(landing_url(response))


def module_and(app, activity_type: str):
    module = catalog(app).module(MODULE)
    return module, next(a for a in module.activities if a.type == activity_type)


@pytest.mark.parametrize("lang", list(EXPECTED))
def test_learner_and_instructor_pages_write_numbers_as_their_language_does(app, agent, external, lang):
    want = EXPECTED[lang]
    course = f"l10n-{uuid.uuid4().hex[:8]}"
    module, quiz = module_and(app, "quiz")
    _, reflection = module_and(app, "reflection")
    programme = catalog(app).programmes[PROGRAMME]

    home = launch_in(agent, external, sub=f"{course}-a", locale=want["locale"], course=course)
    assert home.status_code == 200 and f'<html lang="{lang}"' in home.text
    text = visible(home.text)
    assert want["hours"] in text  # 210 minutes
    # The footer names the programme shown, in the interface language where it has a title in it.
    footer = re.search(r'<footer class="site-footer">(.*?)</footer>', home.text, re.S).group(1)
    assert programme.title_in(lang) in footer
    page = visible(agent.get(home.url + f"m/{MODULE}/").text)
    assert want["hours"] in page
    for shown in (text, page):  # the learner is told the content is Danish, once, in their language
        if want["notice"]:
            assert shown.count(want["notice"]) == 1
        else:
            assert "Kursusmaterialet er på" not in shown

    form = visible(agent.get(activity_url(home.url, module, quiz) + "?retake=1").text)
    assert want["pass_mark"] in form
    result = submit(agent, home.url, module, quiz, correct_answer(quiz, wrong=True))
    assert want["zero"] in visible(result.text)

    # One reflection waiting, then two: the dashboard's singular and plural.
    assert "error=" not in submit(agent, home.url, module, reflection, correct_answer(reflection)).url
    board = launch_in(agent, external, sub=f"{course}-teacher", locale=want["locale"], course=course,
                      role="Instructor")
    assert want["one"] in visible(board.text)
    other = launch_in(agent, external, sub=f"{course}-b", locale=want["locale"], course=course)
    assert "error=" not in submit(agent, other.url, module, reflection, correct_answer(reflection)).url
    assert want["two"] in visible(agent.get(board.url).text)

    # The deep-linking catalogue gives each module's time too.
    def speaks(body: dict) -> None:
        body[LTI + "launch_presentation"]["locale"] = want["locale"]

    response, _, _ = launch(agent, external, role="Instructor", sub=f"{course}-teacher", mutate=speaks,
                            deep_linking=True)
    assert want["hours"] in visible(agent.get(response.headers["Location"]).text)

    # A date: when each reflection was submitted, as the language writes a short date and time.
    grading = visible(agent.get(board.url + "grading").text)
    db.session.rollback()
    learner = db.session.get(LaunchRecord, launch_id(home.url)).user_id
    submitted = db.session.scalars(select(Submission.created_at).where(
        Submission.user_id == learner, Submission.activity_id == reflection.id)).one()
    when = format_datetime(submitted, "short", tzinfo=ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"]),
                           locale=want["format"])
    assert re.sub(r"\s+", " ", when) in grading


@pytest.mark.parametrize("lang", list(EXPECTED))
def test_operator_pages_write_numbers_and_dates_as_their_language_does(app, live, lang):
    console = Console(live.base_url, language=lang)
    assert console.sign_in(make_operator(app)).status_code == 302
    reach = console.get("/admin/reach")
    assert reach.status_code == 200 and f'<html lang="{lang}"' in reach.text
    # The share of the target, e.g. "(0 %)" in Danish and Swedish, "(0%)" in English.
    assert re.search(r"\(\d+ %\)" if lang != "en" else r"\(\d+%\)", visible(reach.text))
    # An error page shows no programme: its footer gives the product's own name.
    error = console.get("/c/no-such-launch/")
    assert 400 <= error.status_code < 500
    footer = re.search(r'<footer class="site-footer">(.*?)</footer>', error.text, re.S).group(1)
    assert visible(footer) == "Integrationsløft"
    platforms = visible(console.get("/admin/platforms").text)
    short_date = {"da": r"\d\d\.\d\d\.\d{4}", "sv": r"\d{4}-\d\d-\d\d", "en": r"\d\d/\d\d/\d{4}"}[lang]
    assert re.search(short_date, platforms), platforms


def test_matching_feedback_names_the_choice_the_right_answer_and_the_pass_mark(app, agent, external):
    module, matching = module_and(app, "matching")
    first, second = matching.pairs[0], matching.pairs[1]
    home = launch_in(agent, external, sub=f"match-{uuid.uuid4().hex[:8]}", locale="da-DK",
                     course=f"l10n-{uuid.uuid4().hex[:8]}")
    swapped = {**correct_answer(matching), f"p-{first.id}": second.id, f"p-{second.id}": first.id}
    text = visible(submit(agent, home.url, module, matching, swapped).text)
    right = len(matching.pairs) - 2
    assert f"Du satte {right} af {len(matching.pairs)} rigtigt sammen" in text
    assert ("Bestået." in text) == (right / len(matching.pairs) >= matching.pass_mark)
    assert "Ikke bestået endnu: Grænsen for at bestå er 70 %." in text or "Bestået." in text
    item = text[text.index(first.item):]
    assert item.index(f"Du valgte: {second.match}") < item.index(f"Det rigtige svar: {first.match}")


def test_an_incomplete_quiz_names_the_unanswered_questions(app, agent, external):
    module, quiz = module_and(app, "quiz")
    home = launch_in(agent, external, sub=f"quiz-{uuid.uuid4().hex[:8]}", locale="da-DK",
                     course=f"l10n-{uuid.uuid4().hex[:8]}")
    first = quiz.questions[0]
    response = submit(agent, home.url, module, quiz, {f"q-{first.id}": [first.options[0].id]})
    assert "error=incomplete" in response.url
    numbers = [str(n) for n in range(2, len(quiz.questions) + 1)]
    listed = ", ".join(numbers[:-1]) + " og " + numbers[-1]
    assert f"Spørgsmål {listed} er ikke besvaret endnu." in visible(response.text)


def test_grading_form_keeps_every_value_and_marks_the_field_at_fault(app, agent, external):
    module, reflection = module_and(app, "reflection")
    course = f"l10n-{uuid.uuid4().hex[:8]}"
    home = launch_in(agent, external, sub=f"{course}-a", locale="da-DK", course=course)
    work_through(agent, home.url, module)
    # Everything done, the reflection waits: its row says so, as the module does, and never "Færdig".
    page = agent.get(home.url + f"m/{MODULE}/").text
    row = re.search(rf'<li>\s*<a href="[^"]+/a/{reflection.id}".*?</li>', page, re.S).group(0)
    assert "Afventer bedømmelse" in visible(row) and "Færdig" not in visible(row)
    assert "Afventer bedømmelse" in visible(page[:page.index("activities-heading")])

    board = launch_in(agent, external, sub=f"{course}-teacher", locale="da-DK", course=course, role="Instructor")
    link = re.search(r'href="([^"]+/grading/\d+)"', agent.get(board.url + "grading").text).group(1)
    form = agent.get(link)
    first, *others = reflection.rubric
    fields = {"csrf_token": csrf_of(form.text), "feedback": "Godt set med tolken."}
    for c in others:
        fields[f"points-{c.id}"] = "other" if c.levels else str(c.points)
        if c.levels:
            fields[f"other-{c.id}"] = "1"
    fields[f"points-{first.id}"] = "other" if first.levels else str(first.points + 5)
    if first.levels:
        fields[f"other-{first.id}"] = str(first.points + 5)
    refused = agent.http.post(form.url, data=fields, timeout=30)
    assert refused.status_code == 400
    assert ">Godt set med tolken.</textarea>" in refused.text  # the feedback is kept
    for c in others:  # the other criteria keep their values and are not marked
        assert f'id="points-{c.id}-error"' not in refused.text
        if c.levels:
            assert f'name="other-{c.id}" min="0" max="{c.points}" step="0.5" value="1"' in refused.text
        else:
            assert re.search(rf'name="points-{c.id}"[^>]*value="{re.escape(str(c.points))}"', refused.text)
    # The criterion at fault: its field invalid, pointing at the message beside it.
    field = re.search(rf'<input type="number" id="{"other" if first.levels else "points"}-{first.id}"[^>]*>',
                      refused.text).group(0)
    assert 'aria-invalid="true"' in field and f"points-{first.id}-error" in field
    message = re.search(rf'<p class="field-error" id="points-{first.id}-error">([^<]+)</p>', refused.text)
    assert message and "Giv et tal fra 0 til" in message.group(1)
    db.session.rollback()
    assert db.session.scalars(select(Submission.status).where(
        Submission.id == int(link.rsplit("/", 1)[1]))).one() == "pending"


def test_the_demos_english_persona_has_the_english_programme_and_is_told_when_content_is_danish(agent):
    """Amir (en-GB) takes Fast track in a course of his own; in the Danish course he is told it is Danish."""
    english = agent.launch("amir", "fast-track", "rl-fasttrack-en")
    text = visible(english.text)
    assert '<html lang="en">' in english.text and "Fast track to work" in text
    assert "The course material is in" not in text
    footer = re.search(r'<footer class="site-footer">(.*?)</footer>', english.text, re.S).group(1)
    assert visible(footer) == "Fast track to work"  # not the Danish programme's name

    danish = agent.launch("amir", "vejle-int", "rl-programme")
    text = visible(danish.text)
    assert EXPECTED["en"]["notice"] in text
    footer = re.search(r'<footer class="site-footer">(.*?)</footer>', danish.text, re.S).group(1)
    assert "Continuing education in integration work" in visible(footer)  # the Danish programme, named in English
