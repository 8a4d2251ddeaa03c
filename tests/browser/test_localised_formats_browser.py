"""The course home as the demo's three learners see it in Chromium, framed by the demo LMS: the same
Danish programme, its numbers written as each learner's language writes them (the module of 210
minutes is "3,5" hours in Danish and Swedish, "3.5" in English), and a word when the content is in
another language than the interface."""

from __future__ import annotations

import pytest

from tests.browser.lms import open_in_lms, sign_in

pytestmark = pytest.mark.browser

COURSE, LINK = "vejle-int", "rl-programme"


@pytest.mark.parametrize(("person", "lang", "hours", "notice"), [
    ("jonas", "da", "ca. 3,5 timer", None),
    ("sara", "sv", "cirka 3,5 timmar", "Kursmaterialet är på danska"),
    ("amir", "en", "about 3.5 hours", "The course material is in Danish"),
], ids=["da", "sv", "en"])
def test_the_course_home_writes_numbers_in_the_learners_language(site, context, page, person, lang, hours, notice):
    sign_in(context, site.lms_url, person)

    frame = open_in_lms(page, site.lms_url, COURSE, LINK)
    text = frame.inner_text("main")

    assert frame.evaluate("() => document.documentElement.lang").startswith(lang)
    assert hours in text
    if notice:
        assert notice in text
    else:
        assert "Kursusmaterialet er på" not in text
