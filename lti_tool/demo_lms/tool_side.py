"""`flask demo setup` on the tool's side: the demo LMS registered as an operator registers a
platform by hand (the same service as `flask platforms add`), and a demo operator account.

The tool and the LMS never share a database: each side is set up by its own command."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from lti_tool.demo_lms.platform import CLIENT_ID, DEPLOYMENT_ID, DemoUrls
from lti_tool.extensions import db
from lti_tool.operating.operators import create_operator, find_operator
from lti_tool.operating.platforms import add_platform

demo_cli = AppGroup("demo", help="The demo LMS, as the tool sees it.")

DEMO_OPERATOR = "operator@demo.example"
DEMO_OPERATOR_PASSWORD = "demo-operator-password"  # noqa: S105 - the demo only, never production


def register_demo_lms(lms_url: str) -> None:
    """Idempotent: the demo LMS as an active platform of the tool, with its deployment."""
    urls = DemoUrls(lms_url.rstrip("/"))
    add_platform(db.session(), issuer=urls.issuer, client_id=CLIENT_ID, auth_login_url=urls.auth_url,
                 auth_token_url=urls.token_url, key_set_url=urls.jwks_url, deployment_ids=[DEPLOYMENT_ID],
                 name="Demo-LMS")


@demo_cli.command("setup")
@click.option("--lms-url", default=None, help="The demo LMS's address (default: DEMO_LMS_URL).")
def setup(lms_url: str | None) -> None:
    """Register the demo LMS with the tool, and a demo operator for the console."""
    lms_url = lms_url or str(current_app.config.get("DEMO_LMS_URL") or "")
    if not lms_url:
        raise click.UsageError("give --lms-url or set DEMO_LMS_URL")
    register_demo_lms(lms_url)
    if find_operator(db.session(), DEMO_OPERATOR) is None:
        create_operator(db.session(), DEMO_OPERATOR, DEMO_OPERATOR_PASSWORD)
    click.echo(f"The tool knows the demo LMS at {lms_url}; console sign-in {DEMO_OPERATOR}")
