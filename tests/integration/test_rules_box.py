"""The "Regler pr. …" box on the learner's course home: the pack's rule claims in the pack's language."""

from __future__ import annotations

import re

from babel.dates import format_date

from lti_tool.extensions import db
from lti_tool.models import LaunchRecord
from lti_tool.progress.state import placement_for
from lti_tool.runtime import runtime
from tests.support.agent import text_of


def _box(page: str) -> str:
    found = re.search(r'<section class="rules-box".*?</section>', page, re.S)
    assert found, "no rules box on the page"
    return found.group(0)


def _placement(home):
    launch_id = re.search(r"/c/([^/]+)/", home.url).group(1)
    return placement_for(db.session.get(LaunchRecord, launch_id).resource_link, runtime().catalog())


def test_course_home_shows_the_modules_rule_claims(app, agent):
    home = agent.launch("jonas", "vejle-int", "rl-nyankomne")
    placement = _placement(home)
    claims = [r for m in placement.modules for r in m.rules]
    box = _box(home.text)
    text = text_of(box)
    assert 'lang="da"' in box and "<details>" in box
    latest = max(c.checked for c in claims)
    assert f"Regler pr. {format_date(latest, 'long', locale='da')}" in text
    first = claims[0]
    assert first.claim in text and first.source in text
    in_force = next(c for c in claims if c.status == "in_force")
    assert f"gælder siden {format_date(in_force.date, 'long', locale='da')}" in text


def test_box_speaks_the_contents_language_not_the_interfaces(app, agent):
    # The Fast track pack is English; the box's words follow it, whatever the interface speaks.
    home = agent.launch("jonas", "malmo-change", "rl-fasttrack")
    placement = _placement(home)
    assert placement.programme.language == "en"
    assert '<html lang="en"' not in home.text  # jonas's interface is not English
    box = _box(home.text)
    assert 'lang="en"' in box and "Rules as of" in text_of(box)
    unverified = next(r for m in placement.modules for r in m.rules if r.status == "unverified")
    assert f"not confirmed, date given {format_date(unverified.date, 'long', locale='en_GB')}" in text_of(box)
