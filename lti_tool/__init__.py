"""Integrationsløft: an LTI 1.3 Advantage tool for continuing education in integration work."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from config.settings import EmbeddedConfig, check_production, config_from_env

# lti_tool.web first (isort keeps it there): grading.delivery imports lti_tool.web.metrics, so the
# web package, which needs the runtime, must be loading before the runtime's modules are.
from lti_tool import web  # isort: skip
from lti_tool.cli import register_commands
from lti_tool.extensions import babel, csrf, db, migrate
from lti_tool.runtime import install as install_runtime
from lti_tool.runtime import start_worker_thread
from lti_tool.store import make_store
from lti_tool.web.limits import install as install_limits
from lti_tool.web.logs import configure_logging

REPO_ROOT = Path(__file__).resolve().parent.parent


def _settings(config: type | Mapping[str, Any] | None) -> dict[str, Any]:
    if config is None:
        return config_from_env()
    if isinstance(config, Mapping):
        base = {k: getattr(EmbeddedConfig, k) for k in dir(EmbeddedConfig) if k.isupper()}
        base.update(config)
        return base
    return {k: getattr(config, k) for k in dir(config) if k.isupper()}


def create_app(config: type | Mapping[str, Any] | None = None) -> Flask:
    """The app factory: wires settings, extensions, blueprints and error handling. Nothing else."""
    app = _make_app(_settings(config))
    configure_logging(app)
    _init_extensions(app)
    _install_runtime(app)
    web.install(app)
    install_limits(app)
    _register_blueprints(app)
    register_commands(app)
    _start_grade_worker_on_first_request(app)
    return app


def _make_app(settings: dict[str, Any]) -> Flask:
    """A Flask app on the repository's templates and static files, configured by `settings`."""
    check_production(settings)
    app = Flask(
        __name__,
        instance_path=settings.get("INSTANCE_PATH") or str(REPO_ROOT / "instance"),
        template_folder=str(REPO_ROOT / "templates"),
        static_folder=str(REPO_ROOT / "static"),
    )
    app.config.update(settings)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(
            Path(app.instance_path) / "integrationsloeft.db"
        )
    app.config.setdefault("CONTENT_DIR", str(REPO_ROOT / "content"))
    if not app.config["CONTENT_DIR"]:
        app.config["CONTENT_DIR"] = str(REPO_ROOT / "content")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(REPO_ROOT / "translations")
    return app


def _init_extensions(app: Flask) -> None:
    """SQLAlchemy, Alembic (batch mode for SQLite), flask-babel and CSRF protection."""
    db.init_app(app)
    migrate.init_app(app, db, directory=str(REPO_ROOT / "migrations"), render_as_batch=True)
    babel.init_app(app, locale_selector=web.select_locale)
    csrf.init_app(app)


def _install_runtime(app: Flask) -> None:
    """The shared store (Redis, else files under the instance folder) and the services that use it."""
    store = make_store(
        app.config["REDIS_URL"],
        Path(app.instance_path) / "store",
        prefix=app.config.get("REDIS_PREFIX", "il:"),
    )
    install_runtime(app, store)


def _register_blueprints(app: Flask) -> None:
    """The LTI endpoints, operations, public verification, registration, the learner's and
    instructor's pages, the console."""
    # Imported here, not at the top: the blueprints import lti_tool's modules, so a program that
    # imports a blueprint first would otherwise re-enter it half-initialised through this package.
    from blueprints.admin import bp as admin_bp
    from blueprints.instructor import bp as instructor_bp
    from blueprints.learner import bp as learner_bp
    from blueprints.learner import media as media_bp
    from blueprints.lti import bp as lti_bp
    from blueprints.ops import bp as ops_bp
    from blueprints.public import bp as public_bp
    from blueprints.registration import bp as registration_bp

    app.register_blueprint(lti_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(registration_bp)
    app.register_blueprint(learner_bp)
    app.register_blueprint(media_bp)
    app.register_blueprint(instructor_bp)
    # The operator console: its own sign-in, CSRF-protected forms (see blueprints/admin).
    app.register_blueprint(admin_bp)


def _start_grade_worker_on_first_request(app: Flask) -> None:
    """With GRADE_WORKER_THREAD, start the grade worker thread with the first request."""
    if not app.config.get("GRADE_WORKER_THREAD"):
        return

    @app.before_request
    def _start_grade_worker() -> None:
        # Started with the first request, so CLI commands and imports start no thread.
        if "grade_worker" not in app.extensions:
            start_worker_thread(app)
