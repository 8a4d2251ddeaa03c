"""The operator commands, through Flask's CLI runner."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import Platform, ToolKey, utcnow


def test_platforms_add_list_remove(make_app):
    app = make_app()
    runner = app.test_cli_runner()
    args = ["platforms", "add", "--issuer", "https://moodle.kommune.example", "--client-id", "abc123",
            "--auth-login-url", "https://moodle.kommune.example/mod/lti/auth.php",
            "--auth-token-url", "https://moodle.kommune.example/mod/lti/token.php",
            "--key-set-url", "https://moodle.kommune.example/mod/lti/certs.php",
            "--deployment-id", "7", "--deployment-id", "8", "--name", "Vejle Kommune"]

    added = runner.invoke(args=args)
    again = runner.invoke(args=[*args[:-2], "--deployment-id", "9"])
    listed = runner.invoke(args=["platforms", "list"])

    assert added.exit_code == 0, added.output
    assert again.exit_code == 0
    assert "Vejle Kommune" in listed.output
    assert "deployments=7, 8, 9" in listed.output
    with app.app_context():
        platform = db.session.scalars(select(Platform)).one()
        removed = runner.invoke(args=["platforms", "remove", str(platform.id)])
        assert removed.exit_code == 0
        assert db.session.scalars(select(Platform)).all() == []
    assert runner.invoke(args=["platforms", "remove", "999"]).exit_code != 0


def test_platforms_add_refuses_bad_urls(make_app):
    runner = make_app().test_cli_runner()
    result = runner.invoke(args=["platforms", "add", "--issuer", "x", "--client-id", "y",
                                 "--auth-login-url", "not a url", "--auth-token-url", "https://a.example/t",
                                 "--key-set-url", "https://a.example/k", "--deployment-id", "1"])
    assert result.exit_code != 0
    assert "auth login URL must be an http(s) URL" in result.output


def test_keys_generate_rotate_list_and_jwks_grace(make_app):
    app = make_app(TOOL_KEY_GRACE=3600)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["keys", "generate"]).exit_code == 0
    assert "Current key exists" in runner.invoke(args=["keys", "generate", "--if-missing"]).output
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    client = app.test_client()

    with app.app_context():
        keys = db.session.scalars(select(ToolKey).order_by(ToolKey.id)).all()
        assert [k.is_current for k in keys] == [False, True]
        published = {k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]}
        assert published == {keys[0].kid, keys[1].kid}
        # Past the grace period the retired key is withdrawn.
        keys[0].retired_at = utcnow() - timedelta(hours=2)
        db.session.commit()
        published = {k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]}
        assert published == {keys[1].kid}
        # Private keys are stored encrypted, never as PEM, and nothing private is published.
        assert b"PRIVATE KEY" not in keys[1].private_key_encrypted
        assert all("d" not in k for k in client.get("/.well-known/jwks.json").get_json()["keys"])
    listed = runner.invoke(args=["keys", "list"]).output
    assert "current" in listed and "withdrawn" in listed


def test_tool_key_cannot_be_read_with_another_secret(make_app):
    import pytest

    from lti_tool.lti import keys

    app = make_app()
    with app.app_context():
        keys.generate_key(db.session, app.config["SECRET_KEY"])
        with pytest.raises(keys.KeyError_, match="SECRET_KEY changed"):
            keys.signing_key(db.session, "another-secret-entirely")


def test_tool_info_prints_every_value_an_admin_pastes(make_app):
    output = make_app(TOOL_BASE_URL="https://lti.integrationsloeft.example").test_cli_runner().invoke(
        args=["tool-info"]).output
    for value in ("https://lti.integrationsloeft.example/lti/login",
                  "https://lti.integrationsloeft.example/lti/launch",
                  "https://lti.integrationsloeft.example/.well-known/jwks.json",
                  "https://lti.integrationsloeft.example/lti/register",
                  "lti.integrationsloeft.example",
                  "https://purl.imsglobal.org/spec/lti-ags/scope/score"):
        assert value in output
