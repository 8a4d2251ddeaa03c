"""The module picker (deep linking) and the bind list start with the programmes in the course's language."""

from __future__ import annotations

import re

import pytest

from tests.integration.test_external_platform import launch

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
# The catalogue's programmes in its own order: Swedish, Danish, English.
CATALOGUE = ["change", "efteruddannelse-integration", "fast-track"]


def programme_order(page: str, field: str) -> list[str]:
    return re.findall(rf'name="{field}" id="[^"]+" value="programme:([^"]+)"', page)


@pytest.mark.parametrize(("locale", "first"), [
    ("da-DK", "efteruddannelse-integration"), ("sv-SE", "change"), ("en-GB", "fast-track"),
])
def test_the_module_picker_lists_the_courses_language_first(agent, external, locale, first):
    def in_locale(body: dict) -> None:
        body[LTI + "launch_presentation"]["locale"] = locale

    response, _, _ = launch(agent, external, role="Instructor", deep_linking=True, mutate=in_locale)
    page = agent.get(response.headers["Location"])
    assert page.status_code == 200
    order = programme_order(page.text, "item")
    assert order[0] == first
    assert sorted(order) == sorted(CATALOGUE)  # the others are still offered
    assert [p for p in order if p != first] == [p for p in CATALOGUE if p != first]  # in catalogue order


@pytest.mark.parametrize(("locale", "first"), [
    ("da-DK", "efteruddannelse-integration"), ("sv-SE", "change"), ("en-GB", "fast-track"),
])
def test_the_bind_list_lists_the_courses_language_first(agent, external, locale, first):
    def made_by_hand(body: dict) -> None:
        body[LTI + "launch_presentation"]["locale"] = locale
        body[LTI + "resource_link"]["id"] = f"ext-manual-{locale}"
        del body[LTI + "custom"]

    response, _, _ = launch(agent, external, role="Instructor", mutate=made_by_hand)
    page = agent.get(response.headers["Location"])
    if page.status_code in (302, 303):
        page = agent.get(page.headers["Location"])
    assert page.url.endswith("/instructor/pick"), page.url
    order = programme_order(page.text, "placement")
    assert order[0] == first and sorted(order) == sorted(CATALOGUE)
