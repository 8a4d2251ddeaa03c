"""Settings objects.

`EmbeddedConfig` runs with nothing installed (SQLite and a file cache in `instance/`),
`ProductionConfig` reads everything from the environment and refuses unsafe defaults, and
`TestConfig` is the embedded one with testing switches. Any of them can be overridden by the
environment variables in `ENV_SETTINGS`.
"""

from __future__ import annotations

import os
from typing import Any

DEFAULT_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused by ProductionConfig


class EmbeddedConfig:
    """The no-setup default: one machine, SQLite, a file-system cache, the grade worker in-process."""

    ENV_NAME = "embedded"
    SECRET_KEY = DEFAULT_SECRET_KEY
    SQLALCHEMY_DATABASE_URI = ""  # filled in by create_app: sqlite in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    REDIS_URL = ""
    TOOL_BASE_URL = "http://127.0.0.1:5000"
    # The demo LMS's address when one runs beside the tool (`make demo`): `/` leads there and
    # `flask demo setup` registers it. The demo LMS is an app of its own (lti_tool/demo_lms/app.py).
    DEMO_LMS_URL = ""
    PROXY_FIX = False  # trust X-Forwarded-* from one proxy
    TOOL_NAME = "Integrationsløft"
    # The organisation that issues certificates and credentials (the consortium running the tool):
    # its name, web address (empty: TOOL_BASE_URL) and postal address, printed on every certificate.
    ISSUER_NAME = "Integrationsløft"
    ISSUER_URL = ""
    ISSUER_ADDRESS = ""
    # Open Badges 3.0: a credential per completed module as well as per programme.
    CREDENTIALS_PER_MODULE = False
    # The largest credential or badge image the public verification page reads (bytes).
    CREDENTIAL_UPLOAD_MAX_BYTES = 512 * 1024
    # Launches stay usable this long without activity (seconds).
    LAUNCH_LIFETIME = 8 * 3600
    # A page of an expired launch may still hand in the learner's unsaved answer this long after
    # the launch expired (seconds): a weekend away from an open tab. See progress/rescue.py.
    DRAFT_RESCUE_WINDOW = 3 * 24 * 3600
    # OIDC state waits this long between login and launch (seconds).
    LOGIN_STATE_LIFETIME = 10 * 60
    # Clock skew allowed on iat/exp/nbf (seconds).
    JWT_LEEWAY = 60
    # Largest id_token accepted before any parsing (bytes).
    MAX_ID_TOKEN_BYTES = 64 * 1024
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    # Platform JWKS kept this long; an unknown kid refetches at most once per interval.
    PLATFORM_JWKS_TTL = 24 * 3600
    PLATFORM_JWKS_MIN_REFETCH = 30
    # Retired tool keys stay in the JWKS this long so platforms can still verify old tokens.
    TOOL_KEY_GRACE = 7 * 24 * 3600
    # Outbound HTTP: (connect, read) seconds.
    HTTP_TIMEOUT = (3.05, 10.0)
    BABEL_DEFAULT_LOCALE = "da"
    BABEL_DEFAULT_TIMEZONE = "Europe/Copenhagen"
    LANGUAGES = ("da", "sv", "en")
    CONTENT_DIR = ""  # filled in by create_app: <repo>/content
    # `flask content check` warns about a rule claim checked longer ago than this (days).
    CONTENT_CLAIM_MAX_AGE_DAYS = 365
    GRADE_WORKER_THREAD = True
    # Dynamic registration: approve new platforms by hand, and (outside production) allow
    # platforms on this machine or network, as the demo LMS is.
    AUTO_APPROVE_REGISTRATIONS = False
    ALLOW_PRIVATE_REGISTRATION_URLS = True
    # Hosts besides instructure.com and its subdomains that may serve a configuration with Canvas
    # cloud's shared issuer (https://canvas.instructure.com): a customer's own Canvas domain.
    # Anyone can claim that issuer, so list only hosts known to be Canvas cloud's. Default none.
    CANVAS_CLOUD_EXTRA_HOSTS: tuple[str, ...] = ()
    # Rate limits per client address and endpoint ("600 per minute"; several separated by ";").
    RATELIMIT_ENABLED = True
    LIMIT_LTI = "600 per minute"
    LIMIT_REGISTRATION = "30 per minute"
    LIMIT_CONSOLE_LOGIN = "20 per minute"
    # The public verification page: generous for an HR office, far too slow to guess codes by.
    LIMIT_VERIFY = "30 per minute"
    # Strict-Transport-Security max-age (seconds) on requests that came over https; 0: not sent.
    HSTS_SECONDS = 0
    # Bearer token for /metrics; unset: /metrics answers internal addresses only.
    METRICS_TOKEN = ""
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    LOG_LEVEL = "INFO"
    LOG_JSON = False
    # One access line per request from the app, with the request id, under any server (`make demo`
    # turns it off: the development server writes its own). gunicorn's is off unless ACCESS_LOG is set.
    LOG_REQUESTS = True
    # The programme's goal: this many practitioners completing at least one module.
    REACH_TARGET = 800
    # Learners not seen for this long are erased by `flask gdpr purge-expired` (days).
    RETENTION_DAYS = 3 * 365
    # The operator console signs out after this long without a request (minutes).
    ADMIN_SESSION_MINUTES = 30


class ProductionConfig(EmbeddedConfig):
    """Everything from the environment; PostgreSQL and Redis; the grade worker as its own process."""

    ENV_NAME = "production"
    SECRET_KEY = ""
    PROXY_FIX = True
    GRADE_WORKER_THREAD = False
    ALLOW_PRIVATE_REGISTRATION_URLS = False
    SESSION_COOKIE_SECURE = True
    HSTS_SECONDS = 365 * 24 * 3600  # browsers then never try the tool over plain http
    LOG_JSON = True
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10}


class TestConfig(EmbeddedConfig):
    """The embedded set-up with testing switches; tests pass further overrides as a mapping."""

    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key-for-tests-only"  # noqa: S105
    GRADE_WORKER_THREAD = False
    PLATFORM_JWKS_MIN_REFETCH = 0
    HTTP_TIMEOUT = (2.0, 2.0)
    RATELIMIT_ENABLED = False  # the limits have their own test
    LOG_REQUESTS = False  # the access line has its own test


ENV_SETTINGS: dict[str, type] = {
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "REDIS_URL": str,
    "TOOL_BASE_URL": str,
    "DEMO_LMS_URL": str,
    "PROXY_FIX": bool,
    "LOG_LEVEL": str,
    "LOG_JSON": bool,
    "LOG_REQUESTS": bool,
    "GRADE_WORKER_THREAD": bool,
    "TOOL_KEY_GRACE": int,
    "LAUNCH_LIFETIME": int,
    "DRAFT_RESCUE_WINDOW": int,
    "AUTO_APPROVE_REGISTRATIONS": bool,
    "METRICS_TOKEN": str,
    "HSTS_SECONDS": int,
    "REDIS_PREFIX": str,
    "RATELIMIT_ENABLED": bool,
    "LIMIT_LTI": str,
    "LIMIT_REGISTRATION": str,
    "LIMIT_CONSOLE_LOGIN": str,
    "LIMIT_VERIFY": str,
    "ISSUER_NAME": str,
    "ISSUER_URL": str,
    "ISSUER_ADDRESS": str,
    "CREDENTIALS_PER_MODULE": bool,
    "ALLOW_PRIVATE_REGISTRATION_URLS": bool,
    "CANVAS_CLOUD_EXTRA_HOSTS": tuple,  # comma-separated
    "REACH_TARGET": int,
    "RETENTION_DAYS": int,
    "ADMIN_SESSION_MINUTES": int,
}

_CONFIGS = {"embedded": EmbeddedConfig, "production": ProductionConfig, "test": TestConfig}


def _parse(kind: type, raw: str) -> Any:
    if kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind is tuple:
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return kind(raw)


def database_uri(url: str) -> str:
    """Map `postgresql://` and `postgres://` to the psycopg 3 driver SQLAlchemy needs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def config_from_env(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Settings for `create_app`: the class named by INTEGRATIONSLOEFT_ENV plus the environment."""
    env = os.environ if environ is None else environ
    base = _CONFIGS.get(env.get("INTEGRATIONSLOEFT_ENV", "embedded"), EmbeddedConfig)
    settings = {k: getattr(base, k) for k in dir(base) if k.isupper()}
    for name, kind in ENV_SETTINGS.items():
        if env.get(name):
            settings[name] = _parse(kind, env[name])
    if settings.get("DATABASE_URL"):
        settings["SQLALCHEMY_DATABASE_URI"] = database_uri(settings.pop("DATABASE_URL"))
    return settings


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message says which and what to do."""


def check_production(settings: dict[str, Any]) -> None:
    """Refuse to start production with settings that would be unsafe or would lose data."""
    if settings.get("ENV_NAME") != "production":
        return
    secret = settings.get("SECRET_KEY") or ""
    if not secret or secret == DEFAULT_SECRET_KEY or len(secret) < 32:
        raise ConfigError("SECRET_KEY must be set to a random value of at least 32 characters.")
    if settings.get("DEMO_LMS_URL"):
        raise ConfigError("DEMO_LMS_URL cannot be set in production.")
    if not str(settings.get("SQLALCHEMY_DATABASE_URI", "")).startswith("postgresql"):
        raise ConfigError("DATABASE_URL must point to PostgreSQL in production.")
    if not settings.get("REDIS_URL"):
        raise ConfigError("REDIS_URL must be set in production (shared launch state).")
    if not str(settings.get("TOOL_BASE_URL", "")).startswith("https://"):
        raise ConfigError("TOOL_BASE_URL must be an https:// URL in production.")
