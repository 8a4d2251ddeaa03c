"""Reach: how many practitioners started and completed each module and programme, per platform
(usually one municipality) and per month, and how far the programme is from its target.

Read from the stored module statuses, which erasure keeps (anonymously), so the figures survive
a learner's erasure. Programme completion is decided by the same rules the learner's page uses;
its date is the moment the rules were first met, not the date of the last module taken.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.content.model import Catalog
from lti_tool.models import ModuleProgress, Platform, User
from lti_tool.progress import rules


@dataclass(frozen=True)
class ProgressRow:
    """One learner's status in one module, as stored."""

    platform_id: int
    user_id: int
    programme_id: str
    module_id: str
    status: str
    started_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class Unit:
    """A line of the report: a programme (module_id None) or one of its modules."""

    programme_id: str
    module_id: str | None
    title: str

    @property
    def key(self) -> str:
        """The unit's key in the counts: the module id, or "programme:" and the programme id."""
        return self.module_id or "programme:" + self.programme_id


@dataclass(frozen=True)
class Event:
    """One learner starting (and perhaps completing) one unit."""

    platform_id: int
    user_id: int
    unit_key: str
    started_at: datetime
    completed_at: datetime | None


@dataclass
class Counts:
    """How many learners started, and completed, a unit."""

    started: int = 0
    completed: int = 0


@dataclass(frozen=True)
class MonthBar:
    """Per month: learners who started their first module, and who completed their first one."""

    month: str
    started: int
    completed: int


@dataclass(frozen=True)
class ReachReport:
    """The reach figures per platform, unit and month, and the progress toward the target."""

    units: list[Unit]
    platforms: list[tuple[int, str]]
    by_platform: dict[tuple[int, str], Counts]
    totals: dict[str, Counts]
    by_month: dict[tuple[int, str, str], Counts]
    months: list[MonthBar]
    reached: int
    reached_by_platform: dict[int, int]
    target: int
    platform_id: int | None = None

    @property
    def percent_of_target(self) -> int:
        """The share of the target reached, in whole per cent, at most 100 (100 without a target)."""
        return min(100, round(100 * self.reached / self.target)) if self.target else 100

    @property
    def chart_max(self) -> int:
        """The height of the monthly chart's scale: its largest bar, at least 1."""
        return max([1, *(max(m.started, m.completed) for m in self.months)])

    @property
    def shown_platforms(self) -> list[tuple[int, str]]:
        """The platforms in the report: all, or the one chosen."""
        return [p for p in self.platforms if self.platform_id is None or p[0] == self.platform_id]

    def counts(self, platform_id: int, unit: Unit) -> Counts:
        """The counts of `unit` on the platform `platform_id`, zero where nobody started it."""
        return self.by_platform.get((platform_id, unit.key), Counts())


# --- pure rules --------------------------------------------------------------------------------

def units_of(catalog: Catalog, locale: str) -> list[Unit]:
    """Each programme followed by its modules, in the catalogue's order."""
    units = []
    for programme in catalog.programmes.values():
        units.append(Unit(programme.id, None, programme.title_in(locale)))
        units += [Unit(programme.id, m.id, m.title) for m in programme.modules]
    return units


def _programme_completed_at(catalog: Catalog, programme_id: str,
                            rows: Sequence[ProgressRow]) -> datetime | None:
    """The first moment the programme's rules were met by the modules completed so far."""
    programme = catalog.programmes.get(programme_id)
    if programme is None:
        return None
    done: dict[str, str] = {}
    completed = sorted((r for r in rows if r.status == rules.ModuleState.COMPLETED and r.completed_at),
                       key=lambda r: r.completed_at)  # type: ignore[arg-type, return-value]
    for row in completed:
        done[row.module_id] = rules.ModuleState.COMPLETED
        if rules.programme_status(programme, done).completed:
            return row.completed_at
    return None


def events(catalog: Catalog, rows: Iterable[ProgressRow]) -> list[Event]:
    """Module events as stored, plus one programme event per learner who started a programme."""
    result = []
    by_programme: dict[tuple[int, int, str], list[ProgressRow]] = defaultdict(list)
    for row in rows:
        if row.status == rules.ModuleState.NOT_STARTED:
            continue
        completed = row.completed_at if row.status == rules.ModuleState.COMPLETED else None
        result.append(Event(row.platform_id, row.user_id, row.module_id, row.started_at, completed))
        by_programme[(row.platform_id, row.user_id, row.programme_id)].append(row)
    for (platform_id, user_id, programme_id), group in by_programme.items():
        if programme_id not in catalog.programmes:
            continue  # a programme taken out of the content: its modules still count
        started = min(r.started_at for r in group)
        completed = _programme_completed_at(catalog, programme_id, group)
        result.append(Event(platform_id, user_id, "programme:" + programme_id, started, completed))
    return result


def _month(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m")


def _month_range(first: str, last: str) -> list[str]:
    year, month = (int(x) for x in first.split("-"))
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def build_report(catalog: Catalog, rows: Sequence[ProgressRow], platforms: list[tuple[int, str]], *,
                 target: int, timezone: str, locale: str, platform_id: int | None = None,
                 chart_months: int = 24) -> ReachReport:
    """Count learners per platform and unit, per month, and toward the target."""
    zone = ZoneInfo(timezone)
    by_platform: dict[tuple[int, str], Counts] = defaultdict(Counts)
    totals: dict[str, Counts] = defaultdict(Counts)
    by_month: dict[tuple[int, str, str], Counts] = defaultdict(Counts)
    for event in events(catalog, rows):
        where = (event.platform_id, event.unit_key)
        by_platform[where].started += 1
        totals[event.unit_key].started += 1
        by_month[(*where, _month(event.started_at, zone))].started += 1
        if event.completed_at is not None:
            by_platform[where].completed += 1
            totals[event.unit_key].completed += 1
            by_month[(*where, _month(event.completed_at, zone))].completed += 1
    # A practitioner is reached when they complete a module; counted once, in the first month.
    first_start: dict[int, datetime] = {}
    first_done: dict[int, datetime] = {}
    platform_of = {row.user_id: row.platform_id for row in rows}
    for row in rows:
        if row.status == rules.ModuleState.NOT_STARTED:
            continue
        first_start[row.user_id] = min(row.started_at, first_start.get(row.user_id, row.started_at))
        if row.status == rules.ModuleState.COMPLETED and row.completed_at:
            done = row.completed_at
            first_done[row.user_id] = min(done, first_done.get(row.user_id, done))
    started_per_month = Counter(_month(t, zone) for t in first_start.values())
    done_per_month = Counter(_month(t, zone) for t in first_done.values())
    all_months = sorted(set(started_per_month) | set(done_per_month))
    months = _month_range(all_months[0], all_months[-1])[-chart_months:] if all_months else []
    known_units = units_of(catalog, locale)
    known = {u.key for u in known_units}
    # Modules removed from the content since keep their figures, under their id.
    extra_units = [Unit("", key, key) for key in sorted(totals) if key not in known]
    return ReachReport(
        units=known_units + extra_units,
        platforms=platforms,
        by_platform=dict(by_platform),
        totals=dict(totals),
        by_month=dict(by_month),
        months=[MonthBar(m, started_per_month[m], done_per_month[m]) for m in months],
        reached=len(first_done),
        reached_by_platform=dict(Counter(platform_of[u] for u in first_done)),
        target=target,
        platform_id=platform_id,
    )


# --- persistence and export ----------------------------------------------------------------------

def progress_rows(session: Session, platform_id: int | None = None) -> list[ProgressRow]:
    """The stored module statuses, with each learner's platform, of all platforms or one."""
    query = select(User.platform_id, ModuleProgress.user_id, ModuleProgress.programme_id,
                   ModuleProgress.module_id, ModuleProgress.status, ModuleProgress.started_at,
                   ModuleProgress.completed_at).join(User, User.id == ModuleProgress.user_id)
    if platform_id is not None:
        query = query.where(User.platform_id == platform_id)
    return [ProgressRow(*row) for row in session.execute(query)]


def reach_report(session: Session, catalog: Catalog, *, target: int, timezone: str, locale: str,
                 platform_id: int | None = None) -> ReachReport:
    """The reach report over all platforms, or one."""
    platforms = [(p.id, p.name) for p in session.scalars(select(Platform).order_by(Platform.name))]
    return build_report(catalog, progress_rows(session, platform_id), platforms, target=target,
                        timezone=timezone, locale=locale, platform_id=platform_id)


CSV_LABELS = {
    "platform": _l("Platform"),
    "programme": _l("Programme"),
    "module": _l("Module"),
    "month": _l("Month"),
    "started": _l("Learners started"),
    "completed": _l("Learners completed"),
}


def to_csv(report: ReachReport) -> str:
    """One line per platform, unit and month: a shape spreadsheets pivot easily.

    UTF-8 with a BOM and semicolons, so Danish and Swedish Excel open it as columns."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";")
    writer.writerow([str(CSV_LABELS[k]) for k in ("platform", "programme", "module", "month",
                                                   "started", "completed")])
    programmes = {u.programme_id: u.title for u in report.units if u.module_id is None}
    months = sorted({m for (_, _, m) in report.by_month})
    for platform_id, platform_name in report.shown_platforms:
        for unit in report.units:
            for month in months:
                counts = report.by_month.get((platform_id, unit.key, month))
                if counts is None:
                    continue
                module = unit.title if unit.module_id else ""
                programme = programmes.get(unit.programme_id, "")
                writer.writerow([platform_name, programme, module, month, counts.started,
                                 counts.completed])
    return out.getvalue()
