"""Launches when the browser keeps fewer cookies in the LMS's frame.

The demo LMS is on http://localhost:… and the tool on http://127.0.0.1:…, so the tool's frame is
cross-site, as in a real LMS. Two hard cases, as in the field:
- Chromium with third-party cookies blocked: partitioned cookies (CHIPS) still work, and the tool's
  state cookie is `Partitioned`, so the framed launch needs neither platform storage nor a window.
- No cookies in the frame at all (as Safari): the launch goes through the LMS's platform storage,
  and where the LMS offers none, the learner is offered a new window.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.lms import CHROMIUM, CHROMIUM_ARGS, SAFETY_NET_MS, TOOL_HOME, shot, wait_for_address

pytestmark = pytest.mark.browser


def chromium_profile(tmp_path: Path, preferences: dict[str, Any]) -> Path:
    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Preferences").write_text(json.dumps({"profile": preferences}))
    return profile


@pytest.fixture(params=["third-party-blocked", "no-cookies-for-the-tool"])
def blocked_context(request: pytest.FixtureRequest, browser: Any, site: Any, tmp_path: Path) -> Iterator[Any]:
    """A Chromium profile of its own that blocks cookies, launched by the session's Playwright (a
    second sync Playwright in the same thread is refused)."""
    if request.param == "third-party-blocked":
        # Chromium's own setting "Block third-party cookies" (chrome://settings/cookies).
        profile = chromium_profile(tmp_path, {"block_third_party_cookies": True, "cookie_controls_mode": 1})
    else:
        # The tool's site may use no cookies under the LMS's pages, partitioned or not (as Safari);
        # in a window of its own it keeps them.
        profile = chromium_profile(tmp_path, {"block_third_party_cookies": True, "cookie_controls_mode": 1,
                                              "content_settings": {"exceptions": {"cookies": {
                                                  f"{site.base_url},{site.lms_url}": {"setting": 2}}}}})
    context = browser.browser_type.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, locale="da-DK",
        viewport={"width": 1280, "height": 900})
    context.set_default_timeout(SAFETY_NET_MS)
    context.case = request.param
    yield context
    context.close()


def sign_in(context: Any, base: str, user: str) -> None:
    assert context.request.post(base + "/demo-lms/sign-in", form={"user_id": user}).ok


def test_cookieless_launch_through_platform_storage(site, blocked_context, fresh_learner):
    base = site.lms_url
    sign_in(blocked_context, base, fresh_learner)
    page = blocked_context.new_page()
    page.goto(f"{base}/demo-lms/courses/stor-kursus/open/rl-stor")
    frame = page.wait_for_selector("#tool-frame").content_frame()
    wait_for_address(frame, TOOL_HOME)

    assert "Nyankomne flygtninge og familiesammenførte" in frame.inner_text("main")
    # Really without cookies: the tool's frame holds none of its state cookies.
    assert not [c for c in blocked_context.cookies("http://127.0.0.1") if c["name"].startswith("lti1p3-")]
    shot(page, f"cookieless-platform-storage-{blocked_context.case}")


def test_without_platform_storage_partitioned_cookies_or_a_new_window(site, blocked_context, fresh_learner):
    base = site.lms_url
    sign_in(blocked_context, base, fresh_learner)
    page = blocked_context.new_page()
    page.goto(f"{base}/demo-lms/courses/stor-kursus/open/rl-stor?storage=0")
    frame = page.wait_for_selector("#tool-frame").content_frame()
    if blocked_context.case == "third-party-blocked":
        # The state cookie is Partitioned: kept in the frame under the LMS's site.
        wait_for_address(frame, TOOL_HOME)
        assert "Nyankomne flygtninge og familiesammenførte" in frame.inner_text("main")
        shot(page, "third-party-blocked-partitioned-cookie")
        return
    button = frame.get_by_role("link", name=re.compile("Åbn i et nyt vindue|Open in a new window"))
    button.wait_for()
    shot(page, "cookieless-new-window-offer")

    with blocked_context.expect_page() as popup_info:
        button.click()
    popup = popup_info.value
    wait_for_address(popup.main_frame, TOOL_HOME)
    assert "Nyankomne flygtninge og familiesammenførte" in popup.inner_text("main")
