"""The demo LMS under test, seen from a test running in the tool's app context: its database (to
check what reached its gradebook) and its store (its outage switches). The LMS is an app of its own
on another site; these reach into it only to observe it, as a person would look at its pages."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app
from sqlalchemy.orm import scoped_session

from lti_tool.demo_lms.database import lms_db
from lti_tool.store import KeyValueStore

LMS_APP = "demo_lms_under_test"  # the tool app's extensions entry the live fixture fills in


def lms_app() -> Flask:
    """The live demo LMS beside the current tool app."""
    app: Flask = current_app.extensions[LMS_APP]
    return app


@contextmanager
def lms() -> Iterator[scoped_session[Any]]:
    """The demo LMS's database session, fresh for each block."""
    with lms_app().app_context():
        yield lms_db.session


def lms_store() -> KeyValueStore:
    """The demo LMS's own store: its outage and line-item container switches live there."""
    store: KeyValueStore = lms_app().extensions["demo_lms"].store
    return store


def registration_start(tools_page: str) -> str:
    """The address the demo LMS's admin page opens in its registration iframe (as Moodle does)."""
    match = re.search(r'<iframe id="registration-frame"[^>]* src="([^"]+)"', tools_page)
    assert match, "no registration frame on the LMS's tools page"
    return html.unescape(match.group(1))


def activate_in_lms(admin: Any, client_id: str) -> None:
    """The LMS administrator activates the pending tool (Moodle lists it as pending until then)."""
    page = admin.get("/demo-lms/admin/tools").text
    row = re.search(rf'<tr data-client-id="{re.escape(client_id)}">.*?</tr>', page, re.S)
    assert row, f"{client_id} is not on the LMS's tools page"
    action = re.search(r'<form method="post" action="([^"]+)"', row.group(0))
    assert action, f"{client_id} is not pending in the LMS"
    assert admin.post(html.unescape(action.group(1)), {}).ok


def lms_command(*args: str) -> Any:
    """Run a `flask --app lti_tool.demo_lms.app lms …` command of the live demo LMS."""
    app = lms_app()
    with app.app_context():  # the CLI runs in the current app's context: make it the LMS's
        return app.test_cli_runner().invoke(args=list(args))
