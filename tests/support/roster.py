"""The grade worker's roster refresh, run by tests where the worker thread is off (TestConfig)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests

from lti_tool.extensions import db
from lti_tool.models import utcnow
from lti_tool.runtime import runtime
from lti_tool.teaching.roster import RefreshReport, refresh_due_rosters
from tests.support.agent import Agent
from tests.support.external_platform import ExternalPlatform


def refresh_rosters(now: Callable[[], datetime] = utcnow) -> RefreshReport:
    """Read every roster someone asked for, as the worker's rounds would (inside an app context)."""
    db.session.rollback()
    total = RefreshReport()
    for _ in range(20):
        report = refresh_due_rosters(db.session, lambda platform: runtime().service_client(db.session, platform),
                                     now=now, limit=50)
        total.refreshed += report.refreshed
        total.failed += report.failed
        total.errors += report.errors
        if not report.refreshed and not report.failed:
            break
    return total


def with_roster(agent: Agent, board: requests.Response) -> requests.Response:
    """The dashboard `board` again, after the teacher pressed "Refresh roster" and the worker read
    it: the roster as the LMS has it now, whatever other tests erased or read before."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', board.text)
    assert token, "no form on the dashboard"
    agent.http.post(board.url + "roster/refresh", data={"csrf_token": token.group(1)}, timeout=30)
    refresh_rosters()
    return agent.get(board.url)


class RosterPlatform(ExternalPlatform):
    """An external platform whose roster endpoint (NRPS) a test can freeze, counting the reads.

    Frozen, it holds every roster request until thawed (or for a minute, a safety net far past
    the tool's timeout); the tool's own timeout ends the wait on its side."""

    def __init__(self) -> None:
        super().__init__()
        self.roster_calls = 0
        self.broken = False  # answers 503 at once (an LMS that is down rather than hanging)
        self._thawed = threading.Event()
        self._thawed.set()

    def freeze(self) -> None:
        self._thawed.clear()

    def thaw(self) -> None:
        self._thawed.set()

    def memberships(self, authorization: str, path: str) -> tuple[int, dict[str, Any], str | None]:
        if "page=" not in path:  # a read of the roster starts on its first page
            self.roster_calls += 1
        if self.broken:
            return 503, {"error": "unavailable"}, None
        if not self._thawed.wait(60):
            return 504, {"error": "frozen"}, None
        return super().memberships(authorization, path)

    def close(self) -> None:
        self.thaw()
        super().close()
