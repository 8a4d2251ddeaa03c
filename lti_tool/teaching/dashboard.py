"""The instructor's view of a course: every enrolled member joined with their progress.

The roster is the course's last snapshot from NRPS (lti_tool.teaching.roster: kept in the database and
refreshed by the grade worker, never inside a request), joined with everyone the tool knows from
launches in the course since that snapshot; members who never opened the tool appear as not
started. Progress is read in a constant number of queries, whatever the class size.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lti_tool.content.model import Module
from lti_tool.lti.roles import Role, effective_role
from lti_tool.models import LaunchRecord, ModuleProgress, Submission, User
from lti_tool.progress import rules
from lti_tool.progress.learning import STATE_LABELS
from lti_tool.teaching.roster import RosterStatus
from lti_tool.text import storable_text

log = logging.getLogger(__name__)
STATE_ORDER: list[str] = list(rules.ModuleState)  # in the order the enum lists them


@dataclass(frozen=True)
class Member:
    """One person in the course, from the LMS roster or from their own launches."""

    sub: str
    name: str | None
    email: str | None
    role: Role
    user_id: int | None  # None: never opened the tool


@dataclass(frozen=True)
class Cell:
    """One member's state in one module, with the score in percent and when it last changed."""

    state: str
    percent: int | None
    last_activity: datetime | None

    @property
    def label(self) -> str:
        """The state in the page's language."""
        return str(STATE_LABELS[self.state])

    @property
    def provisional(self) -> bool:
        """The percentage may still change: a reflection in the module waits for grading."""
        return self.percent is not None and self.state == rules.ModuleState.PENDING


@dataclass(frozen=True)
class Row:
    """One member and their cell per module id."""

    member: Member
    cells: dict[str, Cell]


@dataclass(frozen=True)
class ChartBar:
    """How many learners are in each state of one module (instructors are not counted)."""

    module: Module
    counts: dict[str, int]

    @property
    def total(self) -> int:
        """The learners counted in this bar."""
        return sum(self.counts.values())

    def share(self, state: str) -> float:
        """The fraction (0–1) of the bar's learners in `state`; 0 when it has none."""
        return self.counts.get(state, 0) / self.total if self.total else 0.0


@dataclass(frozen=True)
class Dashboard:
    """The instructor's overview of a course: a row per member, a bar per module, and the roster state."""

    modules: tuple[Module, ...]
    rows: list[Row]
    chart: list[ChartBar]
    # The course roster's snapshot and its state; None: the platform offers no roster service.
    roster: RosterStatus | None
    pending_grading: int

    @property
    def from_roster(self) -> bool:
        """The list includes the LMS's roster (not only those who have opened the tool)."""
        return self.roster is not None and self.roster.members is not None


def _shown(value: Any) -> str | None:
    """A roster name or e-mail as the page shows it: text a page can carry, else nothing."""
    return str(value) if value and storable_text(str(value)) else None


def _members_from_roster(roster: list[dict[str, Any]]) -> list[Member]:
    members = []
    for entry in roster:
        if entry.get("status", "Active") != "Active" or not entry.get("user_id"):
            continue
        user_id = str(entry["user_id"])
        if not storable_text(user_id):  # a NUL breaks the query on PostgreSQL: no learner has one
            continue
        name = entry.get("name") or " ".join(str(p) for p in (entry.get("given_name"), entry.get("family_name")) if p)
        email = entry.get("email")
        members.append(Member(user_id, _shown(name), _shown(email), effective_role(entry.get("roles") or []), None))
    return members


def _launchers(session: Session, context_pk: int | None) -> dict[str, tuple[Member, datetime]]:
    """Everyone who has launched the tool in this course, with their latest launch's role and time."""
    launched = session.execute(
        select(User.id, User.sub, User.name, User.email, LaunchRecord.roles, LaunchRecord.created_at)
        .join(LaunchRecord, LaunchRecord.user_id == User.id)
        .where(LaunchRecord.context_id == context_pk).order_by(LaunchRecord.created_at))
    return {row.sub: (Member(row.sub, row.name, row.email, effective_role(row.roles), row.id), row.created_at)
            for row in launched}


def _members(session: Session, context_pk: int | None, roster: RosterStatus | None) -> list[Member]:
    """The roster's members, and everyone who launched the tool here since it was read.

    A launch after the snapshot means the LMS let that person in after it was taken (enrolled
    since): they show at once, without waiting for a refresh. Someone the snapshot leaves out
    who last launched before it has left the course."""
    launchers = _launchers(session, context_pk)
    if roster is None or roster.members is None:
        return [member for member, _ in launchers.values()]
    members = _members_from_roster(roster.members)
    listed = {m.sub for m in members}
    since = roster.refreshed_at
    members += [member for sub, (member, launched_at) in launchers.items()
                if sub not in listed and (since is None or launched_at > since)]
    return members


def build(session: Session, *, platform_id: int, context_pk: int | None, modules: tuple[Module, ...],
          roster: RosterStatus | None) -> Dashboard:
    """Everyone in the course with their status per module (four queries)."""
    members = _members(session, context_pk, roster)
    subs = [m.sub for m in members]
    # Performance: only the columns shown, as plain rows; loading thousands of full ORM objects
    # cost more than the rest of the page.
    users = {u.sub: u for u in session.execute(
        select(User.id, User.sub, User.name, User.email).where(User.platform_id == platform_id, User.sub.in_(subs)))}
    user_ids = [u.id for u in users.values()]
    module_ids = [m.id for m in modules]
    progress: dict[tuple[int, str], Any] = {
        (p.user_id, p.module_id): p
        for p in session.execute(
            select(ModuleProgress.user_id, ModuleProgress.module_id, ModuleProgress.status, ModuleProgress.points,
                   ModuleProgress.max_points, ModuleProgress.updated_at)
            .where(ModuleProgress.user_id.in_(user_ids), ModuleProgress.module_id.in_(module_ids)))
    } if user_ids else {}
    pending_count = int(session.scalar(select(func.count()).select_from(Submission).where(
        Submission.user_id.in_(user_ids), Submission.module_id.in_(module_ids),
        Submission.status == rules.SubmissionStatus.PENDING)) or 0) if user_ids else 0
    rows = []
    counts = {m.id: dict.fromkeys(STATE_ORDER, 0) for m in modules}
    not_started = Cell(rules.ModuleState.NOT_STARTED, None, None)  # immutable: shared
    for listed in members:
        user = users.get(listed.sub)
        member = Member(listed.sub, listed.name or (user.name if user else None),
                        listed.email or (user.email if user else None), listed.role, user.id if user else None)
        cells = {}
        for module in modules:
            row = progress.get((user.id, module.id)) if user else None
            if row is None:
                cell = not_started
            else:
                percent = round(100 * row.points / row.max_points) if row.max_points else None
                cell = Cell(row.status, percent, row.updated_at)
            cells[module.id] = cell
            if member.role == Role.LEARNER:
                counts[module.id][cell.state] += 1
        rows.append(Row(member, cells))
    chart = [ChartBar(m, counts[m.id]) for m in modules]
    return Dashboard(modules, rows, chart, roster, pending_count)


def filtered(dashboard: Dashboard, *, role: str, status: str, module_id: str, sort: str, descending: bool) -> list[Row]:
    """The rows whose member has `role` ("all": any) and whose cell in the module has `status` (any
    value not a state: all), sorted by `sort`; an unknown module means the first, an unknown sort the name."""
    module = module_id if any(m.id == module_id for m in dashboard.modules) else dashboard.modules[0].id
    rows = [r for r in dashboard.rows if role == "all" or r.member.role.value == role]
    if status in STATE_ORDER:
        rows = [r for r in rows if r.cells[module].state == status]
    keys: dict[str, Callable[[Row], Any]] = {
        "name": lambda r: (r.member.name or r.member.sub).casefold(),
        "status": lambda r: STATE_ORDER.index(r.cells[module].state),
        "score": lambda r: r.cells[module].percent if r.cells[module].percent is not None else -1,
        "last": lambda r: _timestamp(r.cells[module].last_activity),
    }
    return sorted(rows, key=keys.get(sort, keys["name"]), reverse=descending)


PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """One page of the filtered roster: the table shows `rows`, the counts speak of all `total`."""

    rows: list[Row]
    number: int  # from 1
    count: int  # pages in all; at least 1, so an empty list is "page 1 of 1"
    total: int  # rows matching the filters, on every page

    @property
    def previous(self) -> int | None:
        """The page before this one; None on the first."""
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        """The page after this one; None on the last."""
        return self.number + 1 if self.number < self.count else None


def page_of(rows: list[Row], number: int, size: int = PAGE_SIZE) -> Page:
    """Page `number` of `rows`; a number outside 1..last shows the nearest page that exists (a link
    kept from before the list shrank still lands on rows, not on an empty table)."""
    count = max(1, -(-len(rows) // size))
    number = min(max(number, 1), count)
    start = (number - 1) * size
    return Page(rows[start:start + size], number, count, len(rows))


def _timestamp(moment: datetime | None) -> float:
    return moment.timestamp() if moment else 0.0


CSV_LABELS = {
    "name": _l("Name"), "email": _l("Email"), "role": _l("Role"), "status": _l("Status"),
    "score": _l("Score (%)"), "last": _l("Last activity"),
}
ROLE_LABELS = {Role.LEARNER: _l("Learner"), Role.INSTRUCTOR: _l("Instructor")}


# A cell starting with one of these is a formula to Excel and LibreOffice (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """The cell as text, never as a formula: names and e-mails come from the LMS, not from us."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def to_csv(dashboard: Dashboard, rows: list[Row], *, delimiter: str) -> str:
    """UTF-8 with a BOM so Excel opens it; column names in the interface language; no formulas."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=delimiter)
    header = [str(CSV_LABELS["name"]), str(CSV_LABELS["email"]), str(CSV_LABELS["role"])]
    for module in dashboard.modules:
        header += [f"{module.title}: {CSV_LABELS['status']}", f"{module.title}: {CSV_LABELS['score']}",
                   f"{module.title}: {CSV_LABELS['last']}"]
    writer.writerow([spreadsheet_safe(cell) for cell in header])
    labels = {state: str(STATE_LABELS[state]) for state in STATE_ORDER}  # once per file, not per cell
    for row in rows:
        line = [row.member.name or row.member.sub, row.member.email or "", str(ROLE_LABELS[row.member.role])]
        for module in dashboard.modules:
            cell = row.cells[module.id]
            line += [labels.get(cell.state, cell.label), "" if cell.percent is None else str(cell.percent),
                     cell.last_activity.strftime("%Y-%m-%d %H:%M") if cell.last_activity else ""]
        writer.writerow([spreadsheet_safe(cell) for cell in line])
    return out.getvalue()
