"""The demo LMS as an application of its own: another site than the tool, with its own database,
store, keys and cookies. It reaches the tool only over HTTP, as a real LMS does.

`make demo` serves it beside the tool (`python -m lti_tool.demo_lms.serve`); the tests start it on
`localhost` while the tool runs on `127.0.0.1`, so every flow crosses sites as in the field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, redirect
from werkzeug.wrappers import Response as BaseResponse

from config.settings import database_uri
from lti_tool.demo_lms.cli import lms_cli
from lti_tool.demo_lms.database import lms_db
from lti_tool.demo_lms.services import LmsServices
from lti_tool.demo_lms.views import bp
from lti_tool.store import make_store

REPO_ROOT = Path(__file__).resolve().parents[2]

DEFAULTS: dict[str, Any] = {
    "LMS_BASE_URL": "http://localhost:5001",
    "TOOL_BASE_URL": "http://127.0.0.1:5000",
    "SECRET_KEY": "demo-lms-only-not-secret",
    "SQLALCHEMY_DATABASE_URI": "",
    "REDIS_URL": "",
    "REDIS_PREFIX": "demo-lms:",
    "HTTP_TIMEOUT": (3.05, 10.0),
    "PLATFORM_JWKS_TTL": 3600,
    "PLATFORM_JWKS_MIN_REFETCH": 0,
    "DEMO_TOKEN_LIFETIME": 3600,
    # Moodle does not answer lti.frameResize; Canvas and others do. Off, as in Moodle.
    "LMS_FRAME_RESIZE": False,
}


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The LMS's settings for `make demo`: its own SQLite file and store in instance/demo-lms/."""
    env = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for name in ("LMS_BASE_URL", "TOOL_BASE_URL"):
        if env.get(name):
            settings[name] = env[name]
    if env.get("LMS_DATABASE_URL"):
        settings["SQLALCHEMY_DATABASE_URI"] = database_uri(env["LMS_DATABASE_URL"])
    settings["LMS_FRAME_RESIZE"] = env.get("LMS_FRAME_RESIZE", "").lower() in {"1", "true", "yes", "on"}
    return settings


def create_lms_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The demo LMS's app factory (FLASK_APP=lti_tool.demo_lms.app:create_lms_app)."""
    settings = dict(DEFAULTS)
    settings.update(settings_from_env() if config is None else config)
    instance = Path(settings.get("INSTANCE_PATH") or REPO_ROOT / "instance" / "demo-lms")
    app = Flask("lti_tool.demo_lms", instance_path=str(instance),
                template_folder=str(REPO_ROOT / "templates"), static_folder=str(REPO_ROOT / "static"))
    app.config.update(settings)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(instance / "demo-lms.db")
    lms_db.init_app(app)
    app.extensions["demo_lms"] = LmsServices(
        store=make_store(app.config["REDIS_URL"], instance / "store", prefix=app.config["REDIS_PREFIX"]),
        settings=app.config)
    app.register_blueprint(bp)
    app.cli.add_command(lms_cli)

    @app.get("/")
    def _home() -> BaseResponse:
        return redirect("/demo-lms/")

    @app.get("/favicon.ico")
    def _favicon() -> BaseResponse:
        return app.send_static_file("favicon.ico")  # the demo's pages are the tool's too

    return app
