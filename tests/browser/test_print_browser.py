"""Print media in Chromium: the action plan and the certificate on paper stand alone (no screen
navigation, the learner's name, programme, module and date), and the public verification page
passes axe-core."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from lti_tool.extensions import db
from lti_tool.models import LaunchRecord
from tests.browser.lms import axe_violations, describe, horizontal_overflow, shot
from tests.integration.test_verification import seed_certificate
from tests.support.learner import activity_url, correct_answer, submit

pytestmark = pytest.mark.browser

PROGRAMME = "efteruddannelse-integration"


def launched(site: Any, learner: str) -> tuple[str, int]:
    """A learner's launch of the whole programme: its home address and the learner's user id."""
    home = site.agent().launch(learner, "stor-kursus", "rl-stor-programme").url
    with site.app.app_context():
        user_id = db.session.get(LaunchRecord, re.search(r"/c/([^/]+)/", home)[1]).user_id
    return home, user_id


def test_the_printed_action_plan_says_whose_it_is_and_shows_no_navigation(site, page, fresh_learner):
    with site.app.app_context():
        catalog = site.app.extensions["integrationsloeft"].catalog()
    module = catalog.programmes[PROGRAMME].module("nyankomne")
    plan = next(a for a in module.activities if a.type == "action_plan")
    learner = site.agent()
    home = learner.launch(fresh_learner, "stor-kursus", "rl-stor-programme").url
    assert submit(learner, home, module, plan, correct_answer(plan)).status_code == 200

    page.goto(activity_url(home, module, plan))
    expect(page.get_by_role("button", name="Udskriv handleplanen")).to_be_visible()
    expect(page.locator(".print-heading")).to_be_hidden()  # on screen the launch says it all
    found = axe_violations(page)
    assert not found, describe({"action plan": found})

    page.emulate_media(media="print")
    expect(page.locator(".step-line")).to_be_hidden()
    expect(page.get_by_text(re.compile(r"Trin \d+ af \d+"))).to_be_hidden()
    expect(page.locator(".pager")).to_be_hidden()
    expect(page.locator(".breadcrumb")).to_be_hidden()
    expect(page.get_by_role("button", name="Udskriv handleplanen")).to_be_hidden()
    heading = page.locator(".print-heading")
    expect(heading).to_be_visible()
    expect(heading).to_contain_text("Efteruddannelse i integration")
    expect(heading).to_contain_text(module.title)
    expect(heading).to_contain_text(re.compile(r"\d{1,2}\. \w+ 20\d\d"))
    expect(heading.locator("dt").first).to_have_text("Navn")
    expect(page.locator(".plan")).to_contain_text(plan.prompts[0].label)
    shot(page, "print-action-plan")


def test_the_printed_certificate_shows_name_programme_modules_date_and_where_to_check(site, page, fresh_learner):
    home, user_id = launched(site, fresh_learner)
    with site.app.app_context():
        certificate = seed_certificate(db.session, user_id=user_id)
        code = certificate.code

    page.goto(home + f"certificate/{PROGRAMME}")
    expect(page.get_by_text(f"Kontrolkode: {code}")).to_be_visible()
    found = axe_violations(page)
    assert not found, describe({"certificate": found})

    page.emulate_media(media="print")
    expect(page.locator(".breadcrumb")).to_be_hidden()
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("button", name="Udskriv kursusbeviset")).to_be_hidden()
    sheet = page.locator(".certificate")
    expect(sheet).to_be_visible()
    for text in ("Mette Jensen", "Efteruddannelse i integration", "Nyankomne flygtninge og familiesammenførte",
                 "3. december 2026", "ca. 3,5 timer", site.app.config["ISSUER_NAME"], f"/verify/{code}"):
        expect(sheet).to_contain_text(text)
    expect(sheet.locator("svg.qr-code")).to_be_visible()
    # One A4 sheet: the certificate fits the printable height (297 mm less the margins, at 96 px/in).
    height = sheet.evaluate("element => element.getBoundingClientRect().height")
    assert height < (297 - 2 * 18) / 25.4 * 96
    shot(page, "print-certificate")


def test_the_verification_page_is_accessible_in_three_languages(site, page):
    with site.app.app_context():
        code = seed_certificate(db.session).code
    for language, words in (("da", "Kursusbeviset er ægte."), ("sv", "Kursintyget är äkta."),
                            ("en", "This certificate is genuine.")):
        page.goto(f"{site.base_url}/verify/{code}?lang={language}")
        expect(page.get_by_text(words)).to_be_visible()
        found = axe_violations(page)
        assert not found, describe({f"verification ({language})": found})
    page.goto(f"{site.base_url}/verify/ABCD-EFGH-JKLM")
    expect(page.get_by_role("alert")).to_contain_text("ABCD-EFGH-JKLM")
    found = axe_violations(page)
    assert not found, describe({"verification, not found": found})
    shot(page, "verification-not-found")
    page.set_viewport_size({"width": 320, "height": 640})  # WCAG 1.4.10 Reflow
    for path in (f"/verify/{code}", "/verify/credential"):
        page.goto(site.base_url + path)
        assert horizontal_overflow(page) is None, path
