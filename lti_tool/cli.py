"""`flask …` commands, grouped by noun. Each calls a service; the docstring is the help text."""

from __future__ import annotations

import contextlib
import shutil
import signal
import threading
from datetime import date, timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from lti_tool.content.downloads import DownloadError, build_all
from lti_tool.content.lints import pack_findings
from lti_tool.content.loader import load_catalog
from lti_tool.credentials import cli as credentials_cli
from lti_tool.extensions import db
from lti_tool.grading.delivery import DeliveryReport, outbox_status, retry_parked, run_rounds
from lti_tool.lti import keys as tool_keys
from lti_tool.lti.tool_info import ToolInfo
from lti_tool.models import PlatformStatus, utcnow
from lti_tool.operating import cli as operating_cli
from lti_tool.operating.platforms import PlatformError, add_platform, list_platforms, remove_platform
from lti_tool.progress.service import find_certificate
from lti_tool.runtime import delivery_round

keys_cli = AppGroup("keys", help="The tool's signing keys.")
content_cli = AppGroup("content", help="Course content packs.")
certificates_cli = AppGroup("certificates", help="Course certificates.")
grades_cli = AppGroup("grades", help="Delivery of scores to the platforms' gradebooks.")
platforms_cli = AppGroup("platforms", help="Platforms (LMS installations) registered with the tool.")


@keys_cli.command("generate")
@click.option("--if-missing", is_flag=True, help="Do nothing when a current key exists.")
def keys_generate(if_missing: bool) -> None:
    """Create a signing key and make it current."""
    if if_missing:  # the same as `flask keys ensure`, kept for existing scripts
        key, made = tool_keys.ensure_key(db.session(), current_app.config["SECRET_KEY"])
        click.echo(f"Generated key {key.kid}" if made else f"Current key exists: {key.kid}")
        return
    key = tool_keys.generate_key(db.session(), current_app.config["SECRET_KEY"])
    click.echo(f"Generated key {key.kid}")


@keys_cli.command("ensure")
def keys_ensure() -> None:
    """Make sure a current signing key exists; run at every deployment (safe to run at once on
    several instances: one key results)."""
    key, made = tool_keys.ensure_key(db.session(), current_app.config["SECRET_KEY"])
    click.echo(f"Generated key {key.kid}" if made else f"Current key exists: {key.kid}")


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Make a new key current; the old one stays in the JWKS for the grace period."""
    key = tool_keys.generate_key(db.session(), current_app.config["SECRET_KEY"])
    grace = timedelta(seconds=current_app.config["TOOL_KEY_GRACE"])
    click.echo(f"New current key {key.kid}; the previous key stays published for {grace}.")


@keys_cli.command("list")
def keys_list() -> None:
    """List keys: current, retired and still published, or retired and withdrawn."""
    grace = timedelta(seconds=current_app.config["TOOL_KEY_GRACE"])
    now = utcnow()
    for key in tool_keys.list_keys(db.session()):
        if key.retired_at is None:
            state = "current"
        elif key.retired_at > now - grace:
            state = f"retired {key.retired_at:%Y-%m-%d %H:%M}, still published"
        else:
            state = f"retired {key.retired_at:%Y-%m-%d %H:%M}, withdrawn"
        click.echo(f"{key.kid}  created {key.created_at:%Y-%m-%d %H:%M}  {state}")


@platforms_cli.command("add")
@click.option("--issuer", required=True, help="The platform's issuer (iss).")
@click.option("--client-id", required=True, help="The client ID the platform gave the tool.")
@click.option("--auth-login-url", required=True, help="The platform's OIDC authorization URL.")
@click.option("--auth-token-url", required=True, help="The platform's OAuth2 token URL.")
@click.option("--key-set-url", required=True, help="The platform's public keyset (JWKS) URL.")
@click.option("--deployment-id", "deployment_ids", multiple=True, required=True, help="Repeatable.")
@click.option("--name", help="A name for the operator, e.g. the municipality.")
@click.option("--audience", help="Token audience, if the platform wants other than the token URL.")
@click.option("--pending", is_flag=True, help="Register as pending, to be approved later.")
def platforms_add(**options: object) -> None:
    """Register a platform by hand, or add deployments to one already registered."""
    try:
        platform = add_platform(
            db.session(),
            issuer=str(options["issuer"]),
            client_id=str(options["client_id"]),
            auth_login_url=str(options["auth_login_url"]),
            auth_token_url=str(options["auth_token_url"]),
            key_set_url=str(options["key_set_url"]),
            deployment_ids=[str(d) for d in options["deployment_ids"]],  # type: ignore[attr-defined]
            name=str(options["name"]) if options["name"] else None,
            auth_audience=str(options["audience"]) if options["audience"] else None,
            status=PlatformStatus.PENDING if options["pending"] else PlatformStatus.ACTIVE,
        )
    except PlatformError as exc:
        raise click.UsageError(str(exc)) from exc
    deployments = ", ".join(d.deployment_id for d in platform.deployments)
    click.echo(f"Platform {platform.id} ({platform.name}) {platform.status}: deployments {deployments}")


@platforms_cli.command("list")
def platforms_list() -> None:
    """List registered platforms and their deployments."""
    platforms = list_platforms(db.session())
    if not platforms:
        click.echo("No platforms registered.")
    for p in platforms:
        deployments = ", ".join(d.deployment_id for d in p.deployments) or "-"
        click.echo(f"{p.id}\t{p.status}\t{p.name}\t{p.issuer}\tclient_id={p.client_id}\tdeployments={deployments}")


@platforms_cli.command("remove")
@click.argument("platform_id", type=int)
def platforms_remove(platform_id: int) -> None:
    """Remove a platform, its deployments and everything launched through it."""
    if not remove_platform(db.session(), platform_id):
        raise click.UsageError(f"No platform with id {platform_id}.")
    click.echo(f"Removed platform {platform_id}.")


@click.command("tool-info")
@with_appcontext
def tool_info() -> None:
    """Print every URL and value an LMS administrator pastes when registering the tool."""
    info = ToolInfo(str(current_app.config["TOOL_BASE_URL"]).rstrip("/"))
    width = max(len(label) for label, _ in info.rows())
    for label, value in info.rows():
        click.echo(f"{label.ljust(width)}  {value}")


@content_cli.command("downloads")
@click.option("--dir", "folder", type=click.Path(file_okay=False), help="Another content folder to build.")
@click.option("--chromium", default=lambda: shutil.which("chromium") or "/usr/bin/chromium", show_default="chromium",
              help="The Chromium that prints the tagged PDFs.")
def content_downloads(folder: str | None, chromium: str) -> None:
    """Build every pack's templates (downloads/*.md) into an editable ODT and a tagged PDF each,
    in the module's media/downloads folder."""
    try:
        written = build_all(folder or current_app.config["CONTENT_DIR"], chromium)
    except DownloadError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Built {len(written)} files from {len(written) // 2} templates.")


@content_cli.command("check")
@click.option("--dir", "folder", type=click.Path(file_okay=False), help="Another content folder to check.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Check the rule claims as of this date (YYYY-MM-DD) instead of today.")
def content_check(folder: str | None, today: object | None) -> None:
    """Validate every content pack; names the file, line and field of each problem.

    Then lints each valid pack: quizzes whose right answer can be guessed by its length, options
    without feedback, and prose that Markdown turns into a list (a line beginning "1. december"
    inside a sentence) fail the check; rule claims checked longer ago than
    CONTENT_CLAIM_MAX_AGE_DAYS, or adopted/proposed with a date that has passed, are warnings."""
    catalog = load_catalog(folder or current_app.config["CONTENT_DIR"])
    as_of = today.date() if today is not None else date.today()  # type: ignore[attr-defined]
    max_age = int(current_app.config["CONTENT_CLAIM_MAX_AGE_DAYS"])
    failed: list[str] = []
    for programme in catalog.programmes.values():
        exercises = sum(1 for m in programme.modules for a in m.activities if a.is_exercise)
        findings = pack_findings(programme, as_of, max_age)
        fails = [f for f in findings if f.fails]
        state = "FAIL  " if fails else "ok  "
        click.echo(f"{state}{programme.id}: {len(programme.modules)} modules, {exercises} exercises, "
                   f"{len(programme.rules)} rule claims")
        for finding in findings:
            click.echo(f"{'ERROR' if finding.fails else 'WARNING'}  {finding}", err=True)
        if fails:
            failed.append(programme.id)
    for problem in catalog.problems:
        click.echo(f"ERROR  {problem}", err=True)
    if catalog.problems or not catalog.programmes:
        left_out = ", ".join(catalog.rejected) or "-"
        raise click.ClickException(f"{len(catalog.problems)} problem(s); packs left out: {left_out}")
    if failed:
        raise click.ClickException(f"packs failing the lints: {', '.join(failed)}")


@certificates_cli.command("verify")
@click.argument("code")
def certificates_verify(code: str) -> None:
    """Look up a certificate by its verification code."""
    certificate = find_certificate(db.session(), code)
    if certificate is None:
        raise click.ClickException(f"No certificate with code {code}.")
    click.echo(f"{certificate.code}: {certificate.holder_name or '(name not shared)'} completed "
               f"{certificate.programme_title} on {certificate.issued_at:%Y-%m-%d} "
               f"({', '.join(certificate.modules)})")


@grades_cli.command("worker")
@click.option("--batch", default=50, show_default=True, help="Scores claimed per round.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds to wait when nothing is due.")
@click.option("--once", is_flag=True, help="Run one round and stop (for cron and tests).")
def grades_worker(batch: int, interval: float, once: bool) -> None:
    """Deliver queued scores until stopped (SIGTERM/Ctrl-C). Run as many as you like."""
    def echo(report: DeliveryReport) -> None:
        if report.handled:
            click.echo(f"delivered {report.delivered}, retry later {report.retried}, parked {report.parked}, "
                       f"superseded {report.superseded}, taken over {report.lost}")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # An unreachable database or Redis, or no signing key yet: logged once, retried with
    # back-off (see run_rounds); the worker does not exit.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with contextlib.suppress(KeyboardInterrupt):
        run_rounds(delivery_round(app, batch), stop, interval=interval, once=once, on_report=echo)


@grades_cli.command("status")
def grades_status() -> None:
    """Queue depth, the oldest waiting score and the parked failures with the LMS's message."""
    status = outbox_status(db.session())
    click.echo("  ".join(f"{state}: {count}" for state, count in sorted(status.counts.items())) or "outbox empty")
    if status.oldest_waiting:
        age = utcnow() - status.oldest_waiting
        click.echo(f"oldest waiting score: {status.oldest_waiting:%Y-%m-%d %H:%M:%S} UTC "
                   f"({int(age.total_seconds())} s ago)")
    for row in status.parked:
        click.echo(f"parked #{row.id} learner {row.sub} attempts {row.attempts}: {row.last_error}")


@grades_cli.command("retry")
@click.argument("ids", nargs=-1, type=int)
def grades_retry(ids: tuple[int, ...]) -> None:
    """Queue parked scores again: the given ids, or all of them."""
    count = retry_parked(db.session(), list(ids) or None)
    click.echo(f"{count} score(s) queued again")


def register_commands(app: Flask) -> None:
    """Add the tool's `flask` command groups; the demo LMS's commands outside production only."""
    app.cli.add_command(keys_cli)
    app.cli.add_command(grades_cli)
    app.cli.add_command(content_cli)
    app.cli.add_command(certificates_cli)
    app.cli.add_command(platforms_cli)
    app.cli.add_command(tool_info)
    operating_cli.register(app)
    credentials_cli.register(app)
    if app.config.get("ENV_NAME") != "production":
        # Function-level: the demo's commands exist outside production only.
        from lti_tool.demo_lms.tool_side import demo_cli

        app.cli.add_command(demo_cli)
