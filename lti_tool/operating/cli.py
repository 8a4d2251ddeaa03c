"""`flask operators …` and `flask gdpr …`: console accounts and data protection."""

from __future__ import annotations

import json
from typing import IO

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from lti_tool.extensions import db
from lti_tool.operating import gdpr
from lti_tool.operating.operators import OperatorError, create_operator, list_operators, unlock_operator

operators_cli = AppGroup("operators", help="Accounts for the operator console at /admin.")
gdpr_cli = AppGroup("gdpr", help="Data protection: export and erase personal data.")


@operators_cli.command("create")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when left out (keeps it out of the shell history).")
def operators_create(email: str, password: str) -> None:
    """Create an operator account that signs in at /admin."""
    try:
        operator = create_operator(db.session(), email, password)
    except OperatorError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"Created operator {operator.email}.")


@operators_cli.command("list")
def operators_list() -> None:
    """List operator accounts, their last sign-in and any lock-out."""
    for operator in list_operators(db.session()):
        last = f"{operator.last_login_at:%Y-%m-%d %H:%M}" if operator.last_login_at else "never"
        locked = f"  locked until {operator.locked_until:%H:%M}" if operator.locked_until else ""
        click.echo(f"{operator.email}  last sign-in {last}{locked}")


@operators_cli.command("unlock")
@click.argument("email")
def operators_unlock(email: str) -> None:
    """Lift the lock-out after too many failed sign-ins."""
    if not unlock_operator(db.session(), email):
        raise click.UsageError(f"No operator {email}.")
    click.echo(f"Unlocked {email}.")


@gdpr_cli.command("export")
@click.argument("sub")
@click.option("--platform", "platform_id", type=int, required=True, help="The platform's id.")
@click.option("--output", type=click.File("w", encoding="utf-8"), default="-",
              help="File to write (default: standard output).")
def gdpr_export(sub: str, platform_id: int, output: IO[str]) -> None:
    """Everything held about one person, as JSON (the platform's user id is SUB)."""
    try:
        user = gdpr.find_user(db.session(), platform_id, sub)
    except gdpr.LearnerNotFound as exc:
        raise click.ClickException(f"No user {sub} on platform {platform_id}.") from exc
    json.dump(gdpr.export_user(db.session(), user.id), output, indent=2, ensure_ascii=False)
    output.write("\n")


@gdpr_cli.command("erase")
@click.argument("sub")
@click.option("--platform", "platform_id", type=int, required=True, help="The platform's id.")
@click.confirmation_option(prompt="Erase this person's data? This cannot be undone.")
def gdpr_erase(sub: str, platform_id: int) -> None:
    """Erase one person: identity, answers and launches go; anonymous statuses stay."""
    try:
        user = gdpr.find_user(db.session(), platform_id, sub)
    except gdpr.LearnerNotFound as exc:
        raise click.ClickException(f"No user {sub} on platform {platform_id}.") from exc
    gdpr.erase_user(db.session(), user.id)
    click.echo(f"Erased user {user.id} on platform {platform_id}.")


@gdpr_cli.command("purge-expired")
@click.option("--dry-run", is_flag=True, help="Only count who would be erased.")
def gdpr_purge_expired(dry_run: bool) -> None:
    """Erase everyone not seen for RETENTION_DAYS (run daily from cron or a scheduler)."""
    days = int(current_app.config["RETENTION_DAYS"])
    if dry_run:
        count = len(gdpr.expired_users(db.session(), days))
        click.echo(f"{count} user(s) not seen for {days} days would be erased.")
        return
    count = gdpr.purge_expired(db.session(), days)
    click.echo(f"Erased {count} user(s) not seen for {days} days.")


def register(app: Flask) -> None:
    """Add the `operators` and `gdpr` command groups to the app's CLI."""
    app.cli.add_command(operators_cli)
    app.cli.add_command(gdpr_cli)
