"""The whole journey of a new installation, in Chromium, across two sites as in the field.

A demo LMS that has never met the tool runs on http://localhost:… and the tool on
http://127.0.0.1:…. Its administrator installs the tool by dynamic registration inside an iframe of
the LMS's admin page (as Moodle 4.5 does), activates it there, and the tool's operator approves it;
the teacher places modules by deep linking; a learner works through a module in the LMS's
fixed-height frame until the grade shows in the gradebook; the teacher grades the reflection and
the module is complete in the LMS; and a learner whose browser blocks third-party cookies launches.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from lti_tool.demo_lms.app import create_lms_app
from lti_tool.demo_lms.cli import setup_lms
from lti_tool.extensions import db
from lti_tool.models import Platform
from lti_tool.runtime import runtime
from tests.browser.lms import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SAFETY_NET_MS,
    TOOL_HOME,
    follow,
    shot,
    sign_in,
    tool_frame,
    wait_for_address,
)
from tests.browser.test_cookieless import chromium_profile
from tests.browser.test_learner_browser import activity_url, answer, next_link, submit
from tests.conftest import LiveServer, free_port, lms_settings, start_lms
from tests.support.console import PASSWORD, make_operator

pytestmark = pytest.mark.browser

COURSE = "stor-kursus"
MODULE_URL = re.compile(r"/c/[^/]+/m/nyankomne/$")


@pytest.fixture
def new_lms(site: LiveServer, tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """A second demo LMS, on its own site and database, that has never registered the tool."""
    port = free_port()
    lms_url = f"http://localhost:{port}"
    lms_app = create_lms_app(lms_settings("embedded", tmp_path / "new-lms", lms_url, site.base_url))
    with lms_app.app_context():
        setup_lms(register_tool=False)  # the LMS's own set-up, without the tool
    server = start_lms(lms_app, port)
    yield lms_app, lms_url
    server.shutdown()
    server.server_close()


def desktop(browser: Any) -> Any:
    """A fresh browser profile at 1280×720, Danish, as an LMS user at a municipal desk."""
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="da-DK")
    context.set_default_timeout(SAFETY_NET_MS)
    return context


def deliver_grades(site: LiveServer) -> None:
    """What the grade worker does: send every due score to the LMS."""
    with site.app.app_context():
        for _ in range(10):
            if runtime().deliver_scores(db.session()).handled == 0:
                return


def test_new_lms_installs_the_tool_and_a_learner_reaches_a_grade(site, browser, new_lms, fresh_learner,
                                                                   another_learner, tmp_path):
    _, lms = new_lms
    admin_ctx = desktop(browser)
    page = admin_ctx.new_page()

    # 1. The LMS administrator pastes the tool's registration URL; the registration opens in an
    #    iframe of the admin page, on the tool's site, before the tool knows this LMS.
    sign_in(admin_ctx, lms, "hanne")
    page.goto(f"{lms}/demo-lms/admin/tools")
    page.get_by_label("Værktøjets registrerings-URL").fill(site.base_url + "/lti/register")
    page.get_by_role("button", name="Tilføj LTI Advantage").click()
    registration = page.frame_locator("#registration-frame")
    confirm = registration.get_by_role("button", name="Registrér værktøjet")
    expect(confirm).to_be_visible()  # framed: not "refused to connect"
    shot(page, "30-registration-in-lms-iframe")
    confirm.click()
    # The tool posts org.imsglobal.lti.close to its parent; the LMS lists the tool as pending.
    pending = page.locator("tr", has_text="Afventer")
    expect(pending).to_be_visible()
    shot(page, "31-registered-pending-in-lms")
    pending.get_by_role("button", name=re.compile("^Aktivér")).click()
    expect(page.locator("td", has_text="Aktiv").first).to_be_visible()

    # 2. The tool's operator approves the new platform in the console.
    with site.app.app_context():
        # The newest with this issuer: a port, and so an issuer, can come back from another test.
        platform = db.session.scalars(select(Platform).where(Platform.issuer == lms + "/demo-lms")
                                      .order_by(Platform.id.desc()).limit(1)).one()
        assert platform.status.value == "pending"
        platform_id = platform.id
    operator = admin_ctx.new_page()
    operator.goto(site.base_url + "/admin/login")
    operator.locator("input[name=email]").fill(make_operator(site.app))
    operator.locator("input[name=password]").fill(PASSWORD)
    operator.locator("form button[type=submit]").first.click()
    operator.wait_for_url("**/admin/")
    operator.goto(f"{site.base_url}/admin/platforms/{platform_id}")
    operator.get_by_role("button", name="Godkend").click()
    expect(operator.locator("h1 .badge")).to_have_text(re.compile("aktiv", re.I))

    # 3. The teacher places a module by deep linking (Moodle opens it from the course page).
    page.goto(f"{lms}/demo-lms/courses/{COURSE}")
    page.get_by_role("link", name="Tilføj aktivitet fra Integrationsløft").click()
    page.wait_for_url(re.compile(r"/instructor/deep-link"))
    page.locator("#dl-m-nyankomne").check()
    shot(page, "32-deep-linking")
    page.get_by_role("button", name="Tilføj til kurset").click()
    page.wait_for_url(re.compile(rf"/demo-lms/courses/{COURSE}"))
    expect(page.get_by_role("status")).to_contain_text("1 aktivitet")
    link = page.locator("li.card", has_text="Nyankomne").get_by_role("link", name=re.compile("^Åbn på siden"))
    link_url = link.get_attribute("href")
    assert link_url

    # 4. A learner works through the module in the LMS's fixed-height frame, on another site.
    learner_ctx = desktop(browser)
    sign_in(learner_ctx, lms, fresh_learner)
    learner = learner_ctx.new_page()
    learner.goto(lms + link_url)
    frame = tool_frame(learner)
    follow(frame, frame.get_by_role("link", name="Nyankomne flygtninge og familiesammenførte", exact=True),
           MODULE_URL)
    with site.app.app_context():
        module = runtime().catalog().module("nyankomne")
    follow(frame, frame.get_by_role("link", name="Start modulet"), activity_url(module, module.activities[0]))
    for index, activity in enumerate(module.activities):
        if index:
            follow(frame, next_link(frame), activity_url(module, activity))
        if activity.type != "page":
            answer(frame, activity)
            submit(frame)
    shot(learner, "33-learner-done-in-frame")
    deliver_grades(site)

    # The gradebook has the score, pending the teacher's grading, with the tool's comment.
    page.goto(f"{lms}/demo-lms/courses/{COURSE}/gradebook")
    cell = page.locator(f'td[data-user="{fresh_learner}"]')
    expect(cell).to_contain_text("Afleveret · Afventer bedømmelse")  # a coordinator's words …
    expect(cell).to_contain_text("PendingManual")  # … and the protocol's on demand

    # 5. The teacher grades the reflection in the tool (a new window from the LMS).
    link_id = link_url.rsplit("/", 1)[1]
    page.goto(f"{lms}/demo-lms/courses/{COURSE}/initiate?target=window&link_id={link_id}")
    page.wait_for_url(re.compile(r"/instructor/$"))
    page.goto(page.url + "grading")
    page.get_by_role("link", name=re.compile("^Bedøm")).first.click()
    for full in page.locator("input[type=radio][id$='-full']").all():
        full.check()  # the rubric's level "full" for each criterion that has levels
    for points in page.locator("input[type=number][id^='points-']").all():
        points.fill(points.get_attribute("max") or "0")  # criteria without levels
    page.get_by_role("button", name="Gem bedømmelsen").click()
    deliver_grades(site)

    # The gradebook now shows the full score and the module completed, as Moodle's completion
    # "Receive a grade" needs; the learner sees the comment the tool sent.
    page.goto(f"{lms}/demo-lms/courses/{COURSE}/gradebook")
    expect(cell).to_contain_text("Gennemført · Bedømt")
    expect(cell).to_contain_text("FullyGraded")
    shot(page, "34-gradebook-completed")
    learner.goto(f"{lms}/demo-lms/courses/{COURSE}")
    expect(learner.locator(".my-grade").first).to_contain_text("Feedback")

    # 6. A learner whose browser blocks third-party cookies opens the same activity.
    profile = chromium_profile(tmp_path, {"block_third_party_cookies": True, "cookie_controls_mode": 1})
    blocked = browser.browser_type.launch_persistent_context(  # a profile with the setting made
        str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, locale="da-DK",
        viewport={"width": 1280, "height": 720})
    try:
        blocked.set_default_timeout(SAFETY_NET_MS)
        sign_in(blocked, lms, another_learner)
        blocked_page = blocked.new_page()
        blocked_page.goto(lms + link_url)
        blocked_frame = blocked_page.wait_for_selector("#tool-frame").content_frame()
        wait_for_address(blocked_frame, TOOL_HOME)
        assert "Nyankomne flygtninge og familiesammenførte" in blocked_frame.inner_text("main")
    finally:
        blocked.close()
    admin_ctx.close()
    learner_ctx.close()


def test_registration_in_a_new_window_tells_its_opener(site, browser, new_lms):
    """Dynamic registration also works in a window of its own (an LMS may open it so): it ends
    with org.imsglobal.lti.close to the window that opened it, which then lists the tool."""
    _, lms = new_lms
    context = desktop(browser)
    page = context.new_page()
    sign_in(context, lms, "hanne")
    page.goto(f"{lms}/demo-lms/admin/tools")
    page.get_by_role("button", name="Tilføj LTI Advantage").click()
    with context.expect_page() as opened:
        page.get_by_role("link", name="Åbn den i et nyt vindue").click()
    popup = opened.value
    popup.get_by_role("button", name="Registrér værktøjet").click()
    expect(page.locator("tr", has_text="Afventer")).to_be_visible()  # the opener heard the close message
    context.close()
