"""Production mode: health and readiness, metrics, rate limits, size limits, fail-fast start-up."""

from __future__ import annotations

import io
import json
import logging
import os
import uuid

import pytest

from config.settings import ConfigError
from lti_tool import create_app
from lti_tool.web.health import require_ready
from lti_tool.web.logs import JsonFormatter, RequestIdFilter
from tests.conftest import settings_for
from tests.support.agent import text_of
from tests.support.crafting import crafted_launch


def test_healthz_and_readyz(agent):
    assert agent.get("/healthz").json() == {"status": "ok"}
    ready = agent.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True and ready.json()["migrations_current"] is True


def test_readyz_reports_a_schema_behind_the_code(tmp_path):
    app = create_app(settings_for("embedded", tmp_path, "http://127.0.0.1:5998"))  # never migrated
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "flask db upgrade" in response.get_json()["detail"]
    with pytest.raises(ConfigError, match="cannot start"):
        require_ready(app)


def test_start_up_fails_fast_when_postgres_is_unreachable(tmp_path):
    settings = settings_for("embedded", tmp_path, "http://127.0.0.1:5997",
                            SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none",
                            SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}})
    with pytest.raises(ConfigError, match="database"):
        require_ready(create_app(settings))


def test_metrics_count_launch_outcomes_and_are_internal_only(app, agent, live):
    crafted_launch(app, agent)
    crafted_launch(app, agent, lambda body: body.update(aud="someone-else"))
    text = agent.get("/metrics").text
    assert 'integrationsloeft_launches_total{outcome="accepted",reason=""}' in text
    assert 'integrationsloeft_launches_total{outcome="refused",reason="wrong_audience"}' in text
    assert "integrationsloeft_outbox_depth" in text
    assert "integrationsloeft_request_seconds_bucket" in text


def test_metrics_token_is_required_when_configured(make_app):
    app = make_app(METRICS_TOKEN="s3cret-token-for-scrapers")
    client = app.test_client()
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    # A header outside ASCII is just wrong, not a 500 (hmac.compare_digest refuses such strings).
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-tøken"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-token-for-scrapers"}).status_code == 200
    # Without a token, a public client address is refused.
    open_app = make_app()
    assert open_app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "8.8.8.8"}).status_code == 403


def test_login_is_rate_limited_with_a_localised_page(make_app):
    app = make_app(RATELIMIT_ENABLED=True, LIMIT_LTI="3 per minute")
    client = app.test_client()
    statuses = [client.get("/lti/login", query_string={"iss": "x"}).status_code for _ in range(4)]
    assert statuses[:3] == [400, 400, 400]
    limited = client.get("/lti/login", query_string={"iss": "x"}, headers={"Accept-Language": "da"})
    assert limited.status_code == 429
    assert "Prøv igen om et minut" in limited.get_data(as_text=True) or "rate_limited" in limited.get_data(as_text=True)


def test_rate_limits_are_counted_once_for_every_instance(make_app):
    """On Redis, two instances share one count per client address and endpoint."""
    if not os.environ.get("TEST_REDIS_URL"):
        pytest.skip("TEST_REDIS_URL not set")
    shared = {"RATELIMIT_ENABLED": True, "LIMIT_LTI": "3 per minute", "REDIS_URL": os.environ["TEST_REDIS_URL"],
              "REDIS_PREFIX": f"il-limits-{uuid.uuid4().hex[:8]}:"}
    a, b = make_app(**shared).test_client(), make_app(**shared).test_client()
    login = {"query_string": {"iss": "x"}}

    assert [a.get("/lti/login", **login).status_code for _ in range(2)] == [400, 400]
    assert b.get("/lti/login", **login).status_code == 400
    assert b.get("/lti/login", **login).status_code == 429
    assert a.get("/lti/login", **login).status_code == 429
    # Another endpoint has its own count.
    assert a.post("/lti/launch", data={}).status_code == 400


def test_registration_is_rate_limited(make_app):
    client = make_app(RATELIMIT_ENABLED=True, LIMIT_REGISTRATION="2 per minute").test_client()
    statuses = [client.get("/lti/register").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]  # the page asking for the platform's configuration, twice


def test_an_unreachable_rate_counter_refuses_nobody(make_app):
    """Rate limits protect the tool; an outage of their counter must not lock every learner out."""
    app = make_app(RATELIMIT_ENABLED=True, LIMIT_LTI="1 per minute", RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    client = app.test_client()
    # Listened to here: the app's migrations (alembic's fileConfig) replace the root's handlers.
    logged: list[logging.LogRecord] = []
    listener = logging.Handler(logging.WARNING)
    listener.emit = logged.append  # type: ignore[method-assign]
    logging.getLogger("lti_tool.limits").addHandler(listener)
    try:
        statuses = [client.get("/lti/login", query_string={"iss": "x"}).status_code for _ in range(3)]
    finally:
        logging.getLogger("lti_tool.limits").removeHandler(listener)
    assert statuses == [400, 400, 400]  # refused for what they are, not 429 and not 500
    assert len([r for r in logged if "rate limit storage unreachable" in r.getMessage()]) == 3


def test_oversized_request_is_refused_before_parsing(agent):
    response = agent.post("/lti/launch", {"id_token": "x" * (3 * 1024 * 1024), "state": "s"})
    assert response.status_code == 413
    assert "Traceback" not in response.text
    assert "Startbeskeden er ikke en gyldig LTI 1.3-besked." in text_of(response.text)


def test_an_oversized_form_of_the_tools_own_pages_is_not_called_a_bad_launch(agent):
    home = agent.launch("jonas", "vejle-int", "rl-nyankomne")
    response = agent.http.post(home.url + "m/nyankomne/a/x", data={"text": "x" * (3 * 1024 * 1024)}, timeout=30)
    assert response.status_code == 413
    page = text_of(response.text)
    assert "Det, du sendte, er for stort til at blive modtaget." in page
    assert "LTI" not in page


def _logged(app, path, **request_options):
    """The response to a GET, and the log as production writes it (JSON lines with the request id)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("lti_tool")
    logger.addHandler(handler)
    try:
        response = app.test_client().get(path, **request_options)
    finally:
        logger.removeHandler(handler)
    return response, stream.getvalue()


def test_each_request_writes_one_json_access_line_with_its_request_id_and_no_query(make_app):
    """Production logs: JSON lines that all carry the request's id; the access line names the path
    but not the query string, where login hints and other platform identifiers travel."""
    response, log = _logged(make_app(LOG_REQUESTS=True), "/lti/login",
                            query_string={"iss": "https://unknown.example", "login_hint": "person-4711"},
                            headers={"X-Request-Id": "req42"})
    assert response.status_code == 400
    assert response.headers["X-Request-Id"] == "req42"
    lines = [json.loads(line) for line in log.splitlines()]
    assert {line["request_id"] for line in lines} == {"req42"}
    access = [line for line in lines if line["logger"] == "lti_tool.access"]
    assert len(access) == 1
    assert access[0]["method"] == "GET" and access[0]["path"] == "/lti/login" and access[0]["status"] == 400
    assert isinstance(access[0]["duration_ms"], float)
    assert any(line["logger"] != "lti_tool.access" for line in lines)  # the refusal's own warning
    assert "person-4711" not in log


def test_logs_mask_the_launch_id_in_paths(make_app):
    """A launch id in a URL opens that launch for hours: the logs name the page, not the id."""
    launch_id = "L" * 43
    response, log = _logged(make_app(LOG_REQUESTS=True), f"/c/{launch_id}/m/nyankomne/")
    assert response.status_code in (401, 403, 410)
    lines = [json.loads(line) for line in log.splitlines()]
    assert [line["path"] for line in lines if line["logger"] == "lti_tool.access"] == ["/c/…/m/nyankomne/"]
    assert len(lines) >= 2 and launch_id not in log


def test_the_access_line_can_be_switched_off(make_app):
    app = make_app(LOG_REQUESTS=False)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("lti_tool.access").addHandler(handler)
    try:
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        logging.getLogger("lti_tool.access").removeHandler(handler)
    assert records == []
