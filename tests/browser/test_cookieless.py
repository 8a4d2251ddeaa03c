"""Launches when the browser blocks third-party cookies: platform storage, else a new window.

The LMS page is opened as http://localhost:… while the tool and the platform's OIDC endpoints
live on http://127.0.0.1:…, so the tool's frame is cross-site, as in a real LMS, and Chromium
runs with third-party cookies blocked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.lms import CHROMIUM, CHROMIUM_ARGS, TOOL_HOME, shot

pytestmark = pytest.mark.browser


@pytest.fixture
def blocked_context(site: Any, tmp_path: Path) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    # Chromium's own setting "Block third-party cookies" (chrome://settings/cookies).
    (profile / "Default" / "Preferences").write_text(json.dumps(
        {"profile": {"block_third_party_cookies": True, "cookie_controls_mode": 1}}))
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, locale="da-DK",
            viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        yield context
        context.close()


def lms_url(site: Any) -> str:
    return site.base_url.replace("127.0.0.1", "localhost")


def sign_in(context: Any, base: str, user: str) -> None:
    assert context.request.post(base + "/demo-lms/sign-in", form={"user_id": user}).ok


def test_cookieless_launch_through_platform_storage(site, blocked_context, fresh_learner):
    base = lms_url(site)
    sign_in(blocked_context, base, fresh_learner)
    page = blocked_context.new_page()
    page.goto(f"{base}/demo-lms/courses/stor-kursus/open/rl-stor")
    frame = page.wait_for_selector("#tool-frame").content_frame()
    frame.wait_for_url(TOOL_HOME)

    assert "Nyankomne flygtninge og familiesammenførte" in frame.inner_text("main")
    # Really without cookies: the tool's frame holds none of its state cookies.
    assert not [c for c in blocked_context.cookies("http://127.0.0.1") if c["name"].startswith("lti1p3-")]
    shot(page, "cookieless-platform-storage")


def test_without_platform_storage_the_learner_is_offered_a_new_window(site, blocked_context, fresh_learner):
    base = lms_url(site)
    sign_in(blocked_context, base, fresh_learner)
    page = blocked_context.new_page()
    page.goto(f"{base}/demo-lms/courses/stor-kursus/open/rl-stor?storage=0")
    frame = page.wait_for_selector("#tool-frame").content_frame()
    button = frame.get_by_role("link", name=re.compile("Åbn i et nyt vindue|Open in a new window"))
    button.wait_for()
    shot(page, "cookieless-new-window-offer")

    with blocked_context.expect_page() as popup_info:
        button.click()
    popup = popup_info.value
    popup.wait_for_url(TOOL_HOME)
    assert "Nyankomne flygtninge og familiesammenførte" in popup.inner_text("main")
