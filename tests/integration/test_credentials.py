"""Open Badges 3.0 credentials over HTTP: issued after the learner confirms the name, checked
against the specification's required fields, verified by a code path of its own (cryptography on
the JWS parts with the published key set), found not revoked, revoked, found revoked; baked
images yield the same credential; hostile uploads get a clear 4xx; erasure does not revoke."""

from __future__ import annotations

import base64
import gzip
import json
import re
import struct
import uuid
import zlib
from datetime import UTC, datetime

import jwt
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import select

from lti_tool.credentials import baking
from lti_tool.credentials.service import NotEarned, Settings, credential_json, issue_credential
from lti_tool.credentials.verification import verify
from lti_tool.extensions import db
from lti_tool.launch.live import form_token
from lti_tool.lti.keys import new_rsa_key
from lti_tool.models import Certificate, IssuedCredential, LaunchRecord
from lti_tool.operating.gdpr import erase_user, export_user, purge_platform
from tests.integration.test_verification import seed_certificate
from tests.support.agent import text_of
from tests.support.records import seed_person, seed_platform

PROGRAMME = "efteruddannelse-integration"


# --- an independent verifier: RFC 7515 by hand, with `cryptography` only --------------------------

def b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_jws(token: str, key_set: dict) -> tuple[dict, dict]:
    """Header and payload of a compact JWS whose RS256 signature verifies with a key in `key_set`."""
    header_part, payload_part, signature_part = token.split(".")
    header = json.loads(b64url(header_part))
    assert header["alg"] == "RS256"
    jwk = next(k for k in key_set["keys"] if k["kid"] == header["kid"])
    public = rsa.RSAPublicNumbers(int.from_bytes(b64url(jwk["e"]), "big"),
                                  int.from_bytes(b64url(jwk["n"]), "big")).public_key()
    public.verify(b64url(signature_part), f"{header_part}.{payload_part}".encode(), padding.PKCS1v15(),
                  hashes.SHA256())  # raises InvalidSignature
    return header, json.loads(b64url(payload_part))


def status_bit(agent, entry: dict) -> bool:
    """Read the credential's bit from the published status list, as an outside verifier does."""
    key_set = agent.get("/credentials/jwks.json").json()
    _, listed = verify_jws(agent.get(entry["statusListCredential"]).text, key_set)
    assert "BitstringStatusListCredential" in listed["type"]
    encoded = listed["credentialSubject"]["encodedList"]
    assert encoded.startswith("u")
    bits = gzip.decompress(b64url(encoded[1:]))
    assert len(bits) * 8 >= 131_072
    index = int(entry["statusListIndex"])
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


# --- the learner's side -----------------------------------------------------------------------

@pytest.fixture
def learner(app, agent, fresh_learner):
    """A learner with a completed programme (its certificate): the launch's home and user id."""
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor-programme").url
    user_id = db.session.get(LaunchRecord, re.search(r"/c/([^/]+)/", home)[1]).user_id
    seed_certificate(db.session, user_id=user_id, holder_name=None)
    return home, user_id


def launch_token(app, home: str) -> str:
    """The launch's form token, as its pages carry it."""
    return form_token(app.config["SECRET_KEY"], re.search(r"/c/([^/]+)/", home)[1])


def issue(app, agent, home: str, name: str = "Mette Jensen", confirm: bool = True):
    data = {"csrf_token": launch_token(app, home), "holder_name": name}
    if confirm:
        data["confirm"] = "yes"
    return agent.post(home + f"certificate/{PROGRAMME}/credential", data)


def download(agent, home: str, fmt: str):
    response = agent.get(home + f"certificate/{PROGRAMME}/credential.{fmt}")
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["Content-Disposition"]
    return response


def required_fields_problems(credential: dict) -> list[str]:
    """The fields OB 3.0 requires of an OpenBadgeCredential, its subject, achievement, issuer,
    status and schema entries, checked by hand: the official JSON Schema could not be had here
    (see docs/credentials.md)."""
    problems = []

    def need(where: dict, name: str, path: str) -> None:
        if not isinstance(where, dict) or where.get(name) in (None, "", []):
            problems.append(f"{path}.{name}")

    for name in ("@context", "id", "type", "name", "issuer", "validFrom", "credentialSubject"):
        need(credential, name, "credential")
    if credential.get("@context", [None])[:2] != ["https://www.w3.org/ns/credentials/v2",
                                                  "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]:
        problems.append("@context: VC 2.0 then OB 3.0")
    if not {"VerifiableCredential", "OpenBadgeCredential"} <= set(credential.get("type", [])):
        problems.append("type")
    datetime.fromisoformat(credential["validFrom"].replace("Z", "+00:00"))
    assert credential["validFrom"].endswith("Z")
    issuer = credential.get("issuer", {})
    for name in ("id", "type", "name"):
        need(issuer, name, "issuer")
    if "Profile" not in issuer.get("type", []):
        problems.append("issuer.type Profile")
    subject = credential.get("credentialSubject", {})
    need(subject, "type", "credentialSubject")
    need(subject, "achievement", "credentialSubject")
    if not subject.get("id") and not subject.get("identifier"):
        problems.append("credentialSubject: id or identifier")
    for identity in subject.get("identifier", []):
        for name in ("type", "identityHash", "identityType"):
            need(identity, name, "identifier")
        if not isinstance(identity.get("hashed"), bool):
            problems.append("identifier.hashed")
    achievement = subject.get("achievement", {})
    for name in ("id", "type", "name", "description", "criteria"):
        need(achievement, name, "achievement")
    need(achievement.get("criteria", {}), "narrative", "achievement.criteria")
    entry = credential.get("credentialStatus", {})
    for name in ("id", "type", "statusPurpose", "statusListIndex", "statusListCredential"):
        need(entry, name, "credentialStatus")
    for schema in credential.get("credentialSchema", []):
        need(schema, "id", "credentialSchema")
        need(schema, "type", "credentialSchema")
    return problems


def test_the_name_must_be_confirmed_before_anything_is_issued(app, agent, learner):
    home, user_id = learner
    page = agent.get(home + f"certificate/{PROGRAMME}")
    assert 'name="holder_name"' in page.text and "Udsted mit digitale bevis" in text_of(page.text)
    refused = issue(app, agent, home, confirm=False)
    assert refused.status_code == 400
    assert "Skriv det navn" in text_of(refused.text)
    blank = issue(app, agent, home, name="   ")
    assert blank.status_code == 400
    db.session.rollback()
    assert db.session.scalars(select(IssuedCredential).where(IssuedCredential.user_id == user_id)).first() is None


def test_no_credential_before_the_programme_is_completed(app, agent, fresh_learner):
    home = agent.launch(fresh_learner, "stor-kursus", "rl-stor-programme").url
    page = agent.get(home + f"certificate/{PROGRAMME}")
    assert 'name="holder_name"' not in page.text  # no certificate, no form
    forced = issue(app, agent, home)
    assert forced.status_code == 409


def test_a_credential_is_issued_signed_and_published_as_ob3_requires(app, agent, learner):
    home, user_id = learner
    issued = issue(app, agent, home)
    assert issued.status_code == 200 and "open-badge" not in issued.url
    text = text_of(issued.text)
    assert "Mette Jensen" in text and "Badgebillede med beviset (PNG)" in text
    assert issue(app, agent, home).status_code == 200  # asking again gives the same one
    db.session.rollback()
    record = db.session.scalars(select(IssuedCredential).where(IssuedCredential.user_id == user_id)).one()

    credential = download(agent, home, "json").json()
    assert required_fields_problems(credential) == []
    assert credential["id"] == record.credential_id and credential["id"].startswith("urn:uuid:")
    assert credential["name"] == "Efteruddannelse i integration"
    achievement = credential["credentialSubject"]["achievement"]
    assert achievement["inLanguage"] == "da"
    assert "ca. 3,5 timer" in achievement["criteria"]["narrative"]  # the hours, in the learner's language
    assert credential["issuer"]["name"] == app.config["ISSUER_NAME"]
    assert credential["credentialSubject"]["identifier"] == [
        {"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": "Mette Jensen"}]
    assert credential["validFrom"] == "2026-12-03T10:00:00Z"  # the certificate's date
    # Minimal personal data: nothing of the LMS, the course or the answers.
    flat = json.dumps(credential)
    assert "stor-kursus" not in flat and "@" not in flat.replace("@context", "")

    token = download(agent, home, "jwt").text
    key_set = agent.get("/credentials/jwks.json").json()
    header, payload = verify_jws(token, key_set)
    assert header["typ"] == "JWT" and header["kid"] == record.kid
    # OB 3.0 §8.2: the credential is the payload itself (no `vc` wrapper), with iss/jti/nbf.
    assert "vc" not in payload
    assert {k: v for k, v in payload.items() if k not in ("iss", "jti", "nbf")} == credential
    assert payload["iss"] == credential["issuer"]["id"] and payload["jti"] == credential["id"]
    assert payload["nbf"] == int(datetime(2026, 12, 3, 10, tzinfo=UTC).timestamp())
    tampered = token.split(".")
    tampered[1] = base64.urlsafe_b64encode(json.dumps({**payload, "name": "Ph.d."}).encode()).decode().rstrip("=")
    with pytest.raises(InvalidSignature):
        verify_jws(".".join(tampered), key_set)
    # The issuer the credential names is served where it says.
    assert agent.get("/credentials/issuer").json()["id"] == credential["issuer"]["id"]


def test_status_not_revoked_then_revoked_by_the_operator(app, agent, learner, runner):
    home, _ = learner
    issue(app, agent, home)
    credential = download(agent, home, "json").json()
    token = download(agent, home, "jwt").text
    entry = credential["credentialStatus"]
    assert entry["type"] == "BitstringStatusListEntry" and entry["statusPurpose"] == "revocation"
    assert status_bit(agent, entry) is False
    checked = agent.post("/verify/credential", {"credential": token})
    assert checked.status_code == 200
    assert "Status: gyldigt, ikke tilbagekaldt." in text_of(checked.text)

    result = runner.invoke(args=["credentials", "revoke", credential["id"], "--reason", "issued in error"])
    assert result.exit_code == 0, result.output

    assert status_bit(agent, entry) is True
    checked = agent.post("/verify/credential", {"credential": token})
    assert checked.status_code == 200
    assert "Status: tilbagekaldt." in text_of(checked.text)
    shown = runner.invoke(args=["credentials", "show", credential["id"]])
    assert "revoked" in shown.output and "issued in error" in shown.output


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_the_baked_badge_yields_the_same_credential(app, agent, learner, fmt):
    home, _ = learner
    issue(app, agent, home)
    token = download(agent, home, "jwt").text
    image = download(agent, home, fmt).content
    assert baking.extract(image) == token
    if fmt == "png":  # the chunk OB 3.0 names, found by walking the chunks independently
        assert b"iTXt" in image and b"openbadgecredential\x00" in image
    else:
        assert b'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in image
    checked = agent.post("/verify/credential", files={"file": (f"badge.{fmt}", image)})
    assert checked.status_code == 200
    assert "Mette Jensen" in text_of(checked.text)


def foreign_token(kid: str, issuer: str) -> str:
    key = new_rsa_key()
    claims = {"@context": ["https://www.w3.org/ns/credentials/v2"], "id": f"urn:uuid:{uuid.uuid4()}",
              "type": ["VerifiableCredential", "OpenBadgeCredential"], "issuer": {"id": issuer, "type": ["Profile"]},
              "validFrom": "2026-01-01T00:00:00Z", "iss": issuer, "jti": "x", "nbf": 0}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def png_with_chunk(kind: bytes, body: bytes, crc_ok: bool = True) -> bytes:
    good = baking.badge_png(8)
    crc = zlib.crc32(kind + body) if crc_ok else 0
    return good[:-12] + struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc) + good[-12:]


BOMB_SVG = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg">&b;</svg>')


@pytest.mark.parametrize(("case", "status", "words"), [
    ("foreign key", 422, "ikke udstedt af"),
    ("our kid, another key", 422, "Signaturen passer ikke"),
    ("unsigned json", 422, "ingen signatur"),
    ("malformed png", 422, "Billedet kunne ikke læses"),
    ("bad crc png", 422, "Billedet kunne ikke læses"),
    ("chunk past the end", 422, "Billedet kunne ikke læses"),
    ("entity bomb svg", 422, "Billedet kunne ikke læses"),
    ("not a credential", 422, "ikke et Open Badges-bevis"),
    ("nothing", 422, "Indsæt et bevis"),
    ("oversized", 413, "Filen er for stor"),
])
def test_hostile_or_foreign_input_gets_a_clear_4xx(app, agent, learner, case, status, words):
    home, _ = learner
    issue(app, agent, home)
    our_kid = jwt.get_unverified_header(download(agent, home, "jwt").text)["kid"]
    ours = app.config["TOOL_BASE_URL"].rstrip("/") + "/credentials/issuer"
    form: dict = {}
    files: dict = {}
    if case == "foreign key":
        form = {"credential": foreign_token("someone-else", "https://badges.example/issuer")}
    elif case == "our kid, another key":
        form = {"credential": foreign_token(our_kid, ours)}
    elif case == "unsigned json":
        files = {"file": ("c.json", download(agent, home, "json").content)}
    elif case == "malformed png":
        files = {"file": ("b.png", baking.PNG_SIGNATURE + b"\x00\x00\x00\x0dIHDR" + b"\xff" * 40)}
    elif case == "bad crc png":
        files = {"file": ("b.png", png_with_chunk(b"iTXt", b"openbadgecredential\x00\x00\x00\x00\x00a.b.c", False))}
    elif case == "chunk past the end":
        files = {"file": ("b.png", baking.PNG_SIGNATURE + b"\x7f\xff\xff\xffiTXt" + b"x" * 30)}
    elif case == "entity bomb svg":
        files = {"file": ("b.svg", BOMB_SVG)}
    elif case == "not a credential":
        form = {"credential": "hello"}
    elif case == "oversized":
        files = {"file": ("big.png", baking.PNG_SIGNATURE + b"\x00" * (app.config["CREDENTIAL_UPLOAD_MAX_BYTES"] + 1))}
    response = agent.post("/verify/credential", form, files=files or None)
    assert response.status_code == status, response.text[:500]
    assert words in text_of(response.text)
    assert "Traceback" not in response.text


def test_erasure_removes_our_copy_and_does_not_revoke(app, agent, learner):
    home, user_id = learner
    issue(app, agent, home)
    token = download(agent, home, "jwt").text
    credential_id = jwt.decode(token, options={"verify_signature": False})["jti"]
    exported = export_user(db.session, user_id)["credentials"]  # the person's copy of what we hold
    assert [row["credential_id"] for row in exported] == [credential_id] and exported[0]["jwt"] == token
    erase_user(db.session, user_id)
    db.session.rollback()
    record = db.session.scalars(select(IssuedCredential).where(IssuedCredential.credential_id == credential_id)).one()
    assert (record.jwt, record.holder_name, record.user_id, record.revoked_at) == (None, None, None, None)
    checked = agent.post("/verify/credential", {"credential": token})
    assert checked.status_code == 200
    assert "Status: gyldigt, ikke tilbagekaldt." in text_of(checked.text)


def test_a_retired_key_stops_signing_and_stays_published(app, agent, learner, runner, make_learner):
    home, _ = learner
    issue(app, agent, home)
    old_token = download(agent, home, "jwt").text
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    assert runner.invoke(args=["credentials", "rotate-key"]).exit_code == 0

    other = make_learner()
    other_home = agent.launch(other, "stor-kursus", "rl-stor-programme").url
    user_id = db.session.get(LaunchRecord, re.search(r"/c/([^/]+)/", other_home)[1]).user_id
    seed_certificate(db.session, user_id=user_id)
    issue(app, agent, other_home)
    new_kid = jwt.get_unverified_header(download(agent, other_home, "jwt").text)["kid"]
    assert new_kid != old_kid
    key_set = agent.get("/credentials/jwks.json").json()
    assert {old_kid, new_kid} <= {k["kid"] for k in key_set["keys"]}
    verify_jws(old_token, key_set)
    assert agent.post("/verify/credential", {"credential": old_token}).status_code == 200


def test_the_operator_revokes_from_the_console(app, agent, learner, console):
    home, user_id = learner
    issue(app, agent, home)
    credential = download(agent, home, "json").json()
    code = db.session.scalars(select(Certificate.code).where(Certificate.user_id == user_id)).one()
    page = console.get(f"/admin/certificates?code={code}")
    assert credential["id"] in page.text and "Revoke" in text_of(page.text)
    revoked = console.post("/admin/credentials/revoke", {"credential_id": credential["id"], "code": code,
                                                         "reason": "at the holder's request"})
    assert revoked.status_code == 302
    assert "is revoked" in text_of(console.follow(revoked).text)
    assert status_bit(agent, credential["credentialStatus"]) is True
    db.session.rollback()
    record = db.session.scalars(
        select(IssuedCredential).where(IssuedCredential.credential_id == credential["id"])).one()
    assert record.revoked_reason == "at the holder's request"


def test_a_module_credential_tells_the_module_and_its_hours_in_the_learners_language(db_app, db_session):
    person = seed_person(db_session, seed_platform(db_session))
    programme = db_app.extensions["integrationsloeft"].catalog().programmes[PROGRAMME]
    module = programme.module("nyankomne")
    settings = Settings.of(db_app.config)
    with db_app.test_request_context():
        record = issue_credential(db_session, settings, user_id=person.user_id, programme=programme, module=module,
                                  language="sv", holder_name="  Sara   Lindqvist ", confirmed=True)
        with pytest.raises(NotEarned):
            issue_credential(db_session, settings, user_id=person.user_id, programme=programme,
                             module=programme.module("unge"), language="sv", holder_name="Sara", confirmed=True)
    credential = credential_json(record)
    assert required_fields_problems(credential) == []
    achievement = credential["credentialSubject"]["achievement"]
    assert (achievement["achievementType"], achievement["name"], achievement["inLanguage"]) == (
        "Course", module.title, "da")
    hours = f"{module.estimated_minutes / 60:.1f}".replace(".", ",").replace(",0", "")
    assert f"Omfattning: cirka {hours} timmar." in achievement["criteria"]["narrative"]
    assert credential["credentialSubject"]["identifier"][0]["identityHash"] == "Sara Lindqvist"
    assert record.module_id == "nyankomne" and record.kind == "module"


def test_the_cli_lists_credentials_and_keys_and_refuses_unknown_ids(app, agent, learner, runner):
    home, _ = learner
    issue(app, agent, home)
    credential_id = download(agent, home, "json").json()["id"]
    listed = runner.invoke(args=["credentials", "list"])
    assert listed.exit_code == 0 and credential_id in listed.output and "valid" in listed.output
    keys = runner.invoke(args=["credentials", "keys"])
    assert keys.exit_code == 0 and "signing" in keys.output
    unknown = runner.invoke(args=["credentials", "revoke", f"urn:uuid:{uuid.uuid4()}", "--reason", "x"])
    assert unknown.exit_code != 0 and "No credential" in unknown.output
    assert runner.invoke(args=["credentials", "show", "nonsense"]).exit_code != 0


def test_deleting_a_platform_keeps_its_credentials_valid_and_forgets_our_copy(db_app, db_session):
    platform = seed_platform(db_session)
    person = seed_person(db_session, platform)
    programme = db_app.extensions["integrationsloeft"].catalog().programmes[PROGRAMME]
    with db_app.test_request_context():
        record = issue_credential(db_session, Settings.of(db_app.config), user_id=person.user_id,
                                  programme=programme, module=programme.module("nyankomne"), language="da",
                                  holder_name="Mette Jensen", confirmed=True)
    token, credential_id = record.jwt, record.credential_id
    purge_platform(db_session, platform.id)
    kept = db_session.scalars(select(IssuedCredential).where(IssuedCredential.credential_id == credential_id)).one()
    assert (kept.user_id, kept.holder_name, kept.jwt, kept.revoked_at) == (None, None, None, None)
    verified = verify(db_session, Settings.of(db_app.config).base_url, token)
    assert verified.holder_name == "Mette Jensen" and not verified.revoked


def test_only_our_one_status_list_exists(agent):
    assert agent.get("/credentials/status/2").status_code == 404
    assert agent.get("/credentials/status/1").headers["Content-Type"].startswith("application/vc+jwt")
