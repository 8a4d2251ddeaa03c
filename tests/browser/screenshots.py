"""`make screenshots`: pictures of the learner's module, the instructor's dashboard and the operator
console at 320, 768 and 1280 px in Danish, Swedish and English, for the README and docs/.

Made by the browser tests' own flows (the live tool and demo LMS, real LTI launches, the fixtures of
tests/browser/conftest.py), so they show the product as it is. Not collected by `make test` (the
file name does not start with test_); run it as `pytest tests/browser/screenshots.py`, with
SCREENSHOTS_DIR naming the folder (default docs/screenshots).
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from lti_tool.demo_lms import directory
from lti_tool.extensions import db
from tests.browser.lms import ROOT, SAFETY_NET_MS, sign_in, sign_in_operator
from tests.support.console import PASSWORD, make_operator
from tests.support.learner import work_through
from tests.support.records import seed_person, seed_platform

pytestmark = pytest.mark.browser

WIDTHS = {320: 640, 768: 900, 1280: 800}  # width: height of the window
# Per interface language: the LMS locale, a learner of the large demo course in that locale, and
# the course link whose programme is in that language.
LANGUAGES = {
    "da": ("da-DK", "stor-kursus-l0007", "rl-stor-programme", "efteruddannelse-integration"),
    "sv": ("sv-SE", "stor-kursus-l0907", "rl-stor-change", "change"),
    "en": ("en-GB", "stor-kursus-l0957", "rl-stor-fasttrack", "fast-track"),
}
CLASSMATES = 3  # learners after the one pictured, who did all of the first module


def out_dir() -> Path:
    folder = Path(os.environ.get("SCREENSHOTS_DIR", ROOT / "docs" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def launch_in_window(page: Any, lms_url: str, link_id: str, landing: re.Pattern[str]) -> None:
    """Open the link as its own window, as an LMS does for "open in a new window"."""
    page.goto(f"{lms_url}/demo-lms/courses/stor-kursus/initiate?target=window&link_id={link_id}")
    page.wait_for_url(landing)
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def capture(page: Any, name: str) -> None:
    page.evaluate("() => document.fonts.ready.then(() => window.scrollTo(0, 0))")
    page.screenshot(path=str(out_dir() / f"{name}.png"), animations="disabled", caret="hide")


@pytest.fixture
def instructor_locale(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Hanne's LMS language, as if she had changed it in her profile (the demo's only instructor)."""
    def set_locale(locale: str) -> None:
        hanne = dataclasses.replace(directory.USERS["hanne"], locale=locale)
        monkeypatch.setitem(directory.USERS, "hanne", hanne)
    return set_locale


def test_screenshots(site, browser, instructor_locale):
    catalog = site.app.extensions["integrationsloeft"]
    with site.app.app_context():
        programmes = catalog.catalog().programmes
        seed_person(db.session, seed_platform(db.session, name="Aarhus Kommune (Moodle)"), parked_score=True)
    email = make_operator(site.app)
    for language, (locale, learner_id, link_id, programme_id) in LANGUAGES.items():
        # Progress to show: the learner is halfway through the first module.
        first = programmes[programme_id].modules[0]
        agent = site.agent()
        home = agent.launch(learner_id, "stor-kursus", link_id).url
        work_through(agent, home, first, first.activities[:len(first.activities) // 2])
        number = int(learner_id[-4:])
        for classmate in (f"stor-kursus-l{number + n:04d}" for n in range(1, CLASSMATES + 1)):
            other = site.agent()
            work_through(other, other.launch(classmate, "stor-kursus", link_id).url, first)
        instructor_locale(locale)
        for width, height in WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
            context.set_default_timeout(SAFETY_NET_MS)
            try:
                page = context.new_page()
                sign_in(context, site.lms_url, learner_id)
                launch_in_window(page, site.lms_url, link_id, re.compile(r"/c/[^/]+/$"))
                page.goto(f"{page.url}m/{first.id}/")
                capture(page, f"learner-module-{language}-{width}")

                sign_in(context, site.lms_url, "hanne")
                launch_in_window(page, site.lms_url, link_id, re.compile(r"/instructor/$"))
                page.locator("#participants").scroll_into_view_if_needed()
                page.evaluate("() => window.scrollTo(0, document.querySelector('.chart').offsetTop - 16)")
                page.screenshot(path=str(out_dir() / f"instructor-dashboard-{language}-{width}.png"),
                                animations="disabled", caret="hide")

                sign_in_operator(page, site.base_url, email, PASSWORD)
                page.goto(site.base_url + "/admin/grades")
                capture(page, f"operator-grades-{language}-{width}")
            finally:
                context.close()
