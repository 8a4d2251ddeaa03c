"""Logging: one line per event, with the request id; JSON in production."""

from __future__ import annotations

import json
import logging
import sys

from flask import Flask, g, has_request_context


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
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
    root = logging.getLogger("lti_tool")
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    if any(getattr(h, "_integrationsloeft", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._integrationsloeft = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    if app.config.get("LOG_JSON"):
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
        )
    root.addHandler(handler)
    root.propagate = True
