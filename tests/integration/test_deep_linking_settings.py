"""Deep linking honours what the platform's request allows (LTI Deep Linking 2.0 §4.4.1):
accept_multiple, accept_types, accept_presentation_document_targets, and its `data` echoed."""

from __future__ import annotations

import logging

import jwt

from lti_tool import errors
from lti_tool.lti import claims
from tests.support.agent import autosubmit_form, text_of
from tests.support.crafting import crafted_launch, message_in
from tests.support.learner import csrf_of


def deep_link_page(app, agent, **settings):
    """A deep-linking launch by Hanne whose settings claim is changed as given."""
    def mutate(body):
        body[claims.DL_SETTINGS].update(settings)

    launched = crafted_launch(app, agent, mutate, user="hanne", link=None, message_type=claims.MSG_DEEP_LINKING)
    assert launched.status_code == 303, launched.text
    page = agent.get(launched.headers["Location"])
    assert page.status_code == 200 and page.url.endswith("/instructor/deep-link"), page.url
    return page


def answer(agent, page, items, *, cancel=False):
    """The signed response the tool posts back to the platform, decoded (its signature is the
    platform's business; tests/integration/test_instructor.py verifies it end to end)."""
    fields = {"csrf_token": csrf_of(page.text), "item": items}
    if cancel:
        fields["cancel"] = "1"
    form = autosubmit_form(agent.post(page.url, fields).text)
    assert form is not None
    return jwt.decode(form[1]["JWT"], options={"verify_signature": False})


def test_one_choice_when_the_platform_accepts_one(app, agent):
    page = deep_link_page(app, agent, accept_multiple=False)
    assert 'type="radio" name="item"' in page.text and 'type="checkbox"' not in page.text

    body = answer(agent, page, ["module:unge", "module:beskaeftigelse"])

    assert [i["custom"] for i in body[claims.DL_CONTENT_ITEMS]] == [{"module": "unge"}]


def test_several_choices_when_the_platform_accepts_several(app, agent):
    page = deep_link_page(app, agent, accept_multiple=True)
    assert 'type="checkbox" name="item"' in page.text

    body = answer(agent, page, ["module:unge", "module:beskaeftigelse"])

    assert [i["custom"] for i in body[claims.DL_CONTENT_ITEMS]] == [{"module": "unge"}, {"module": "beskaeftigelse"}]


def test_a_place_that_takes_no_links_is_told_so(app, agent, caplog):
    """The tool only makes LTI resource links: a place that takes none gets a clear 4xx page."""
    def files_only(body):
        body[claims.DL_SETTINGS]["accept_types"] = ["file", "html"]

    with caplog.at_level(logging.WARNING, logger="lti_tool"):
        refused = crafted_launch(app, agent, files_only, user="hanne", link=None,
                                 message_type=claims.MSG_DEEP_LINKING)

    assert refused.status_code == 400
    page = text_of(refused.text)
    assert message_in(app, errors.NoLinkPlacement) in page and "deep_linking_without_links" in page
    assert any("deep_linking_without_links" in r.getMessage() for r in caplog.records)


def test_presentation_follows_the_targets_the_platform_accepts(app, agent):
    window = answer(agent, deep_link_page(app, agent, accept_presentation_document_targets=["window"]),
                    ["module:unge"])[claims.DL_CONTENT_ITEMS][0]
    framed = answer(agent, deep_link_page(app, agent, accept_presentation_document_targets=["iframe", "window"]),
                    ["module:unge"])[claims.DL_CONTENT_ITEMS][0]

    assert window["window"] == {"targetName": "_blank"} and "iframe" not in window
    assert "iframe" in framed and "window" not in framed


def test_data_is_echoed_exactly_and_a_whole_programme_is_one_graded_link(app, agent):
    opaque = "csrf=9f8e7d;return=/course/view.php?id=42&section=3 æøå"
    page = deep_link_page(app, agent, data=opaque)

    body = answer(agent, page, ["programme:change"])

    assert body[claims.DL_DATA] == opaque
    [item] = body[claims.DL_CONTENT_ITEMS]
    assert item["type"] == "ltiResourceLink" and item["custom"] == {"programme": "change"}
    assert item["lineItem"] == {"scoreMaximum": 100.0, "label": item["title"], "resourceId": "change",
                                "tag": "integrationsloeft"}


def test_cancel_echoes_data_and_adds_nothing(app, agent):
    page = deep_link_page(app, agent, data="keep-me")

    body = answer(agent, page, ["module:unge"], cancel=True)

    assert body[claims.DL_CONTENT_ITEMS] == [] and body[claims.DL_DATA] == "keep-me"
