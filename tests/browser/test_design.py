"""The visual design where it lives: tables that keep their words whole, the instructor's dashboard
in an LMS frame of 800 px, the learner's first page within its weight budget, and axe-core on the
pages the design changed (including the checks axe leaves to a person elsewhere: landmarks on the
demo LMS's frame page)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from lti_tool.extensions import db
from tests.browser.lms import (
    SAFETY_NET_MS,
    axe_violations,
    describe,
    horizontal_overflow,
    open_in_lms,
    shot,
    sign_in,
    sign_in_operator,
    wait_for_address,
)
from tests.browser.test_learner_browser import module_of
from tests.support.console import PASSWORD, make_operator
from tests.support.learner import work_through
from tests.support.records import seed_person, seed_platform

pytestmark = pytest.mark.browser

PROGRAMME_LINK = "rl-stor-programme"  # the whole programme placed in the large demo course
DASHBOARD = re.compile(r"/instructor/$")
# Bytes of HTML, CSS, JavaScript, fonts and images for the page a learner first sees after the launch
# (uncompressed, nothing cached). Today about 82 kB, 34 kB of it the two font files.
FIRST_PAGE_BUDGET = 100_000

# Every word in every visible table cell, with the number of line boxes it is laid out on: a word
# broken inside itself ("Kriteriu|m") spans two. Hyphens, slashes and dashes are places where a
# word may end a line, so they split words here too.
BROKEN_WORDS = """() => {
  const broken = [];
  for (const cell of document.querySelectorAll("th, td")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.textContent.matchAll(/[^\\s\\-\\/\\u2013\\u2014\\u00b7]+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""


def broken_words(doc: Any) -> list[str]:
    return list(doc.evaluate(BROKEN_WORDS))


def operator_signed_in(site: Any, page: Any) -> None:
    sign_in_operator(page, site.base_url, make_operator(site.app), PASSWORD)


def learner_with_reflection_waiting(site: Any, learner_id: str) -> None:
    """A learner who did all of the first module: its reflection waits, so its percentage is provisional."""
    learner = site.agent()
    home = learner.launch(learner_id, "stor-kursus", PROGRAMME_LINK).url
    work_through(learner, home, module_of(site))


def test_no_table_cell_breaks_inside_a_word(site, browser, fresh_learner):
    """At 320 px and in an 800 px frame: the reflection's rubric, the instructor's dashboard, the demo
    gradebook and the operator's reach and grade pages lay every word of a cell out on one line."""
    learner_with_reflection_waiting(site, fresh_learner)
    module = module_of(site)
    reflection = next(a for a in module.activities if a.type == "reflection")
    found: dict[str, list[str]] = {}
    for width in (320, 800):
        context = browser.new_context(viewport={"width": width, "height": 800}, locale="da-DK")
        context.set_default_timeout(SAFETY_NET_MS)
        try:
            page = context.new_page()
            sign_in(context, site.lms_url, fresh_learner)
            frame = open_in_lms(page, site.lms_url, "stor-kursus", PROGRAMME_LINK)
            frame.goto(f"{frame.url}m/{module.id}/a/{reflection.id}")
            expect(frame.locator("table.rubric").first).to_be_visible()
            found[f"{width}px rubric"] = broken_words(frame)

            sign_in(context, site.lms_url, "hanne")
            frame = open_in_lms_as_instructor(page, site.lms_url)
            found[f"{width}px dashboard"] = broken_words(frame)
            page.goto(f"{site.lms_url}/demo-lms/courses/stor-kursus/gradebook")
            found[f"{width}px demo gradebook"] = broken_words(page)

            operator_signed_in(site, page)
            for path in ("/admin/reach", "/admin/grades"):
                page.goto(site.base_url + path)
                found[f"{width}px {path}"] = broken_words(page)
        finally:
            context.close()
    assert not any(found.values()), f"words broken inside table cells: { {k: v for k, v in found.items() if v} }"


def open_in_lms_as_instructor(page: Any, lms_url: str) -> Any:
    page.goto(f"{lms_url}/demo-lms/courses/stor-kursus/open/{PROGRAMME_LINK}")
    frame = page.wait_for_selector("#tool-frame", state="attached").content_frame()
    wait_for_address(frame, DASHBOARD)
    expect(frame.get_by_role("heading", level=1)).to_be_visible()
    return frame


def test_dashboard_fits_an_lms_frame_800px_wide(site, browser, fresh_learner):
    """Moodle gives the tool a frame about 700–900 px wide and of fixed height: every placed module
    is visible without sideways scrolling, the chart says what it counts, a percentage that waits
    for grading is marked provisional, and axe finds nothing."""
    learner_with_reflection_waiting(site, fresh_learner)
    context = browser.new_context(viewport={"width": 800, "height": 720}, locale="da-DK")
    context.set_default_timeout(SAFETY_NET_MS)
    try:
        page = context.new_page()
        sign_in(context, site.lms_url, "hanne")
        frame = open_in_lms_as_instructor(page, site.lms_url)
        frame.goto(frame.url + "?status=pending")
        expect(frame.locator("table.roster")).to_be_visible()
        shot(page, "40-dashboard-800px")

        assert horizontal_overflow(frame) is None, "the dashboard scrolls sideways in the frame"
        programme = module_of(site)  # one of the placed modules; the page lists them all
        titles = frame.locator("table.roster tbody tr").first.locator(".roster-module-title")
        assert titles.count() > 1 and programme.title in titles.all_inner_texts()
        hidden = frame.evaluate("""() => [...document.querySelectorAll(
              'table.roster tbody tr:first-child .roster-module-title, .bar-title')]
            .filter(el => { const r = el.getBoundingClientRect(), region = el.closest('.table-scroll');
                            const right = region ? region.getBoundingClientRect().right : innerWidth;
                            return r.width === 0 || r.right > Math.min(right, innerWidth) + 1; })
            .map(el => el.textContent)""")
        assert not hidden, f"modules cut off or hidden in the frame: {hidden}"
        scrolls = frame.evaluate("() => [...document.querySelectorAll('.table-scroll')]"
                                 ".some(el => el.scrollWidth > el.clientWidth + 1)")
        assert not scrolls, "a table of the dashboard scrolls sideways at 800 px"

        # The chart's parts say what they count; the first bar's label is whole.
        part = frame.locator(".bars svg rect").first
        assert re.fullmatch(r".+: \d+ af \d+ deltager(e)?", part.locator("title").text_content() or "")
        label = frame.locator(".bar-title").first
        assert label.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), "the first chart label is cut"
        # The learner's module waits for grading: its percentage is provisional, and says so.
        row = frame.locator("table.roster tbody tr", has_text=fresh_learner[-4:]).first
        expect(row.locator(".provisional").first).to_have_text("(foreløbig)")

        found = axe_violations(frame)
        assert not found, "axe found WCAG 2.1 AA violations:\n" + describe({"dashboard at 800 px": found})
    finally:
        context.close()


def test_learner_first_page_keeps_its_weight_budget(site, context, page, fresh_learner):
    """The programme's home, opened from the LMS in a new window with nothing cached: the bytes of
    its document and of every file it loads stay within FIRST_PAGE_BUDGET."""
    sign_in(context, site.lms_url, fresh_learner)
    page.goto(f"{site.lms_url}/demo-lms/courses/stor-kursus/initiate?target=window&link_id={PROGRAMME_LINK}")
    page.wait_for_url(re.compile(r"/c/[^/]+/$"))
    expect(page.locator(".continue .button-primary")).to_be_visible()
    page.wait_for_load_state("load")
    page.evaluate("() => document.fonts.ready.then(() => true)")
    files = page.evaluate("""() => [performance.getEntriesByType('navigation')[0],
                                    ...performance.getEntriesByType('resource')]
                                   .map(e => [e.name, e.decodedBodySize])""")
    total = sum(size for _, size in files)
    fonts = [name for name, _ in files if name.endswith(".woff2")]
    assert fonts, "the page loads no font: the budget would measure less than learners download"
    assert total <= FIRST_PAGE_BUDGET, f"{total} bytes > {FIRST_PAGE_BUDGET}: {files}"


@pytest.mark.parametrize("width", [320, 1280])
def test_learner_home_and_demo_pages_pass_axe(site, browser, fresh_learner, width):
    """The learner's programme home (continue action, rule drawn, module cards), the demo gradebook
    and the demo LMS's frame page, with its landmarks each named once (axe's landmark-unique)."""
    learner_with_reflection_waiting(site, fresh_learner)
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="da-DK")
    context.set_default_timeout(SAFETY_NET_MS)
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        page = context.new_page()
        sign_in(context, site.lms_url, fresh_learner)
        frame = open_in_lms(page, site.lms_url, "stor-kursus", PROGRAMME_LINK)
        expect(frame.locator(".rule-track")).to_be_visible()
        assert horizontal_overflow(frame) is None
        found["learner programme home"] = axe_violations(frame)
        shot(page, f"41-learner-home-{width}px")
        found["demo LMS frame page"] = axe_violations(page, iframes=False)
        landmarks = page.evaluate("options => axe.run(document, options)",
                                  {"runOnly": {"type": "rule", "values": ["landmark-unique"]}, "iframes": True,
                                   "resultTypes": ["violations"]})
        found["demo LMS frame page, landmarks"] = [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]}
                                                   for v in landmarks["violations"]]
        sign_in(context, site.lms_url, "hanne")
        page.goto(f"{site.lms_url}/demo-lms/courses/stor-kursus/gradebook")
        found["demo gradebook"] = axe_violations(page)
        with site.app.app_context():
            seed_person(db.session, seed_platform(db.session), parked_score=True)
        operator_signed_in(site, page)
        page.goto(site.base_url + "/admin/grades")
        expect(page.locator("table.platform-errors")).to_be_visible()
        found["operator grade delivery"] = axe_violations(page)
    finally:
        context.close()
    assert not any(found.values()), "axe found violations:\n" + describe(found)
