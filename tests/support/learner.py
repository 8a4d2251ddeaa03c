"""Working through modules over HTTP, answering from the content itself."""

from __future__ import annotations

import re
from collections.abc import Sequence

from lti_tool.content.model import Activity, Module
from tests.support.agent import Agent


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no csrf token on the page"
    return match.group(1)


def correct_answer(activity: Activity, *, wrong: bool = False) -> dict[str, object]:
    """Form fields that answer an exercise right (or, for quizzes, all wrong)."""
    if activity.type == "quiz":
        fields: dict[str, object] = {}
        for q in activity.questions:
            if wrong:
                fields[f"q-{q.id}"] = [next(o.id for o in q.options if not o.correct)]
            else:
                fields[f"q-{q.id}"] = sorted(q.correct_ids)
        return fields
    if activity.type == "matching":
        return {f"p-{p.id}": p.id for p in activity.pairs}
    if activity.type == "reflection":
        words = max(activity.min_words, 20) + 10
        text = " ".join(["Jeg ville samle aktørerne til et netværksmøde med tolk"] * (words // 8 + 1))
        # A case with role variants is answered in one of them: the first.
        return {"text": text, "variant": activity.variants[0].id} if activity.variants else {"text": text}
    return {f"prompt-{p.id}": f"Jeg aftaler {p.label.lower()} med min leder i næste uge." for p in activity.prompts}


def activity_url(home_url: str, module: Module, activity: Activity) -> str:
    return f"{home_url}m/{module.id}/a/{activity.id}"


def open_answer_form(agent: Agent, url: str, activity: Activity):
    """The activity's page with its answer form: a case with role variants asks for a role first,
    and this learner takes the first one (as the role-choice form posts it)."""
    page = agent.get(url)
    assert page.status_code == 200
    if activity.variants and 'id="role-choice"' in page.text:
        chosen = agent.http.post(url + "/draft", data={"csrf_token": csrf_of(page.text),
                                                        "variant": activity.variants[0].id}, timeout=30)
        assert chosen.status_code == 200, chosen.status_code
        page = agent.get(url)
    return page


def submit(agent: Agent, home_url: str, module: Module, activity: Activity, fields: dict[str, object]):
    url = activity_url(home_url, module, activity)
    page = agent.get(url + "?retake=1")
    assert page.status_code == 200
    data = {"csrf_token": csrf_of(page.text), **fields}
    return agent.http.post(url, data=data, timeout=30)


def work_through(agent: Agent, home_url: str, module: Module, activities: Sequence[Activity] | None = None) -> None:
    """Open every page and answer every exercise correctly (of the module, or only `activities`)."""
    for activity in module.activities if activities is None else activities:
        url = activity_url(home_url, module, activity)
        if activity.type == "page":
            assert agent.get(url).status_code == 200
        else:
            response = submit(agent, home_url, module, activity, correct_answer(activity))
            assert response.status_code == 200, response.text
            assert "error=" not in response.url, f"{activity.id} refused: {response.url}"
