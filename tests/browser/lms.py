"""Helpers for driving the demo LMS and the framed tool in Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
# One renderer process for the LMS page and the tool's frame: the tool's frame crosses sites three
# times in a launch (tool login, LMS authorization, tool launch), and on a busy machine the DevTools
# protocol can lose a frame that moves between processes (puppeteer#10715): Playwright then never sees
# the tool's page although the server served it. Sites, origins, cookies (SameSite, third-party
# blocking, CHIPS partitions) and storage partitions do not depend on the process model.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-site-isolation-trials"]
# Every Playwright wait is a safety net, never a measure of speed: ten times and more what a step
# takes on an idle machine, so a busy machine does not fail a test.
SAFETY_NET_MS = 60_000
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
TOOL_HOME = re.compile(r"/c/[^/]+/$")


def sign_in(context: Any, base_url: str, user_id: str) -> None:
    """What the "Log ind som …" buttons do; the request shares the context's cookie jar."""
    response = context.request.post(base_url + "/demo-lms/sign-in", form={"user_id": user_id})
    assert response.ok, response.status
    assert any(c["name"] == "demo_lms_user" for c in context.cookies(base_url)), "not signed in"


def sign_in_operator(page: Any, base_url: str, email: str, password: str) -> None:
    """Sign in to the operator console through its form, as the operator does."""
    page.goto(base_url + "/admin/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url("**/admin/")


def tool_frame(page: Any) -> Any:
    """The tool's frame in the LMS page, once the LTI launch inside it has reached the tool."""
    handle = page.wait_for_selector("#tool-frame", state="attached")
    frame = handle.content_frame()
    assert frame is not None
    wait_for_address(frame, TOOL_HOME)
    return frame


def wait_for_address(frame: Any, pattern: re.Pattern[str]) -> None:
    """Wait until the frame's address matches. The launch answers with the first page and
    static/js/frame.js then puts its own address in the history (replaceState): a change of address
    without a navigation, which Playwright's wait_for_url does not see, so the address is read in the
    page. wait_for_function re-runs its check in each new document and, unlike a bare evaluate, is
    bounded by its timeout even while the frame is between two documents or processes (a safety net
    of SAFETY_NET_MS, not a measure)."""
    try:
        frame.wait_for_function("source => new RegExp(source).test(location.href)", arg=pattern.pattern,
                                polling=100, timeout=SAFETY_NET_MS)
    except Exception as error:  # noqa: BLE001 - Playwright's TimeoutError: say where the frame stopped
        raise AssertionError(f"the frame never reached {pattern.pattern} (at {frame.url}): {error}") from error


def open_in_lms(page: Any, base_url: str, course_id: str, link_id: str) -> Any:
    """Open an activity "on the page": the LMS page with the tool launched into its iframe."""
    page.goto(f"{base_url}/demo-lms/courses/{course_id}/open/{link_id}")
    return tool_frame(page)


def launch_id(frame: Any) -> str:
    match = re.search(r"/c/([^/]+)/", frame.url)
    assert match, frame.url
    return match.group(1)


def follow(frame: Any, locator: Any, url: str | re.Pattern[str]) -> None:
    """Activate a link or button in the frame and wait until the frame has loaded `url`."""
    locator.click()
    frame.wait_for_url(url)


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


_axe_source: str | None = None


def axe_violations(frame: Any, *, iframes: bool = True) -> list[dict[str, Any]]:
    """Run axe-core (WCAG 2.0/2.1 A and AA) on the document in `frame` (a Page or a Frame).

    The source goes in through evaluate rather than add_script_tag: an inline <script> would be
    refused by the pages' Content-Security-Policy (script-src 'self'), which the tests keep on.
    """
    global _axe_source
    if _axe_source is None:
        assert AXE.exists(), f"{AXE} is missing: run `npm install` (make browser-deps does)"
        _axe_source = AXE.read_text(encoding="utf-8")
    if not frame.evaluate("() => typeof window.axe === 'object'"):
        frame.evaluate(_axe_source)
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "iframes": iframes,
               "resultTypes": ["violations"]}
    result = frame.evaluate("options => axe.run(document, options)", options)
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [{"target": n["target"], "summary": n.get("failureSummary", "")}
                       for n in v["nodes"]]}
            for v in result["violations"]]


def describe(violations: dict[str, list[dict[str, Any]]]) -> str:
    pages = {page: found for page, found in violations.items() if found}
    return json.dumps(pages, indent=1, ensure_ascii=False)


def horizontal_overflow(frame: Any) -> dict[str, int] | None:
    """None when the document fits its viewport's width, else the two widths."""
    widths = frame.evaluate("() => ({scroll: document.documentElement.scrollWidth,"
                            " client: document.documentElement.clientWidth})")
    return None if widths["scroll"] <= widths["client"] + 1 else widths
