"""Reach figures from stored module statuses: months, programme completion dates, the target."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask_babel import Babel

from lti_tool.content.loader import load_catalog
from lti_tool.operating.reach import ProgressRow, build_report, to_csv

CATALOG = load_catalog("content")
DK = "efteruddannelse-integration"


def row(user: int, module: str, status: str, started: datetime, completed: datetime | None = None,
        platform: int = 1) -> ProgressRow:
    return ProgressRow(platform, user, DK, module, status, started, completed)


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def report(rows, **options):
    return build_report(CATALOG, rows, [(1, "Vejle"), (2, "Malmö")], target=800,
                        timezone="Europe/Copenhagen", locale="da", **options)


def test_months_are_local_time():
    # 23:30 UTC on 31 January is already February in Copenhagen.
    result = report([row(1, "nyankomne", "completed", at(1, 31, 10), at(1, 31, 23))])
    months = [(m.month, m.started, m.completed) for m in result.months]
    assert months == [("2026-01", 1, 0), ("2026-02", 0, 1)]


def test_programme_completes_when_the_rules_are_first_met():
    rows = [row(1, "nyankomne", "completed", at(1, 5), at(1, 6)),
            row(1, "tvaerfagligt-samarbejde", "completed", at(1, 7), at(2, 1)),
            row(1, "unge", "completed", at(2, 2), at(3, 1)),
            row(1, "beskaeftigelse", "completed", at(3, 2), at(4, 1)),
            row(1, "familier-og-boern", "completed", at(4, 2), at(6, 1))]  # one elective more
    result = report(rows)
    assert result.by_month[(1, "programme:" + DK, "2026-04")].completed == 1
    assert result.totals["programme:" + DK].completed == 1
    assert result.totals["nyankomne"].completed == 1


def test_reach_counts_people_with_a_completed_module_once():
    rows = [row(1, "nyankomne", "completed", at(1, 5), at(1, 6)),
            row(1, "unge", "completed", at(2, 5), at(2, 6)),
            row(2, "nyankomne", "in_progress", at(1, 5)),
            row(3, "nyankomne", "completed", at(3, 5), at(3, 6), platform=2),
            row(4, "nyankomne", "not_started", at(3, 5))]
    result = report(rows)
    assert result.reached == 2
    assert result.reached_by_platform == {1: 1, 2: 1}
    assert result.percent_of_target == 0
    assert [m.month for m in result.months] == ["2026-01", "2026-02", "2026-03"]
    assert result.totals["nyankomne"].started == 3  # the not-started row is no start
    programme = next(u for u in result.units if u.key == "programme:" + DK)
    assert (result.counts(1, programme).started, result.counts(2, programme).started) == (2, 1)


def test_a_module_removed_from_the_content_still_counts():
    result = report([row(1, "old-module", "completed", at(1, 5), at(1, 6))])
    assert result.units[-1].key == "old-module"
    assert result.totals["old-module"].completed == 1


def test_csv_is_one_line_per_platform_unit_and_month():
    rows = [row(1, "nyankomne", "completed", at(1, 5), at(1, 6)),
            row(3, "nyankomne", "completed", at(1, 5), at(1, 6), platform=2)]
    result = report(rows, platform_id=1)
    flask_app = Flask(__name__)
    Babel(flask_app)
    with flask_app.test_request_context():
        lines = to_csv(result).splitlines()
    module = "Nyankomne flygtninge og familiesammenførte"
    assert lines == ["\ufeffPlatform;Programme;Module;Month;Learners started;Learners completed",
                     "Vejle;Efteruddannelse i integration;;2026-01;1;0",
                     f"Vejle;Efteruddannelse i integration;{module};2026-01;1;1"]
