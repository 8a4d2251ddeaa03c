"""A learner in Chromium: the demo LMS launches the tool into its iframe over real LTI 1.3.

What only a browser shows: autosave with JavaScript under the real Content-Security-Policy,
continuing after a reload (a new launch), the frame resizing itself, keyboard use, axe-core's
WCAG 2.1 AA checks on every learner page type, and the module page on a phone.
Screenshots of the main steps go to test-artifacts/ (kept by CI).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from lti_tool.content.model import Activity, Module
from lti_tool.demo_lms.database import lms_db
from lti_tool.demo_lms.models import DemoResourceLink
from lti_tool.extensions import db
from lti_tool.models import LaunchRecord
from tests.browser.lms import (
    axe_violations,
    describe,
    follow,
    horizontal_overflow,
    launch_id,
    open_in_lms,
    shot,
    sign_in,
    tool_frame,
)
from tests.integration.test_learning import grade_pending
from tests.support.learner import correct_answer, work_through

pytestmark = pytest.mark.browser

MODULE_TITLE = "Nyankomne flygtninge og familiesammenførte"
MODULE_URL = re.compile(r"/c/[^/]+/m/nyankomne/$")
RESULT = re.compile(r"#result$")
UNBOUND_LINK = "rl-stor-browser-unbound"  # an LMS link no instructor has bound to a module yet


def module_of(live: Any, module_id: str = "nyankomne") -> Module:
    with live.app.app_context():
        return live.app.extensions["integrationsloeft"].catalog().module(module_id)


def activity_url(module: Module, activity: Activity) -> re.Pattern[str]:
    return re.compile(rf"/m/{module.id}/a/{re.escape(activity.id)}$")


def field(frame: Any, element_id: str) -> Any:
    return frame.locator(f'[id="{element_id}"]')


def next_link(frame: Any) -> Any:
    return frame.get_by_role("link", name="Næste", exact=True)


def answer(frame: Any, activity: Activity) -> None:
    """Fill in a correct answer in the exercise form, as a learner does."""
    if activity.type == "quiz":
        for q in activity.questions:
            for option_id in sorted(q.correct_ids):
                field(frame, f"q-{q.id}-{option_id}").check()
    elif activity.type == "matching":
        for p in activity.pairs:
            field(frame, f"p-{p.id}").select_option(p.id)
    elif activity.type == "reflection":
        choose_role(frame, activity)
        field(frame, "text").fill(str(correct_answer(activity)["text"]))
    else:
        for name, text in correct_answer(activity).items():
            field(frame, name).fill(str(text))


def choose_role(frame: Any, activity: Activity) -> None:
    """A case with role variants asks for the role before the answer form; choose the first (the
    case as written). Nothing to do when the role is chosen already or the case has no variants."""
    if activity.variants and frame.locator("#role-choice").count():
        field(frame, f"variant-{activity.variants[0].id}").check()
        follow(frame, frame.get_by_role("button", name="Læs casen i denne rolle"), re.compile(r"saved=1"))


def submit(frame: Any) -> None:
    follow(frame, frame.get_by_role("button", name="Indsend", exact=True), RESULT)
    expect(frame.get_by_role("heading", name="Dit resultat")).to_be_visible()


def open_module(frame: Any) -> None:
    follow(frame, frame.get_by_role("link", name=MODULE_TITLE, exact=True), MODULE_URL)


def grade(live: Any, frame: Any, module: Module) -> None:
    """What the instructor's grading does, in-process through the same service."""
    with live.app.app_context():
        user_id = db.session.get(LaunchRecord, launch_id(frame)).user_id
        grade_pending(live.app, user_id, module)


def unbound_link(live: Any) -> str:
    """A fresh activity in the large course that opens the tool without a module chosen."""
    with live.lms_context():
        known = select(DemoResourceLink).where(DemoResourceLink.link_id == UNBOUND_LINK)
        if lms_db.session.scalars(known).first() is None:
            lms_db.session.add(DemoResourceLink(course_id="stor-kursus", link_id=UNBOUND_LINK,
                                                title="Integrationsløft (ikke sat op)", custom={}))
            lms_db.session.commit()
    return UNBOUND_LINK


# --- 0. the launch answers with the first page; a reload asks for the page, not the launch -------

def test_reloading_the_first_page_does_not_post_the_spent_launch_again(site, context, page, fresh_learner):
    sign_in(context, site.lms_url, fresh_learner)
    frame = open_in_lms(page, site.lms_url, "stor-kursus", "rl-stor")
    expect(frame.get_by_role("link", name=MODULE_TITLE)).to_be_visible()
    first = launch_id(frame)  # frame.js put the page's own address in the history

    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    frame.evaluate("location.reload()")
    frame.wait_for_load_state()

    expect(frame.get_by_role("link", name=MODULE_TITLE)).to_be_visible()
    assert launch_id(frame) == first
    assert posts == []


# --- 1. a whole module, with autosave and a reload half-way ---------------------------------------

def test_learner_completes_a_module_in_the_lms_frame(site, context, page, fresh_learner):
    module = module_of(site)
    by_id = {a.id: a for a in module.activities}
    matching = by_id["matching-frister"]
    sign_in(context, site.lms_url, fresh_learner)

    frame = open_in_lms(page, site.lms_url, "stor-kursus", "rl-stor")
    expect(frame.get_by_role("link", name=MODULE_TITLE)).to_be_visible()
    shot(page, "01-course-home")
    open_module(frame)
    shot(page, "02-module-not-started")
    start = frame.get_by_role("link", name="Start modulet")
    follow(frame, start, activity_url(module, module.activities[0]))
    expect(frame.get_by_role("heading", level=1)).to_have_text(module.activities[0].title)
    shot(page, "03-reading-page")

    # Read on to the matching exercise, the first exercise in the module.
    for activity in module.activities[1:module.activities.index(matching) + 1]:
        follow(frame, next_link(frame), activity_url(module, activity))
    status = frame.locator(".save-status")
    answered = matching.pairs[:3]
    for p in answered:
        field(frame, f"p-{p.id}").select_option(p.id)
    expect(status).to_have_text("Gemt")
    shot(page, "04-matching-autosaved")

    # Reload the whole LMS page: a new LTI launch, and the learner carries on where they left off.
    page.reload()
    frame = tool_frame(page)
    open_module(frame)
    expect(frame.get_by_text("I gang", exact=True)).to_be_visible()
    carry_on = frame.get_by_role("link", name=re.compile(r"Fortsæt,? hvor du slap"))
    follow(frame, carry_on, activity_url(module, matching))  # the next activity not done yet
    for p in answered:
        expect(field(frame, f"p-{p.id}")).to_have_value(p.id)
    expect(field(frame, f"p-{matching.pairs[-1].id}")).to_have_value("")
    shot(page, "05-continued-after-reload")

    answer(frame, matching)
    submit(frame)
    total = len(matching.pairs)
    expect(frame.locator("#result .notice")).to_contain_text(f"{total} af {total}")
    shot(page, "06-matching-result")

    for activity in module.activities[module.activities.index(matching) + 1:]:
        follow(frame, next_link(frame), activity_url(module, activity))
        if activity.type == "page":
            continue
        if activity.type == "reflection":
            choose_role(frame, activity)
            expect(frame.locator("#text-hint")).to_contain_text(f"mindst {activity.min_words} ord")
        answer(frame, activity)
        if activity.type == "reflection":  # the word counter writes the page's language
            expect(frame.locator("#text-count")).to_contain_text(re.compile(rf"^[\d.]+ / {activity.min_words} ord$"))
        shot(page, f"07-{activity.type}-form")
        submit(frame)
        shot(page, f"08-{activity.type}-result")
        if activity.type == "quiz":
            expect(frame.locator("#result .notice")).to_contain_text("100")

    follow(frame, frame.get_by_role("link", name="Afslut: tilbage til modulet"), MODULE_URL)
    expect(frame.get_by_role("status")).to_contain_text("Din refleksion venter på din underviser")
    shot(page, "09-module-pending")

    grade(site, frame, module)
    page.reload()
    frame = tool_frame(page)
    open_module(frame)
    expect(frame.get_by_role("status")).to_have_text("Du har gennemført dette modul.")
    expect(frame.get_by_role("status")).to_be_visible()
    shot(page, "10-module-completed")


# --- 2. the frame fits its content ----------------------------------------------------------------

def frame_fits(page: Any, frame: Any, minimum: float) -> bool:
    """The LMS's frame is as tall as the tool's page in it (read from both sides: the frame is
    cross-origin, so the LMS page cannot look into it)."""
    if frame.evaluate("() => document.readyState") != "complete":
        return False
    content = frame.evaluate("() => Math.ceil(document.documentElement.getBoundingClientRect().height)")
    outer, border = page.locator("#tool-frame").evaluate("el => [el.offsetHeight, el.offsetHeight - el.clientHeight]")
    return bool(abs(outer - max(minimum, content + border)) <= 2)


def wait_until(condition: Any, *, timeout: float = 15.0) -> None:
    """Poll a condition until it holds (a safety net, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.05)


@pytest.fixture
def resizing_lms(site: Any) -> Iterator[None]:
    """The demo LMS answering lti.frameResize, as Canvas does (Moodle does not: off by default)."""
    site.lms_app.config["LMS_FRAME_RESIZE"] = True
    yield
    site.lms_app.config["LMS_FRAME_RESIZE"] = False


def test_the_frame_resizes_to_its_content(site, resizing_lms, context, page, fresh_learner):
    """The tool posts lti.frameResize; an LMS that honours it grows and shrinks the frame with each page."""
    sign_in(context, site.lms_url, fresh_learner)
    frame = open_in_lms(page, site.lms_url, "stor-kursus", "rl-stor")
    iframe = page.locator("#tool-frame")
    min_height = iframe.evaluate("el => parseFloat(getComputedStyle(el).minHeight)")
    assert min_height > 0

    def height() -> float:
        return iframe.evaluate("el => el.getBoundingClientRect().height")

    open_module(frame)  # a long page: goals and ten activities
    wait_until(lambda: height() > min_height and frame_fits(page, frame, min_height))
    tall = height()
    inner = frame.evaluate("() => [document.documentElement.scrollHeight,"
                           " document.documentElement.clientHeight]")
    assert inner[0] <= inner[1] + 1, f"the frame scrolls inside the LMS page: {inner}"
    shot(page, "11-frame-resized")

    # On to a short page (the tool's page for an address it does not know): the frame shrinks again
    # instead of leaving blank space.
    frame.goto(frame.url + "no-such-page")
    wait_until(lambda: height() < tall and frame_fits(page, frame, min_height))


# --- 3. keyboard only -----------------------------------------------------------------------------

def test_keyboard_only_from_course_home_to_module(site, context, page, fresh_learner):
    sign_in(context, site.lms_url, fresh_learner)
    frame = open_in_lms(page, site.lms_url, "stor-kursus", "rl-stor")
    expect(frame.get_by_role("link", name=MODULE_TITLE)).to_be_visible()

    focus_inside = "() => document.hasFocus() && document.activeElement !== document.body"
    # Tab through the LMS page until the focus enters the tool's frame: the skip link comes first.
    for _ in range(10):
        page.keyboard.press("Tab")
        if frame.evaluate(focus_inside):
            break
    else:
        pytest.fail("Tab never reached the tool's frame")
    skip = frame.get_by_role("link", name="Spring til indhold")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None
    assert box["x"] >= 0, "the focused skip link must move into view"
    assert box["y"] >= 0

    page.keyboard.press("Enter")
    expect(frame.locator("main")).to_be_focused()
    page.keyboard.press("Tab")  # the one "continue" action comes first, then the module's card
    expect(frame.get_by_role("link", name="Start modulet")).to_be_focused()
    page.keyboard.press("Tab")
    expect(frame.get_by_role("link", name=MODULE_TITLE)).to_be_focused()
    shot(page, "12-keyboard-focus")
    page.keyboard.press("Enter")
    frame.wait_for_url(MODULE_URL)
    expect(frame.get_by_role("heading", level=1)).to_have_text(MODULE_TITLE)


# --- 4. accessibility (axe-core, WCAG 2.1 A and AA) -----------------------------------------------

def test_learner_pages_pass_axe(site, context, page, fresh_learner, another_learner):
    module = module_of(site)
    by_type: dict[str, Activity] = {}
    for a in module.activities:
        by_type.setdefault(a.type, a)
    found: dict[str, list[dict[str, Any]]] = {}

    def check(name: str, target: Any, **options: Any) -> None:
        found[name] = axe_violations(target, **options)

    page.goto(site.lms_url + "/demo-lms/")
    check("demo LMS sign-in page", page)
    sign_in(context, site.lms_url, fresh_learner)
    page.goto(site.lms_url + "/demo-lms/courses/stor-kursus")
    check("demo LMS course page", page)
    frame = open_in_lms(page, site.lms_url, "stor-kursus", "rl-stor")
    check("demo LMS with the tool framed", page, iframes=False)
    home = frame.url
    check("course home", frame)
    frame.goto(f"{home}rules")
    expect(frame.get_by_role("heading", level=1)).to_contain_text("Regler pr.")
    check("rules page", frame)
    frame.goto(f"{home}m/{module.id}/")
    check("module page", frame)
    for kind in ("page", "matching", "quiz", "reflection", "action_plan"):
        activity = by_type[kind]
        frame.goto(f"{home}m/{module.id}/a/{activity.id}")
        if kind == "page":
            check("reading page", frame)
            continue
        check(f"{kind} form", frame)
        answer(frame, activity)
        submit(frame)
        check(f"{kind} submitted", frame)
    grade(site, frame, module)
    frame.goto(f"{home}m/{module.id}/a/{by_type['reflection'].id}")
    expect(frame.get_by_text("Feedback fra din underviser")).to_be_visible()
    check("reflection graded", frame)
    frame.goto(f"{home}m/{module.id}/")
    check("module page, completed", frame)
    frame.goto(f"{home}certificate/efteruddannelse-integration")
    check("certificate not yet issued", frame)

    frame = open_in_lms(page, site.lms_url, "stor-kursus", unbound_link(site))
    expect(frame.get_by_text("ikke sat op endnu")).to_be_visible()
    check("not set up", frame)
    shot(page, "13-not-set-up")

    # A certificate: the whole programme worked through over HTTP, the page shown in Chromium.
    agent = site.agent()
    programme_home = agent.launch(another_learner, "stor-kursus", "rl-stor-programme").url
    with site.app.app_context():
        catalog = site.app.extensions["integrationsloeft"].catalog()
        programme = catalog.programmes["efteruddannelse-integration"]
        user_id = db.session.get(LaunchRecord, re.search(r"/c/([^/]+)/", programme_home)[1]).user_id
        for module_id in ("nyankomne", "tvaerfagligt-samarbejde", "beskaeftigelse", "unge",
                          "familier-og-boern"):
            work_through(agent, programme_home, programme.module(module_id))
            grade_pending(site.app, user_id, programme.module(module_id))
    page.goto(programme_home + "certificate/efteruddannelse-integration")
    expect(page.get_by_text("Kontrolkode")).to_be_visible()
    check("certificate", page)
    shot(page, "14-certificate")
    # Printed, the certificate stands alone: no navigation, header or print button on paper.
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Udskriv kursusbeviset")).to_be_hidden()
    expect(page.locator(".breadcrumb")).to_be_hidden()
    expect(page.locator(".certificate")).to_be_visible()
    shot(page, "14b-certificate-printed")
    page.emulate_media(media="screen")

    response = page.goto(site.base_url + "/c/unknown/")
    assert response is not None
    assert 400 <= response.status < 500  # an unknown launch: a localised error page
    check("error page", page)
    shot(page, "15-error-page")

    if any(found.values()):
        print(describe(found))  # shown with the failure, for debugging
    assert not any(found.values()), "axe found WCAG 2.1 AA violations:\n" + describe(found)


# --- 5. phone size --------------------------------------------------------------------------------

def test_module_fits_a_phone_without_sideways_scrolling(site, browser, fresh_learner):
    """390 px (a common phone) and 320 px (WCAG 1.4.10 Reflow): no horizontal scrolling, in the LMS
    page or in the tool's frame, on the module page and on every activity of the module."""
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                is_mobile=True, has_touch=True, locale="da-DK")
    try:
        page = phone.new_page()
        sign_in(phone, site.lms_url, fresh_learner)
        frame = open_in_lms(page, site.lms_url, "stor-kursus", "rl-stor")
        open_module(frame)
        shot(page, "16-phone-module-page")
        module_url = frame.url
        urls = {"module page": module_url}
        urls.update((a.id, f"{module_url}a/{a.id}") for a in module_of(site).activities)
        wide = {}
        for width in (390, 320):
            page.set_viewport_size({"width": width, "height": 844})
            for name, url in urls.items():
                frame.goto(url)
                for where, doc in (("LMS page", page), ("tool frame", frame)):
                    overflow = horizontal_overflow(doc)
                    if overflow:
                        wide[f"{width}px {name} ({where})"] = overflow
        shot(page, "17-phone-320-action-plan")
        assert not wide, f"horizontal scrolling on a phone: {wide}"
    finally:
        phone.close()
