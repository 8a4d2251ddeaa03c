"""The tool in the LMS's frame of fixed height (Moodle does not resize it), at 1280×720.

At each step of a learner's module and an instructor's pages: the LMS page itself does not scroll
(one scrollbar, the frame's), nothing scrolls sideways, the step's main action can be brought into
view whole, and the way on (breadcrumb, next step) is reachable at the top, without scrolling to
the end of a long page.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.lms import SAFETY_NET_MS, follow, open_in_lms, shot, sign_in
from tests.browser.test_learner_browser import (
    MODULE_TITLE,
    MODULE_URL,
    activity_url,
    answer,
    choose_role,
    module_of,
)

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1280, "height": 720}


def lms_page_does_not_scroll(page: Any) -> None:
    sizes = page.evaluate("() => [document.documentElement.scrollHeight, innerHeight,"
                          " document.documentElement.scrollWidth, innerWidth]")
    assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], f"the LMS page scrolls around the frame: {sizes}"


def no_sideways_scrolling(frame: Any) -> None:
    widths = frame.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the tool's page scrolls sideways in the frame: {widths}"


def fits_in_view(frame: Any, locator: Any, what: str) -> None:
    """The element can be scrolled into the frame's view whole: not cut off, not taller than it."""
    locator.scroll_into_view_if_needed()
    top, bottom, height = locator.evaluate("el => { const r = el.getBoundingClientRect();"
                                           " return [r.top, r.bottom, window.innerHeight]; }")
    assert top >= 0 and bottom <= height, f"{what} does not fit in the frame: {top}–{bottom} of {height}"


def at_top(frame: Any, locator: Any, what: str) -> None:
    """Reachable without scrolling: inside the frame's first screen."""
    frame.evaluate("() => window.scrollTo(0, 0)")
    bottom, height = locator.evaluate("el => [el.getBoundingClientRect().bottom, window.innerHeight]")
    assert bottom <= height, f"{what} is only reachable by scrolling ({bottom} > {height})"


def check_step(page: Any, frame: Any, main_action: Any, way_on: Any, what: str) -> None:
    lms_page_does_not_scroll(page)
    no_sideways_scrolling(frame)
    fits_in_view(frame, main_action, f"{what}: its main action")
    at_top(frame, way_on, f"{what}: the way on")


def test_learner_steps_fit_a_fixed_height_frame(site, browser, fresh_learner):
    context = browser.new_context(viewport=VIEWPORT, locale="da-DK")
    context.set_default_timeout(SAFETY_NET_MS)
    page = context.new_page()
    sign_in(context, site.lms_url, fresh_learner)
    frame = open_in_lms(page, site.lms_url, "stor-kursus", "rl-stor")
    module = module_of(site)
    module_link = frame.get_by_role("link", name=MODULE_TITLE, exact=True)
    continue_action = frame.get_by_role("link", name="Start modulet")  # the home's one main action
    check_step(page, frame, continue_action, continue_action, "course home")

    follow(frame, module_link, MODULE_URL)
    start = frame.get_by_role("link", name="Start modulet")
    check_step(page, frame, start, frame.get_by_role("navigation", name="Brødkrumme"), "module page")

    follow(frame, start, activity_url(module, module.activities[0]))
    for activity in module.activities:
        frame.goto(re.sub(r"/a/[^/]+$", f"/a/{activity.id}", frame.url))
        way_on = frame.get_by_role("link", name="Næste trin ›") if activity != module.activities[-1] \
            else frame.get_by_role("navigation", name="Brødkrumme")
        if activity.type == "page":
            check_step(page, frame, frame.get_by_role("link", name="Næste", exact=True), way_on, activity.id)
            continue
        if activity.variants:
            # The role choice comes first: its button must fit the frame as well.
            role_button = frame.get_by_role("button", name="Læs casen i denne rolle")
            check_step(page, frame, role_button, way_on, f"{activity.id} role choice")
            choose_role(frame, activity)
        submit_button = frame.get_by_role("button", name="Indsend", exact=True)
        check_step(page, frame, submit_button, way_on, f"{activity.id} form")
        answer(frame, activity)
        follow(frame, submit_button, re.compile(r"#result$"))
        # Arriving at the result, its heading and summary are in view, where the learner is.
        summary = frame.locator("#result .notice").first
        in_view = summary.evaluate("el => { const r = el.getBoundingClientRect();"
                                   " return r.top >= 0 && r.bottom <= window.innerHeight; }")
        assert in_view, f"{activity.id}: the result's summary is not in view on arrival"
        carry_on = frame.get_by_role("navigation", name="Aktiviteter i dette modul").get_by_role("link").last
        check_step(page, frame, carry_on, way_on, f"{activity.id} result")
    shot(page, "40-fixed-height-frame-last-step")
    context.close()


def test_instructor_dashboard_fits_a_fixed_height_frame(site, browser):
    context = browser.new_context(viewport=VIEWPORT, locale="da-DK")
    context.set_default_timeout(SAFETY_NET_MS)
    page = context.new_page()
    sign_in(context, site.lms_url, "hanne")
    page.goto(f"{site.lms_url}/demo-lms/courses/vejle-int/open/rl-nyankomne")
    frame = page.wait_for_selector("#tool-frame", state="attached").content_frame()
    frame.wait_for_url(re.compile(r"/instructor/$"))
    lms_page_does_not_scroll(page)
    no_sideways_scrolling(frame)
    first_link = frame.locator("main a").first
    at_top(frame, first_link, "the dashboard's first link")
    shot(page, "41-fixed-height-dashboard")
    context.close()
