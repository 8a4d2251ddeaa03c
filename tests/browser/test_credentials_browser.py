"""Open Badges credentials in Chromium: the learner confirms the name and gets the downloads, the
section stays off paper, and the public verification page reads an uploaded badge; axe-core on
each state."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from lti_tool.extensions import db
from tests.browser.lms import axe_violations, describe, horizontal_overflow, shot
from tests.browser.test_print_browser import PROGRAMME, launched
from tests.integration.test_verification import seed_certificate

pytestmark = pytest.mark.browser


def test_a_learner_takes_the_certificate_as_a_credential_and_anyone_checks_it(site, page, fresh_learner, tmp_path):
    home, user_id = launched(site, fresh_learner)
    with site.app.app_context():
        seed_certificate(db.session, user_id=user_id, holder_name=None)
    page.goto(home + f"certificate/{PROGRAMME}")
    found = {"credential form": axe_violations(page)}
    page.get_by_label("Dit navn på beviset").fill("Mette Jensen")
    page.get_by_label("Det er mit navn, som det skal stå på beviset.").check()
    page.get_by_role("button", name="Udsted mit digitale bevis").click()
    png_link = page.get_by_role("link", name="Badgebillede med beviset (PNG)")
    expect(png_link).to_be_visible()
    found["credential downloads"] = axe_violations(page)
    shot(page, "credential-downloads")
    page.emulate_media(media="print")
    expect(page.locator("#credential")).to_be_hidden()
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 320, "height": 640})  # the certificate and its downloads on a phone
    assert horizontal_overflow(page) is None
    page.set_viewport_size({"width": 1280, "height": 900})

    with page.expect_download() as download:
        png_link.click()
    badge = tmp_path / "badge.png"
    download.value.save_as(badge)

    page.goto(site.base_url + "/verify/credential")
    found["verify form"] = axe_violations(page)
    page.get_by_label("eller upload badgebilledet (PNG eller SVG) eller .jwt-filen").set_input_files(str(badge))
    page.get_by_role("button", name="Kontrollér").click()
    expect(page.get_by_text("Status: gyldigt, ikke tilbagekaldt.")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("Mette Jensen")
    found["verified"] = axe_violations(page)
    shot(page, "credential-verified")

    page.get_by_label("Indsæt det signerede bevis (JWT)").fill("not a credential")
    page.get_by_role("button", name="Kontrollér").click()
    expect(page.get_by_role("alert")).to_contain_text("ikke et Open Badges-bevis")
    found["refused"] = axe_violations(page)
    assert not any(found.values()), describe(found)
