"""`flask --app lti_tool.demo_lms.app lms …`: set up the demo LMS and make its gradebook fail."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from lti_tool.demo_lms import platform as demo
from lti_tool.demo_lms.database import lms_db
from lti_tool.demo_lms.services import services
from lti_tool.demo_lms.views import OUTAGE_KEY, ROSTER_OUTAGE_KEY

lms_cli = AppGroup("lms", help="The demo LMS (its own app and database).")


def setup_lms(*, register_tool: bool = True) -> None:
    """Idempotent: the LMS's tables, its signing key, the demo courses' links and, unless told
    otherwise, the tool as its administrator would enter it by hand (client id and deployment of
    the LMS's choosing). Without the tool, the LMS is one that has never met it: its administrator
    installs it by dynamic registration."""
    lms = services()
    lms_db.create_all()
    demo.ensure_key(lms_db.session(), lms.secret)
    if register_tool:
        demo.register_tool(lms_db.session(), tool_base_url=lms.tool_url)
        demo.seed_links(lms_db.session())


@lms_cli.command("setup")
@click.option("--without-tool", is_flag=True, help="Leave the tool out: install it by dynamic registration.")
def setup(without_tool: bool) -> None:
    """Create the LMS's tables and key, register the tool by hand, seed the demo courses."""
    setup_lms(register_tool=not without_tool)
    urls = services().urls
    click.echo(f"Demo LMS: issuer {urls.issuer}, client id {demo.CLIENT_ID}, deployment {demo.DEPLOYMENT_ID}")


@lms_cli.command("outage")
@click.argument("mode", type=click.Choice(["503", "slow", "delay", "lost-answer", "429", "off"]))
@click.option("--seconds", default=15, show_default=True,
              help="How long 'slow', 'delay' and 'lost-answer' requests hang.")
@click.option("--retry-after", default="30", show_default=True,
              help="The Retry-After header of '429' answers: seconds or an HTTP date.")
@click.option("--roster", is_flag=True, help="Make the roster service (NRPS) fail instead: 503, slow or off.")
def outage(mode: str, seconds: int, retry_after: str, roster: bool) -> None:
    """Make the demo LMS's gradebook fail, to watch scores wait in the outbox and arrive later.

    503: unavailable; slow: hang, then 504; delay: hang, then accept; lost-answer: store the
    score, then hang (the tool times out not knowing it arrived); 429: too many requests.
    With --roster, the course roster fails instead (the dashboard shows the last one it read)."""
    store = services().store
    key = ROSTER_OUTAGE_KEY if roster else OUTAGE_KEY
    if mode == "off":
        store.delete(key)
    else:
        store.set(key, {"mode": mode, "seconds": seconds, "retry_after": retry_after}, 24 * 3600)
    click.echo(f"demo LMS {'roster' if roster else 'gradebook'}: {mode}")
