"""`flask credentials …`: list, revoke, and the credential signing keys."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from lti_tool.credentials.keys import list_credential_keys, rotate_credential_key
from lti_tool.credentials.service import CredentialNotFound, find_credential, revoke_credential
from lti_tool.extensions import db
from lti_tool.models import IssuedCredential

credentials_cli = AppGroup("credentials", help="Open Badges 3.0 credentials issued by the tool.")


@credentials_cli.command("list")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
def credentials_list(limit: int) -> None:
    """Issued credentials, newest first: id, what for, when, and whether revoked."""
    rows = db.session.scalars(select(IssuedCredential).order_by(IssuedCredential.id.desc()).limit(limit))
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "valid"
        held = "" if row.jwt else " (our copy erased)"
        click.echo(f"{row.credential_id}  {row.kind:9} {row.achievement_name}  {row.issued_at:%Y-%m-%d}  {state}{held}")


@credentials_cli.command("revoke")
@click.argument("credential_id")
@click.option("--reason", required=True, help="Why: issued in error, or at the holder's request.")
def credentials_revoke(credential_id: str, reason: str) -> None:
    """Revoke a credential: verifiers then find it revoked in the status list."""
    try:
        record = revoke_credential(db.session(), credential_id, reason)
    except CredentialNotFound as exc:
        raise click.ClickException(f"No credential {credential_id}.") from exc
    click.echo(f"{record.credential_id} revoked ({record.revoked_reason}).")


@credentials_cli.command("show")
@click.argument("credential_id")
def credentials_show(credential_id: str) -> None:
    """One credential's status."""
    try:
        record = find_credential(db.session(), credential_id)
    except CredentialNotFound as exc:
        raise click.ClickException(f"No credential {credential_id}.") from exc
    state = f"revoked {record.revoked_at:%Y-%m-%d} ({record.revoked_reason})" if record.revoked_at else "valid"
    click.echo(f"{record.credential_id}: {record.achievement_name}, issued {record.issued_at:%Y-%m-%d}, "
               f"status list index {record.status_index}, {state}")


@credentials_cli.command("rotate-key")
def credentials_rotate_key() -> None:
    """Sign new credentials with a new key; the old key stays published for good."""
    key = rotate_credential_key(db.session(), current_app.config["SECRET_KEY"])
    click.echo(f"New credential key {key.kid}; earlier keys stay in /credentials/jwks.json.")


@credentials_cli.command("keys")
def credentials_keys() -> None:
    """The credential keys, newest first."""
    for key in list_credential_keys(db.session()):
        state = f"retired {key.retired_at:%Y-%m-%d}" if key.retired_at else "signing"
        click.echo(f"{key.kid}  created {key.created_at:%Y-%m-%d}  {state}")


def register(app: Flask) -> None:
    """Add `flask credentials` to the app's commands."""
    app.cli.add_command(credentials_cli)
