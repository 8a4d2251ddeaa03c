"""The certificate's public verification page: found, not found, malformed, rate-limited, localised,
and the certificate page that points to it (issuer, hours, address and QR code)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.extensions import db
from lti_tool.models import Certificate, LaunchRecord
from lti_tool.progress.service import new_certificate_code
from tests.support.agent import text_of

ISSUED = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def seed_certificate(session: Session, *, user_id: int | None = None, holder_name: str | None = "Mette Jensen",
                     programme_id: str = "efteruddannelse-integration") -> Certificate:
    certificate = Certificate(code=new_certificate_code(), user_id=user_id, programme_id=programme_id,
                              holder_name=holder_name, programme_title="Efteruddannelse i integration",
                              modules=["Nyankomne flygtninge og familiesammenførte", "Unge"],
                              study_minutes=210, issued_at=ISSUED)
    session.add(certificate)
    session.commit()
    return certificate


def test_a_code_shows_name_programme_and_date_only(db_app, db_session):
    certificate = seed_certificate(db_session)
    response = db_app.test_client().get(f"/verify/{certificate.code}", headers={"Accept-Language": "da"})
    assert response.status_code == 200
    text = text_of(response.text)
    assert "Mette Jensen" in text
    assert "Efteruddannelse i integration" in text
    assert "3. december 2026" in text
    assert "Kursusbeviset er ægte." in text
    # Nothing else about the holder: not the modules taken, not the hours.
    assert "Unge" not in text and "Nyankomne" not in text
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]


@pytest.mark.parametrize("typed", ["lower", "spaced"])
def test_a_code_is_found_as_people_type_it(db_app, db_session, typed):
    certificate = seed_certificate(db_session)
    code = certificate.code.lower() if typed == "lower" else certificate.code.replace("-", " ")
    response = db_app.test_client().get("/verify/", query_string={"code": code}, follow_redirects=True)
    assert response.status_code == 200
    assert "Mette Jensen" in text_of(response.text)


@pytest.mark.parametrize(("language", "words"), [
    ("da", "Intet kursusbevis har koden"),
    ("sv", "Inget kursintyg har koden"),
    ("en", "No certificate has the code"),
])
def test_an_unknown_code_is_a_localised_404(db_app, db_session, language, words):
    response = db_app.test_client().get("/verify/ABCD-EFGH-JKLM", headers={"Accept-Language": language})
    assert response.status_code == 404
    assert f'<html lang="{language}"' in response.text
    assert words in text_of(response.text)


def test_the_language_switch_overrides_the_browser(db_app, db_session):
    response = db_app.test_client().get("/verify/ABCD-EFGH-JKLM?lang=sv", headers={"Accept-Language": "en"})
    assert '<html lang="sv"' in response.text


@pytest.mark.parametrize("code", ["x", "ABCD-EFGH-JKL!", "A" * 200, "' OR 1=1 --", "0000-0000-0000"])
def test_text_that_cannot_be_a_code_is_a_400(db_app, db_session, code):
    response = db_app.test_client().get("/verify/", query_string={"code": code}, follow_redirects=True)
    assert response.status_code == 400
    assert "tolv bogstaver og tal" in text_of(response.text)


def test_an_erased_holder_keeps_a_genuine_certificate_without_a_name(db_app, db_session):
    certificate = seed_certificate(db_session, holder_name=None)
    response = db_app.test_client().get(f"/verify/{certificate.code}", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert "the name is no longer kept" in text_of(response.text)


def test_guessing_codes_is_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, LIMIT_VERIFY="3 per minute")
    client = app.test_client()
    statuses = [client.get(f"/verify/ABCD-EFGH-JK{n}{n}").status_code for n in "234"]
    assert statuses == [404, 404, 404]
    limited = client.get("/verify/ABCD-EFGH-JK55")
    assert limited.status_code == 429
    assert "Vent et minut" in text_of(limited.text)


def test_the_certificate_page_names_issuer_hours_and_where_to_check(app, agent, fresh_learner):
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor-programme")
    record = db.session.get(LaunchRecord, re.search(r"/c/([^/]+)/", home.url)[1])
    certificate = seed_certificate(db.session, user_id=record.user_id, holder_name=None)
    page = agent.get(home.url + "certificate/efteruddannelse-integration")
    assert page.status_code == 200
    text = text_of(page.text)
    assert app.config["ISSUER_NAME"] in text
    assert "ca. 3,5 timer" in text
    verify_url = f"{app.config['TOOL_BASE_URL'].rstrip('/')}/verify/{certificate.code}"
    assert verify_url in text
    assert '<svg aria-hidden="true"' in page.text and "qr-code" in page.text
    issued = db.session.scalars(select(Certificate).where(Certificate.user_id == record.user_id)).one()
    assert issued.id == certificate.id  # the page showed the seeded certificate, issued no other
