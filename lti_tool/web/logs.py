"""Logging: one line per event, with the request id; JSON in production."""

from __future__ import annotations

import json
import logging
import re
import sys

from flask import Flask, g, has_request_context, request


def launch_id_in_path(path: str) -> str | None:
    """The launch id of a /c/<launch_id>/… address, whether or not a route matched the rest."""
    parts = path.split("/", 3)
    return parts[2] if len(parts) > 2 and parts[1] == "c" and parts[2] else None


def logged_path() -> str:
    """The request's path for the logs, its launch id masked: the id stands in for a session."""
    path = str(request.path)
    launch_id = (request.view_args or {}).get("launch_id") or launch_id_in_path(path)
    prefix = f"/c/{launch_id}"
    if isinstance(launch_id, str) and launch_id and (path == prefix or path.startswith(prefix + "/")):
        return "/c/…" + path[len(prefix):]  # the segment only: a short id may occur elsewhere in the path
    return path


class RequestIdFilter(logging.Filter):
    """Adds the request's id (or "-" outside a request) to every record, for the log format."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Set `record.request_id`; lets every record through."""
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


# Query (or fragment) parameters whose values are secrets or name a person: a registration token
# registers a tool, an id_token or access token is a credential for minutes to hours, state and
# code belong to a login in progress, the hints identify the person logging in.
URL_SECRETS = ("registration_token", "id_token", "access_token", "refresh_token", "token", "client_assertion",
               "jwt", "state", "code", "login_hint", "lti_message_hint")
_URL_SECRET = re.compile(
    # After ?, &, ; or # (or their percent-encodings, inside another URL's parameter); the value runs to
    # the next separator, quote or space.
    r"(?P<lead>[?&;#]|%3F|%26|%23)(?P<name>" + "|".join(URL_SECRETS) + r")(?P<eq>=|%3D)"
    r"(?:(?!%26|%23)[^&;#\s\"'])+",
    re.IGNORECASE,
)


def mask_url_secrets(text: str) -> str:
    """`text` with the value of every secret URL parameter replaced by "…"."""
    return _URL_SECRET.sub(r"\g<lead>\g<name>\g<eq>…", text)


class UrlSecretFilter(logging.Filter):
    """Masks secrets from URLs in a record's message: for servers that log whole request lines
    (Werkzeug's development server, gunicorn's access log) and for error details quoting a URL."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record's message in place; lets every record through."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: the handler reports it as it would anyway
            return True
        masked = mask_url_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


# Loggers of the servers the app runs under, which log the request line with its query string.
SERVER_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id and any structured fields the record has."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        for key in ("reason", "status", "method", "path", "duration_ms", "dependency"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(app: Flask) -> None:
    """The tool's handler on the "lti_tool" logger, and secret-masking on the servers' loggers."""
    # On the loggers themselves: their records are logged there, not in child loggers, and go
    # to handlers the servers install (Werkzeug adds its own on first use).
    for name in SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        if not any(isinstance(f, UrlSecretFilter) for f in server_logger.filters):
            server_logger.addFilter(UrlSecretFilter())
    root = logging.getLogger("lti_tool")
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    if any(getattr(h, "_integrationsloeft", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._integrationsloeft = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    handler.addFilter(UrlSecretFilter())  # every lti_tool.* record passes here, not through a logger filter
    if app.config.get("LOG_JSON"):
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
        )
    root.addHandler(handler)
    root.propagate = True
