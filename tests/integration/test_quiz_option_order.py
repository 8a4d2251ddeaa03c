"""Quiz options in an order of each learner's own, through the real learner flow from the demo LMS."""

from __future__ import annotations

import re

from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import LaunchRecord, Submission
from lti_tool.progress.scoring import option_order
from tests.support.agent import text_of
from tests.support.learner import activity_url, csrf_of

LINK = ("stor-kursus", "rl-stor-programme")


def the_quiz(app):
    module = app.extensions["integrationsloeft"].catalog().module("tvaerfagligt-samarbejde")
    quiz = next(a for a in module.activities if a.type == "quiz")
    assert all(len(q.options) >= 4 for q in quiz.questions)  # enough options that orders can differ
    return module, quiz


def shown_order(page: str, quiz) -> dict[str, list[str]]:
    """Each question's option ids in the order the form shows them."""
    return {q.id: re.findall(rf'id="q-{re.escape(q.id)}-([^"]+)"', page) for q in quiz.questions}


def user_of(home_url: str) -> int:
    launch_id = re.search(r"/c/([^/]+)/", home_url).group(1)
    return db.session.get(LaunchRecord, launch_id).user_id


def expected(app, user_id: int, quiz, attempt: int) -> dict[str, list[str]]:
    secret = app.config["SECRET_KEY"]
    return {q.id: [o.id for o in option_order(secret, user_id, quiz.id, q.id, attempt, q.options)]
            for q in quiz.questions}


def result_blocks(page: str) -> list[str]:
    """The result's feedback per question, in question order."""
    return page.split('class="feedback-item')[1:]


def test_learners_see_their_own_order_and_keep_it(app, live, make_learner):
    module, quiz = the_quiz(app)
    content = {q.id: [o.id for o in q.options] for q in quiz.questions}
    orders = []
    for _ in range(4):
        agent = live.agent()
        home = agent.launch(make_learner(), *LINK)
        url = activity_url(home.url, module, quiz)
        first = agent.get(url)
        order = shown_order(first.text, quiz)
        assert all(sorted(order[q]) == sorted(content[q]) for q in content)  # each option once
        assert order == expected(app, user_of(home.url), quiz, attempt=1)
        assert shown_order(agent.get(url).text, quiz) == order  # a reload keeps it
        orders.append(order)

    assert any(order != content for order in orders)  # shuffled, not the authored order
    assert any(order != orders[0] for order in orders[1:])  # and not the same for everyone


def test_a_draft_keeps_the_order_and_a_new_attempt_draws_a_new_one(app, agent, fresh_learner):
    module, quiz = the_quiz(app)
    home = agent.launch(fresh_learner, *LINK)
    user_id = user_of(home.url)
    url = activity_url(home.url, module, quiz)
    page = agent.get(url)
    first = shown_order(page.text, quiz)
    question = quiz.questions[0]
    picked = first[question.id][-1]

    saved = agent.http.post(url + "/draft", data={"csrf_token": csrf_of(page.text), f"q-{question.id}": picked},
                            headers={"X-Requested-With": "fetch"}, timeout=30)
    assert saved.json()["saved"] is True
    reloaded = agent.get(url).text
    assert shown_order(reloaded, quiz) == first
    assert re.search(rf'id="q-{question.id}-{picked}"[^>]* checked', reloaded)  # the draft, on the option saved

    answer = {f"q-{q.id}": first[q.id][0] for q in quiz.questions}
    submitted = agent.http.post(url, data={"csrf_token": csrf_of(reloaded), **answer}, timeout=30)
    assert submitted.status_code == 200 and "error=" not in submitted.url
    retake = agent.get(url + "?retake=1").text
    assert shown_order(retake, quiz) == expected(app, user_id, quiz, attempt=2)  # the order of attempt 2


def test_the_option_chosen_is_scored_and_explained_whatever_its_place(app, agent, fresh_learner):
    module, quiz = the_quiz(app)
    home = agent.launch(fresh_learner, *LINK)
    url = activity_url(home.url, module, quiz)
    page = agent.get(url + "?retake=1")
    order = shown_order(page.text, quiz)

    # The first option each question shows, right or wrong: scored and explained as that option.
    answer = {q.id: order[q.id][0] for q in quiz.questions}
    response = agent.http.post(url, data={"csrf_token": csrf_of(page.text),
                                          **{f"q-{q}": o for q, o in answer.items()}}, timeout=30)
    assert response.status_code == 200 and "error=" not in response.url
    right = sum(answer[q.id] in q.correct_ids and len(q.correct_ids) == 1 for q in quiz.questions)
    total = len(quiz.questions)
    text = text_of(response.text)
    assert f"Du svarede rigtigt på {right} af {total} spørgsmål ({round(100 * right / total)} %)" in text
    blocks = result_blocks(response.text)
    assert len(blocks) == total
    for q, block in zip(quiz.questions, blocks, strict=True):
        options = {o.id: o for o in q.options}
        assert text_of(options[answer[q.id]].feedback) in text_of(block)  # the chosen option's feedback
        for other in (o for o in q.options if o.id != answer[q.id]):
            assert text_of(other.feedback) not in text_of(block)

    # The right options by id are 100 %, in whatever order this attempt shows them; the result
    # lists the options chosen in the order the learner saw them.
    page = agent.get(url + "?retake=1")
    order = shown_order(page.text, quiz)
    correct = {f"q-{q.id}": sorted(q.correct_ids) for q in quiz.questions}
    response = agent.http.post(url, data={"csrf_token": csrf_of(page.text), **correct}, timeout=30)
    assert f"Du svarede rigtigt på {total} af {total} spørgsmål (100 %)" in text_of(response.text)
    db.session.rollback()
    latest = db.session.scalars(select(Submission).where(Submission.user_id == user_of(home.url),
                                                         Submission.activity_id == quiz.id)
                                .order_by(Submission.attempt.desc())).first()
    assert latest.attempt == 2 and latest.score == 1.0
    assert latest.answer == {q.id: sorted(q.correct_ids) for q in quiz.questions}  # kept by option id
    several = next(q for q in quiz.questions if len(q.correct_ids) > 1)
    block = result_blocks(response.text)[quiz.questions.index(several)]
    texts = {o.id: text_of(o.text) for o in several.options}
    listed = sorted(several.correct_ids, key=lambda i: text_of(block).index(texts[i]))
    assert listed == [i for i in order[several.id] if i in several.correct_ids]
