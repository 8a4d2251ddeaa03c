"""Pure rules: roles, locales, settings."""

from __future__ import annotations

import pytest

from config.settings import ConfigError, ProductionConfig, check_production, config_from_env, database_uri
from lti_tool.launch.locale import interface_language
from lti_tool.lti.roles import Role, effective_role, is_enrolled_learner, parse_role
from lti_tool.web import record_id


@pytest.mark.parametrize(("roles", "expected"), [
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"], Role.INSTRUCTOR),
    (["Instructor"], Role.INSTRUCTOR),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"], Role.INSTRUCTOR),
    (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"], Role.INSTRUCTOR),
    (["http://purl.imsglobal.org/vocab/lis/v2/system/person#SysAdmin"], Role.INSTRUCTOR),
    (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor"], Role.LEARNER),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], Role.LEARNER),
    (["http://example.com/unknown"], Role.LEARNER),
    (["http://vendor.example/roles#Instructor"], Role.LEARNER),  # a vendor role is no LIS role
    (["https://vendor.example/Administrator"], Role.LEARNER),
    (["urn:lti:role:ims/lis/Instructor"], Role.INSTRUCTOR),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor"], Role.INSTRUCTOR),  # sub-role path, no #
    (["http://vendor.example/membership/Learner#Instructor"], Role.LEARNER),
    (["urn:lti:instrole:ims/lis/Administrator"], Role.INSTRUCTOR),
    (["urn:lti:role:ims/lis/Learner/NonCreditLearner"], Role.LEARNER),
    ([], Role.LEARNER),
])
def test_effective_role(roles, expected):
    assert effective_role(roles) == expected


def test_parse_role_scopes():
    assert parse_role("http://purl.imsglobal.org/vocab/lis/v2/system/person#User") == ("system", "User")
    assert parse_role("Learner") == ("context", "Learner")


@pytest.mark.parametrize(("locale", "expected"), [
    ("da-DK", "da"), ("sv_SE", "sv"), ("en-GB", "en"), ("nb-NO", "da"), ("de-DE", "da"), (None, "da"), ("SV", "sv"),
])
def test_interface_language(locale, expected):
    assert interface_language(locale) == expected


def test_production_refuses_default_or_short_secret():
    settings = {k: getattr(ProductionConfig, k) for k in dir(ProductionConfig) if k.isupper()}
    settings.update(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://db/x", REDIS_URL="redis://r",
                    TOOL_BASE_URL="https://tool.example")
    for secret in ("", "dev-only-not-secret", "short"):
        with pytest.raises(ConfigError, match="SECRET_KEY"):
            check_production({**settings, "SECRET_KEY": secret})
    with pytest.raises(ConfigError, match="DEMO_LMS_URL"):
        check_production({**settings, "SECRET_KEY": "x" * 40, "DEMO_LMS_URL": "http://localhost:5001"})
    check_production({**settings, "SECRET_KEY": "x" * 40})


def test_create_app_refuses_production_without_secret():
    from lti_tool import create_app

    with pytest.raises(ConfigError):
        create_app(ProductionConfig)


def test_environment_overrides():
    settings = config_from_env({"INTEGRATIONSLOEFT_ENV": "production", "DATABASE_URL": "postgresql://u@h/db",
                                "REDIS_URL": "redis://h:6379/0", "TOOL_BASE_URL": "https://t"})
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert settings["REDIS_URL"] == "redis://h:6379/0"
    assert settings["ENV_NAME"] == "production"
    assert database_uri("postgres://a/b") == "postgresql+psycopg://a/b"


@pytest.mark.parametrize(("typed", "expected"), [
    ("42", 42), ("007", 7), ("", None), (None, None), ("-1", None), ("4.2", None), ("²", None), ("٣", None),
    (str(2**31 - 1), 2**31 - 1), (str(2**31), None), ("9" * 18, None),  # INTEGER keys on PostgreSQL
])
def test_record_id_takes_only_ids_a_database_holds(typed, expected):
    assert record_id(typed) == expected


@pytest.mark.parametrize(("roles", "expected"), [
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], True),
    (["Learner"], True),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership/Learner#NonCreditLearner"], True),
    (["urn:lti:role:ims/lis/Learner"], True),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"], False),  # a Canvas observer
    (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"], False),
    ([], False),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
      "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], False),  # there to teach
])
def test_only_enrolled_learners_have_a_gradebook_row(roles, expected):
    assert is_enrolled_learner(roles) is expected
