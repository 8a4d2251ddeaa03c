"""The rules of the modules a link opens: "Regler pr. …" on the course home, in the interface's
language, with a link to a page of every rule with its status, date and source, in the pack's."""

from __future__ import annotations

import html
import re
import uuid

from babel.dates import format_date

from lti_tool.demo_lms.database import lms_db
from lti_tool.demo_lms.models import DemoResourceLink
from lti_tool.extensions import db
from lti_tool.models import LaunchRecord
from lti_tool.progress.state import placement_for
from lti_tool.runtime import runtime
from tests.support.agent import text_of


def _section(page: str, css_class: str) -> str:
    found = re.search(rf'<section class="{css_class}".*?</section>', page, re.S)
    assert found, f"no {css_class} on the page"
    return found.group(0)


def _claims(home):
    launch_id = re.search(r"/c/([^/]+)/", home.url).group(1)
    placement = placement_for(db.session.get(LaunchRecord, launch_id).resource_link, runtime().catalog())
    unique = {r.id: r for m in placement.modules for r in m.rules}
    return placement, list(unique.values())


def _rules_link(agent, home) -> str:
    notice = _section(home.text, "rules-notice")
    href = re.search(r'<a href="([^"]+)">', notice).group(1)
    return agent.url(html.unescape(href))


def test_course_home_names_the_rules_date_and_links_to_them(app, agent):
    home = agent.launch("jonas", "vejle-int", "rl-nyankomne")
    _, claims = _claims(home)
    notice = _section(home.text, "rules-notice")
    latest = max(c.checked for c in claims)
    assert f"Regler pr. {format_date(latest, 'long', locale='da')}" in text_of(notice)
    assert f"Vis de {len(claims)} regler" in text_of(notice)
    assert claims[0].claim not in home.text  # the rules themselves are on their own page

    page = agent.get(_rules_link(agent, home))
    assert page.status_code == 200
    text = text_of(page.text)
    assert f"Regler pr. {format_date(latest, 'long', locale='da')}" in text
    assert '<div lang="da">' in page.text
    for claim in claims:
        assert claim.claim in text and claim.source in text
    in_force = next(c for c in claims if c.status == "in_force")
    assert f"gælder siden {format_date(in_force.date, 'long', locale='da')}" in text
    rules_list = re.search(r'<ul class="rules-list">.*?</ul>', page.text, re.S).group(0)
    assert rules_list.count('<span class="rule-status">') == len(claims)  # each rule once, with its status


def test_the_rules_page_speaks_the_contents_language_the_home_the_interfaces(app, agent):
    # The Fast track pack is English; the rules page follows it, whatever the interface speaks. The
    # home's line about the rules is the home's own heading and link, in the interface's language.
    home = agent.launch("jonas", "malmo-change", "rl-fasttrack")
    placement, claims = _claims(home)
    assert placement.programme.language == "en"
    assert '<html lang="da"' in home.text  # jonas's interface is Danish
    notice = _section(home.text, "rules-notice")
    latest = max(c.checked for c in claims)
    assert "lang=" not in notice
    assert f"Regler pr. {format_date(latest, 'long', locale='da')}" in text_of(notice)
    assert f"Vis de {len(claims)} regler" in text_of(notice)

    page = agent.get(_rules_link(agent, home))
    assert page.status_code == 200 and '<html lang="da"' in page.text
    assert '<div lang="en">' in page.text
    assert f"Rules as of {format_date(latest, 'long', locale='en_GB')}" in text_of(page.text)
    unverified = next(c for c in claims if c.status == "unverified")
    assert f"not confirmed, date given {format_date(unverified.date, 'long', locale='en_GB')}" in text_of(page.text)


def test_a_link_that_opens_nothing_has_no_rules_page(app, live, agent):
    link_id = f"rl-unbound-{uuid.uuid4().hex[:8]}"  # a link of its own: another test may bind rl-manual
    with live.lms_context():
        lms_db.session.add(DemoResourceLink(course_id="vejle-int", link_id=link_id, title="Integrationsløft",
                                            custom={}))
        lms_db.session.commit()
    page = agent.launch("jonas", "vejle-int", link_id)
    assert "ikke sat op endnu" in text_of(page.text)
    assert "rules-notice" not in page.text
    launch_id = re.search(r"/c/([^/]+)/", page.url).group(1)
    missing = agent.get(f"/c/{launch_id}/rules")
    assert missing.status_code == 404
    assert "Traceback" not in missing.text
