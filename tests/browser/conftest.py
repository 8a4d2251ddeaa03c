"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, axe-core, screenshots.

Playwright never downloads a browser here: it drives /usr/bin/chromium (`make test` installs it
through the `browser-deps` target, which also installs axe-core from npm). Without Chromium the
browser tests are skipped; they run on the embedded backend only, to keep CI time down.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.lms import CHROMIUM, CHROMIUM_ARGS, SAFETY_NET_MS


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, once per session; `expect` waits as long as every other wait."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):  # CI must run them: a silent skip would hide a broken install step
            pytest.fail(f"{CHROMIUM} is not installed: `make browser-deps` should have installed it")
        pytest.skip(f"{CHROMIUM} is not installed (make browser-deps installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    sync_api.expect.set_options(timeout=SAFETY_NET_MS)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site(live: Any) -> Any:
    """The live tool and demo LMS; the browser tests run on the embedded backend only."""
    if live.backend != "embedded":
        pytest.skip("browser tests run on the embedded backend only")
    return live


@pytest.fixture
def context(browser: Any, site: Any) -> Iterator[Any]:
    """A fresh browser profile (own cookies) on a desktop-sized window, Danish like the demo users.

    The pages keep their real Content-Security-Policy (script-src 'self'): axe-core is injected
    through Playwright's evaluate, which CSP does not govern, instead of an inline <script>.
    """
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="da-DK")
    ctx.set_default_timeout(SAFETY_NET_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


@pytest.fixture
def another_learner(make_learner: Any) -> str:
    """A second learner no other test uses, beside `fresh_learner`."""
    return str(make_learner())
