"""The grade worker's roster refresh, run by tests where the worker thread is off (TestConfig)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import requests

from lti_tool.extensions import db
from lti_tool.models import utcnow
from lti_tool.runtime import runtime
from lti_tool.teaching.roster import RefreshReport, refresh_due_rosters
from tests.support.agent import Agent


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
    """The dashboard `board` again, after the worker has read the rosters its first view asked for."""
    refresh_rosters()
    return agent.get(board.url)
