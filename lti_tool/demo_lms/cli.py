"""`flask demo setup`: make the demo LMS and the tool know each other."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from lti_tool.demo_lms import platform as demo
from lti_tool.extensions import db
from lti_tool.lti import keys as tool_keys
from lti_tool.platforms import add_platform

demo_cli = AppGroup("demo", help="The embedded demo LMS.")


def setup_demo(base_url: str, secret_key: str) -> None:
    """Idempotent: keys for both sides, the registration on both sides, the demo course links."""
    try:
        tool_keys.current_key(db.session())
    except tool_keys.KeyError_:
        tool_keys.generate_key(db.session(), secret_key)
    demo.ensure_key(db.session(), secret_key)
    demo.register_tool(db.session(), tool_base_url=base_url)
    demo.seed_links(db.session())
    urls = demo.DemoUrls(base_url)
    add_platform(
        db.session(),
        issuer=urls.issuer,
        client_id=demo.CLIENT_ID,
        auth_login_url=urls.auth_url,
        auth_token_url=urls.token_url,
        key_set_url=urls.jwks_url,
        deployment_ids=[demo.DEPLOYMENT_ID],
        name="Demo-LMS",
    )


DEMO_OPERATOR = "operator@demo.example"
DEMO_OPERATOR_PASSWORD = "demo-operator-password"  # noqa: S105 - the demo only, never production


@demo_cli.command("setup")
def setup() -> None:
    """Register the demo LMS with the tool and the tool with the demo LMS; a demo operator."""
    from lti_tool.operators import create_operator, find_operator

    base_url = str(current_app.config["TOOL_BASE_URL"]).rstrip("/")
    setup_demo(base_url, current_app.config["SECRET_KEY"])
    if find_operator(db.session(), DEMO_OPERATOR) is None:
        create_operator(db.session(), DEMO_OPERATOR, DEMO_OPERATOR_PASSWORD)
    click.echo(f"Demo LMS ready: open {base_url}/demo-lms/")
    click.echo(f"Operator console: {base_url}/admin/ ({DEMO_OPERATOR} / {DEMO_OPERATOR_PASSWORD})")


@demo_cli.command("outage")
@click.argument("mode", type=click.Choice(["503", "slow", "delay", "lost-answer", "429", "off"]))
@click.option("--seconds", default=15, show_default=True,
              help="How long 'slow', 'delay' and 'lost-answer' requests hang.")
@click.option("--retry-after", default="30", show_default=True,
              help="The Retry-After header of '429' answers: seconds or an HTTP date.")
def outage(mode: str, seconds: int, retry_after: str) -> None:
    """Make the demo LMS's gradebook fail, to watch scores wait in the outbox and arrive later.

    503: unavailable; slow: hang, then 504; delay: hang, then accept; lost-answer: store the
    score, then hang (the tool times out not knowing it arrived); 429: too many requests."""
    from lti_tool.demo_lms.views import OUTAGE_KEY
    from lti_tool.runtime import runtime

    store = runtime().store
    if mode == "off":
        store.delete(OUTAGE_KEY)
    else:
        store.set(OUTAGE_KEY, {"mode": mode, "seconds": seconds, "retry_after": retry_after}, 24 * 3600)
    click.echo(f"demo LMS gradebook: {mode}")
