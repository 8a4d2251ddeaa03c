"""Nothing a learner writes is lost, in Chromium with the LMS on another site than the tool.

- A launch that expires while the learner writes (as after a long pause): the page says plainly
  what happened and what to do, and the text is back when the activity is opened again from the
  LMS, in its frame or in a new window, and with cookies blocked in the frame. Nothing of it is
  kept in the browser: the server keeps it (lti_tool/progress/rescue.py).
- Two tabs on one reflection: the later save based on an older version is refused, and the page
  offers both versions.
The launch is made to expire by moving its end into the past, not by waiting for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import ActivityState, LaunchRecord, utcnow
from tests.browser.lms import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SAFETY_NET_MS,
    TOOL_HOME,
    axe_violations,
    describe,
    launch_id,
    open_in_lms,
    shot,
    sign_in,
    wait_for_address,
)
from tests.browser.test_cookieless import chromium_profile
from tests.support.waiting import wait_for

pytestmark = pytest.mark.browser

COURSE, LINK = "stor-kursus", "rl-stor"
REFLECTION = "m/nyankomne/a/refleksion-familien-haddad"
BEFORE_THE_PAUSE = "Jeg ville først samle familien og tolken til et møde om boligen."
AFTER_THE_PAUSE = " Bagefter ringer jeg til skolen om børnenes skolestart og til lægen."


def expire(site: Any, frame: Any, ago: timedelta = timedelta(minutes=1)) -> None:
    """The launch of the page in `frame` ran out `ago`, as after a long pause."""
    with site.app.app_context():
        db.session.get_one(LaunchRecord, launch_id(frame)).expires_at = utcnow() - ago
        db.session.commit()


def stored_draft(site: Any, frame: Any) -> dict[str, Any] | None:
    """The reflection's saved draft, without the role it is answered in (open_reflection chose it)."""
    with site.app.app_context():
        user_id = db.session.get_one(LaunchRecord, launch_id(frame)).user_id
        draft = db.session.scalars(select(ActivityState.draft).where(
            ActivityState.user_id == user_id, ActivityState.activity_id == REFLECTION.rsplit("/", 1)[1])).one()
        return {k: v for k, v in draft.items() if k != "variant"} if draft else draft


def open_reflection(frame: Any) -> Any:
    """Go from the tool's first page (in `frame`, a Frame or a Page) to the Haddad reflection."""
    home = re.sub(r"(/c/[^/]+/).*$", r"\1", frame.url)
    frame.goto(home + REFLECTION)
    # The case comes in role variants: a learner who has not chosen yet takes the first.
    if frame.locator("#role-choice").count():
        frame.locator('#role-choice input[name="variant"]').first.check()
        frame.locator("#role-choice button[type=submit]").click()
        frame.locator("#text").wait_for()
    return frame.locator("#text")


def write_and_save(frame: Any, text: str) -> None:
    frame.locator("#text").fill(text)
    expect(frame.locator(".save-status")).to_have_text("Gemt")


def write_past_the_end_of_the_launch(site: Any, frame: Any, found: dict[str, Any]) -> None:
    """Write, pause until the launch expires, write on: the page tells what happened and keeps the text."""
    open_reflection(frame)
    expect(frame.locator("#text-hint")).to_contain_text("højst 20.000 tegn")
    write_and_save(frame, BEFORE_THE_PAUSE)
    expire(site, frame)

    frame.locator("#text").press_sequentially(AFTER_THE_PAUSE[:12])
    frame.locator("#text").fill(BEFORE_THE_PAUSE + AFTER_THE_PAUSE)

    notice = frame.locator("#session-ended")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Din session er udløbet, så siden kan ikke længere gemme.")
    expect(notice).to_contain_text("åbn aktiviteten igen fra dit kursus på læringsplatformen")
    expect(frame.locator(".session-ended-lost")).to_be_hidden()
    expect(notice.get_by_role("button", name="Kopiér min tekst")).to_be_visible()
    found["session ended, text kept"] = axe_violations(frame)

    # Submitting now would lead nowhere: the page stays, with the text, and points to the notice.
    frame.get_by_role("button", name="Indsend", exact=True).click()
    expect(notice).to_be_focused()
    expect(frame.locator("#text")).to_have_value(BEFORE_THE_PAUSE + AFTER_THE_PAUSE)


def finds_the_text_again(frame: Any, found: dict[str, Any]) -> None:
    """After opening the activity again from the LMS: the text written after the pause is there."""
    expect(open_reflection(frame)).to_have_value(BEFORE_THE_PAUSE + AFTER_THE_PAUSE)
    rescued = frame.locator("#rescued")
    expect(rescued).to_contain_text("Velkommen tilbage")
    rescued.get_by_text("Vis den version, der var gemt før").click()
    expect(frame.locator("#replaced-text")).to_have_value(BEFORE_THE_PAUSE)
    found["text kept after the session ended"] = axe_violations(frame)


def assert_no_violations(found: dict[str, Any]) -> None:
    assert not any(found.values()), "axe found WCAG 2.1 AA violations:\n" + describe(found)


# --- an expired launch ---------------------------------------------------------------------------

def test_text_written_after_the_launch_expired_comes_back_in_the_lms_frame(site, context, page, fresh_learner):
    found: dict[str, Any] = {}
    sign_in(context, site.lms_url, fresh_learner)
    frame = open_in_lms(page, site.lms_url, COURSE, LINK)
    write_past_the_end_of_the_launch(site, frame, found)
    shot(page, "lost-text-session-ended-framed")

    frame = open_in_lms(page, site.lms_url, COURSE, LINK)  # opened again from the LMS: a new launch
    finds_the_text_again(frame, found)
    shot(page, "lost-text-back-framed")

    # Saved from the new launch, the text is the draft, and the notice has done its work.
    frame.locator("#text").press("Control+End")
    frame.locator("#text").press_sequentially(" Videre.")
    expect(frame.locator(".save-status")).to_have_text("Gemt")
    assert stored_draft(site, frame) == {"text": BEFORE_THE_PAUSE + AFTER_THE_PAUSE + " Videre."}
    open_reflection(frame)
    expect(frame.locator("#rescued")).to_have_count(0)
    assert_no_violations(found)


def test_text_written_after_the_launch_expired_comes_back_in_a_new_window(site, context, page, fresh_learner):
    found: dict[str, Any] = {}
    sign_in(context, site.lms_url, fresh_learner)

    def open_in_new_window() -> Any:
        page.goto(f"{site.lms_url}/demo-lms/courses/{COURSE}")
        with context.expect_page() as opened:
            page.locator(f'a[target=_blank][href*="link_id={LINK}&"]').click()
        window = opened.value
        wait_for_address(window.main_frame, TOOL_HOME)
        return window

    window = open_in_new_window()
    write_past_the_end_of_the_launch(site, window, found)
    shot(window, "lost-text-session-ended-window")
    window.close()

    window = open_in_new_window()
    finds_the_text_again(window, found)
    shot(window, "lost-text-back-window")
    assert_no_violations(found)


def test_where_nothing_can_be_kept_the_text_stays_on_the_page_to_copy(site, context, page, fresh_learner):
    sign_in(context, site.lms_url, fresh_learner)
    frame = open_in_lms(page, site.lms_url, COURSE, LINK)
    open_reflection(frame)
    write_and_save(frame, BEFORE_THE_PAUSE)
    # Away for longer than the server keeps an expired page's answer for: it keeps nothing.
    expire(site, frame, timedelta(seconds=site.app.config["DRAFT_RESCUE_WINDOW"]) + timedelta(hours=1))

    frame.locator("#text").fill(BEFORE_THE_PAUSE + AFTER_THE_PAUSE)

    lost = frame.locator(".session-ended-lost")
    expect(lost).to_be_visible()
    expect(lost).to_contain_text("Kopiér din tekst, før du forlader siden.")
    expect(frame.locator(".session-ended-kept")).to_be_hidden()
    expect(frame.locator("#text")).to_have_value(BEFORE_THE_PAUSE + AFTER_THE_PAUSE)
    found = {"session ended, nothing kept": axe_violations(frame)}
    frame.get_by_role("button", name="Kopiér min tekst").click()
    expect(frame.locator("#session-ended .copy-status")).to_have_text("Kopieret")
    shot(page, "lost-text-nothing-kept")
    assert stored_draft(site, frame) == {"text": BEFORE_THE_PAUSE}
    assert_no_violations(found)


@pytest.fixture(params=["third-party-blocked", "no-cookies-for-the-tool"])
def cookies_blocked(request: pytest.FixtureRequest, browser: Any, site: Any, tmp_path: Path) -> Iterator[Any]:
    """Chromium with its own setting "Block third-party cookies" on, or with no cookies at all for
    the tool under the LMS's pages (as Safari); a profile of its own, started by the session's
    Playwright (a second one cannot run beside it)."""
    preferences: dict[str, Any] = {"block_third_party_cookies": True, "cookie_controls_mode": 1}
    if request.param == "no-cookies-for-the-tool":
        preferences["content_settings"] = {"exceptions": {"cookies": {
            f"{site.base_url},{site.lms_url}": {"setting": 2}}}}
    profile = chromium_profile(tmp_path, preferences)
    context = browser.browser_type.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, locale="da-DK",
        viewport={"width": 1280, "height": 900})
    context.set_default_timeout(SAFETY_NET_MS)
    yield context
    context.close()


def test_text_comes_back_with_cookies_blocked_in_the_frame(site, cookies_blocked, fresh_learner):
    found: dict[str, Any] = {}
    sign_in(cookies_blocked, site.lms_url, fresh_learner)
    page = cookies_blocked.new_page()
    frame = open_in_lms(page, site.lms_url, COURSE, LINK)
    write_past_the_end_of_the_launch(site, frame, found)

    frame = open_in_lms(page, site.lms_url, COURSE, LINK)
    finds_the_text_again(frame, found)
    shot(page, "lost-text-back-cookies-blocked")
    assert_no_violations(found)


# --- two tabs ------------------------------------------------------------------------------------

def test_two_tabs_on_one_reflection_are_offered_both_versions(site, context, fresh_learner):
    found: dict[str, Any] = {}
    sign_in(context, site.lms_url, fresh_learner)
    first_tab, second_tab = context.new_page(), context.new_page()
    first = open_in_lms(first_tab, site.lms_url, COURSE, LINK)
    second = open_in_lms(second_tab, site.lms_url, COURSE, LINK)
    open_reflection(first)
    open_reflection(second)

    write_and_save(first, "Skrevet i den første fane.")
    second.locator("#text").fill("Skrevet i den anden fane.")

    conflict = second.locator("#draft-conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("Svaret er blevet ændret i en anden fane")
    expect(second.locator("#other-version")).to_have_value("Skrevet i den første fane.")
    expect(second.locator("#text")).to_have_value("Skrevet i den anden fane.")
    assert stored_draft(site, second) == {"text": "Skrevet i den første fane."}, "nothing was overwritten"
    found["two versions offered"] = axe_violations(second)
    shot(second_tab, "lost-text-two-tabs")

    conflict.get_by_role("button", name="Behold versionen på denne side").click()
    expect(second.locator(".save-status")).to_have_text("Gemt")
    expect(conflict).to_be_hidden()
    assert stored_draft(site, second) == {"text": "Skrevet i den anden fane."}

    # The first tab, still on its older version, is now the one offered both; it takes the other.
    first.locator("#text").fill("Skrevet i den første fane. Og mere.")
    expect(first.locator("#other-version")).to_have_value("Skrevet i den anden fane.")
    first.get_by_role("button", name="Brug den anden version").click()
    expect(first.locator("#text")).to_have_value("Skrevet i den anden fane.")
    first.locator("#text").press("Control+End")
    first.locator("#text").press_sequentially(" Fælles.")
    wait_for(lambda: stored_draft(site, first) == {"text": "Skrevet i den anden fane. Fælles."},
             what="the first tab's save on top of the other version")
    assert_no_violations(found)
