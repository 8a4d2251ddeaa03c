"""A learner works through modules in the demo LMS: pages, four exercise types, completion."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from sqlalchemy import func, select

from lti_tool.extensions import db
from lti_tool.launch.locale import format_locale
from lti_tool.models import ActivityState, Certificate, LaunchRecord, ModuleProgress, ScoreMessage, Submission
from lti_tool.progress import learning, service
from lti_tool.progress.state import placement_for
from lti_tool.runtime import runtime
from tests.support.agent import text_of
from tests.support.learner import activity_url, correct_answer, csrf_of, submit, work_through


def catalog(app):
    return app.extensions["integrationsloeft"].catalog()


def launch_id(url: str) -> str:
    return re.search(r"/c/([^/]+)/", url).group(1)


def grade_pending(app, user_id: int, module, fraction: float = 1.0, feedback: str = "Fin analyse.") -> None:
    """What the instructor's grading does, through the same service."""
    db.session.rollback()  # see what the live server committed meanwhile
    for sub in list(db.session.scalars(select(Submission).where(Submission.user_id == user_id,
                                                               Submission.module_id == module.id,
                                                               Submission.status == "pending"))):
        activity = module.activity(sub.activity_id)
        points = {c.id: c.points * fraction for c in activity.rubric}
        service.grade_submission(db.session, catalog(app), sub.id, module, activity, grader_id=user_id,
                                 points=points, feedback=feedback)


def test_course_home_lists_the_placed_module(app, agent):
    home = agent.launch("jonas", "vejle-int", "rl-nyankomne")
    text = text_of(home.text)
    assert "Nyankomne flygtninge og familiesammenførte" in text
    assert "Ikke begyndt" in text  # Danish interface by default


def test_whole_module_to_completion_with_grading(app, agent, fresh_learner):
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor")
    module = catalog(app).module("nyankomne")
    record = db.session.get(LaunchRecord, launch_id(home.url))

    overview = agent.get(home.url + "m/nyankomne/")
    first = module.activities[0].id
    assert f"/a/{first}" in overview.text and "Start modulet" in text_of(overview.text)

    work_through(agent, home.url, module)
    db.session.rollback()
    progress = db.session.scalars(select(ModuleProgress).where(ModuleProgress.user_id == record.user_id,
                                                               ModuleProgress.module_id == "nyankomne")).one()
    assert progress.status == "pending"  # the reflection waits for the instructor
    assert progress.pending_manual

    grade_pending(app, record.user_id, module)
    db.session.rollback()
    progress = db.session.get(ModuleProgress, progress.id)
    assert progress.status == "completed"
    assert progress.points == pytest.approx(progress.max_points)
    assert progress.completed_at is not None
    assert "Du har gennemført dette modul" in text_of(agent.get(home.url + "m/nyankomne/").text)

    # The score messages for the link's line item: never final before completion, final after.
    messages = db.session.scalars(select(ScoreMessage).where(ScoreMessage.user_id == record.user_id)
                                  .order_by(ScoreMessage.timestamp)).all()
    assert messages, "every scored submission queues a score"
    assert [m.grading_progress for m in messages[:-1]].count("FullyGraded") == 0
    assert messages[-1].grading_progress == "FullyGraded"
    assert messages[-1].activity_progress == "Completed"
    assert messages[-1].score_given == pytest.approx(100.0)
    assert all(a.timestamp < b.timestamp for a, b in zip(messages, messages[1:], strict=False))
    assert {m.state for m in messages[:-1]} <= {"superseded", "delivered"}


def test_quiz_feedback_retake_and_best_score(app, agent, fresh_learner):
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor-programme")
    module = catalog(app).module("tvaerfagligt-samarbejde")
    quiz = next(a for a in module.activities if a.type == "quiz")

    failed = submit(agent, home.url, module, quiz, correct_answer(quiz, wrong=True))
    text = text_of(failed.text)
    total = len(quiz.questions)
    assert f"Du svarede rigtigt på 0 af {total} spørgsmål (0 %)" in text  # a Danish learner
    chosen = next(o for o in quiz.questions[0].options if not o.correct)  # what the learner picked
    assert text_of(chosen.feedback)[:40] in text  # that option's own feedback

    passed = submit(agent, home.url, module, quiz, correct_answer(quiz))
    assert passed.status_code == 200
    record = db.session.get(LaunchRecord, launch_id(home.url))
    db.session.rollback()
    state = db.session.scalars(select(ActivityState).where(ActivityState.user_id == record.user_id,
                                                           ActivityState.activity_id == quiz.id)).one()
    assert state.attempts == 2 and state.passed and state.score == 1.0

    # A worse retake never lowers the best score.
    if not quiz.max_attempts or quiz.max_attempts > 2:
        submit(agent, home.url, module, quiz, correct_answer(quiz, wrong=True))
        db.session.rollback()
        assert db.session.get(ActivityState, state.id).score == 1.0


def test_quiz_attempts_run_out(app, agent, fresh_learner):
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor")
    module = catalog(app).module("nyankomne")
    quiz = next(a for a in module.activities if a.type == "quiz" and a.max_attempts)
    for _ in range(quiz.max_attempts):
        submit(agent, home.url, module, quiz, correct_answer(quiz, wrong=True))
    assert "csrf_token" not in agent.get(activity_url(home.url, module, quiz)).text  # no form any more
    page = agent.get(activity_url(home.url, module, module.activities[-1]))
    response = agent.http.post(activity_url(home.url, module, quiz),
                               data={"csrf_token": csrf_of(page.text), **correct_answer(quiz)}, timeout=30)
    assert "attempts_used" in response.url
    assert response.status_code == 200


def test_incomplete_answer_is_kept_as_draft(app, agent, fresh_learner):
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor-programme")
    module = catalog(app).module("tvaerfagligt-samarbejde")
    reflection = next(a for a in module.activities if a.type == "reflection")

    response = submit(agent, home.url, module, reflection, {"text": "For kort svar om netværksmødet"})

    assert "error=incomplete" in response.url
    assert "For kort svar om netværksmødet" in response.text


def test_an_answer_over_the_length_limit_is_not_submitted_cut_short(app, agent, fresh_learner):
    """It was stored as its first 20,000 characters without a word to the learner."""
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor-programme")
    module = catalog(app).module("tvaerfagligt-samarbejde")
    reflection = next(a for a in module.activities if a.type == "reflection")
    page = agent.get(activity_url(home.url, module, reflection))
    # A case with role variants shows its answer form once a role is chosen.
    role = {"variant": reflection.variants[0].id} if reflection.variants else {}
    if role:
        page = agent.http.post(activity_url(home.url, module, reflection) + "/draft",
                               data={"csrf_token": csrf_of(page.text), **role}, timeout=30)
    assert f'maxlength="{learning.REFLECTION_MAX_CHARS}"' in page.text  # the browser stops there first
    words = "netværksmødet samler familien og alle faggrupper om én plan " * 400
    too_long = words[:learning.REFLECTION_MAX_CHARS] + "SLUTNINGEN"
    db.session.rollback()
    last_before = db.session.scalar(select(func.max(Submission.id))) or 0

    response = submit(agent, home.url, module, reflection, {"text": too_long, **role})

    assert "error=too_long" in response.url
    assert "20.000 tegn pr. tekstfelt" in text_of(response.text)  # Danish, the launch's language
    assert too_long[:200] in response.text and "SLUTNINGEN" not in response.text  # the draft, as kept
    db.session.rollback()
    assert not db.session.scalars(select(Submission).where(
        Submission.activity_id == reflection.id, Submission.id > last_before)).all()

    # Line breaks count once, as the browser's maxlength counts them, though they travel as CRLF.
    lines = "linje\r\n" * (learning.REFLECTION_MAX_CHARS // 6)  # 20,000 characters, 23,331 as sent
    assert "error=too_long" not in submit(agent, home.url, module, reflection, {"text": lines, **role}).url


def test_autosave_keeps_answers_across_reload(app, agent, fresh_learner):
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor-programme")
    module = catalog(app).module("tvaerfagligt-samarbejde")
    plan = next(a for a in module.activities if a.type == "action_plan")
    url = activity_url(home.url, module, plan)
    page = agent.get(url)
    field = f"prompt-{plan.prompts[0].id}"

    saved = agent.http.post(url + "/draft", data={"csrf_token": csrf_of(page.text), field: "Ringe til sprogcentret"},
                            headers={"X-Requested-With": "fetch"}, timeout=30)

    assert saved.json()["saved"] is True
    assert "Ringe til sprogcentret" in agent.get(url).text


def test_forms_need_the_launch_token(app, agent):
    home = agent.launch("jonas", "vejle-int", "rl-samarbejde")
    module = catalog(app).module("tvaerfagligt-samarbejde")
    quiz = next(a for a in module.activities if a.type == "quiz")

    response = agent.http.post(activity_url(home.url, module, quiz), data=correct_answer(quiz), timeout=30)

    assert response.status_code == 400
    assert "csrf" in response.text


def test_learner_stays_inside_the_placement(app, agent):
    home = agent.launch("jonas", "vejle-int", "rl-nyankomne")
    assert agent.get(home.url + "m/unge/").status_code == 404
    assert agent.get(home.url + "m/nyankomne/a/no-such-activity").status_code == 404


def test_learner_on_an_unbound_link_sees_not_set_up(app, agent):
    page = agent.launch("jonas", "vejle-int", "rl-manual")
    assert page.status_code == 200
    assert "ikke sat op endnu" in text_of(page.text)


def test_instructor_binds_an_unbound_link(app, live):
    instructor = live.agent()
    page = instructor.launch("hanne", "vejle-int", "rl-manual")
    assert page.url.endswith("/instructor/pick")
    response = instructor.http.post(page.url, data={"csrf_token": csrf_of(page.text), "placement": "module:unge"},
                                    timeout=30)
    assert response.status_code == 200
    learner = live.agent()
    home = learner.launch("sara", "vejle-int", "rl-manual")
    assert "Unge" in text_of(home.text)


def test_programme_completion_gives_a_certificate(app, agent, runner, fresh_learner):
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor-programme")
    programme = catalog(app).programmes["efteruddannelse-integration"]
    record = db.session.get(LaunchRecord, launch_id(home.url))
    assert f"Gennemførte obligatoriske moduler: 0 af {len(programme.mandatory)}" in text_of(home.text)

    for module_id in ("nyankomne", "tvaerfagligt-samarbejde", "beskaeftigelse", "unge", "familier-og-boern"):
        module = programme.module(module_id)
        work_through(agent, home.url, module)
        grade_pending(app, record.user_id, module, fraction=0.8)

    page = agent.get(home.url + "certificate/efteruddannelse-integration")
    text = text_of(page.text)
    assert "Efteruddannelse i integration" in text
    assert "Deltager" in text
    certificate = db.session.scalars(select(Certificate).where(Certificate.user_id == record.user_id)).one()
    assert certificate.code in text
    assert len(certificate.modules) == 5  # an extra elective is listed too
    verified = runner.invoke(args=["certificates", "verify", certificate.code.lower()])
    assert verified.exit_code == 0 and "Deltager" in verified.output


@pytest.mark.parametrize(("user", "link", "programme_id", "lang", "words"), [
    ("stor-kursus-l0901", "rl-stor-change", "change", "sv",
     ("Kursintyg", "Deltagare 0901", "har slutfört följande moduler:", "Verifieringskod")),
    ("stor-kursus-l0951", "rl-stor-fasttrack", "fast-track", "en",
     ("Course certificate", "Participant 0951", "has completed the following modules:", "Verification code")),
], ids=["swedish-change", "english-fast-track"])
def test_whole_programme_in_the_learners_language_gives_a_certificate(app, agent, user, link, programme_id,
                                                                      lang, words):
    """A Swedish and an English-speaking learner each complete a whole programme and get the certificate."""
    home = agent.launch(user, "stor-kursus", link)
    assert f'<html lang="{lang}"' in home.text
    programme = catalog(app).programmes[programme_id]
    record = db.session.get(LaunchRecord, launch_id(home.url))

    before = text_of(agent.get(home.url + f"certificate/{programme_id}").text)
    for module in programme.modules:
        work_through(agent, home.url, module)
        grade_pending(app, record.user_id, module)

    page = agent.get(home.url + f"certificate/{programme_id}")
    text = text_of(page.text)
    assert programme.title[lang] in text
    assert all(word in text for word in words), text
    assert words[-1] not in before  # no verification code before the programme was complete
    certificate = db.session.scalars(select(Certificate).where(Certificate.user_id == record.user_id)).one()
    assert certificate.code in text
    assert certificate.programme_id == programme_id
    assert len(certificate.modules) == len(programme.modules)
    # Dated when the last module was completed, not when the certificate was first opened.
    last_completed = max(db.session.scalars(select(ModuleProgress.completed_at).where(
        ModuleProgress.user_id == record.user_id, ModuleProgress.programme_id == programme_id)))
    assert certificate.issued_at == last_completed
    # …written as the learner's language writes dates ("2. december 2026", "2 December 2026").
    zone = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])
    assert format_date(certificate.issued_at.astimezone(zone), "long", locale=format_locale(lang)) in text


def test_certificate_not_issued_before_completion(app, agent):
    home = agent.launch("sara", "malmo-change", "rl-change")
    page = agent.get(home.url + "certificate/change")
    assert page.status_code == 200
    record = db.session.get(LaunchRecord, launch_id(home.url))
    assert db.session.scalars(select(Certificate).where(Certificate.user_id == record.user_id)).first() is None


@pytest.mark.parametrize("course_link", [("malmo-change", "rl-change", "sara"),
                                         ("malmo-change", "rl-fasttrack", "jonas")])
def test_every_page_of_a_programme_renders(app, agent, course_link):
    course, link, user = course_link
    home = agent.launch(user, course, link)
    placement = placement_for(db.session.get(LaunchRecord, launch_id(home.url)).resource_link, runtime().catalog())
    for module in placement.modules:
        for activity in module.activities:
            page = agent.get(activity_url(home.url, module, activity))
            assert page.status_code == 200
            assert activity.title in text_of(page.text)
