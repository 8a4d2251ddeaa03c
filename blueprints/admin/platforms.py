"""Platforms: approve, disable and enable them, edit their endpoints, manage deployments, purge."""

from __future__ import annotations

import logging

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from blueprints.admin import bp
from lti_tool.extensions import db
from lti_tool.operating import console
from lti_tool.operating import platforms as service

log = logging.getLogger("lti_tool.admin")


def _changed(platform_id: int, message: str) -> BaseResponse:
    flash(message, "ok")
    return redirect(url_for("admin.platform", platform_id=platform_id))


def _refused(platform_id: int, error: service.PlatformError) -> BaseResponse:
    flash(_("Nothing was changed: %(reason)s", reason=str(error)), "error")
    return redirect(url_for("admin.platform", platform_id=platform_id))


@bp.get("/platforms")
def platforms() -> str:
    """The list of registered platforms with their status."""
    rows = console.platform_rows(db.session())
    return render_template("admin/platforms.html", rows=rows, labels=console.STATUS_LABELS)


@bp.get("/platforms/<int:platform_id>")
def platform(platform_id: int) -> str:
    """One platform's page: its registration, deployments and status."""
    found = service.get_platform(db.session(), platform_id)
    return render_template("admin/platform.html", platform=found, labels=console.STATUS_LABELS)


@bp.post("/platforms/<int:platform_id>/status")
def change_status(platform_id: int) -> BaseResponse:
    """Approve, disable or re-enable a platform (the form's `action`)."""
    try:
        changed = service.change_status(db.session(), platform_id, request.form.get("action", ""))
    except service.PlatformError as error:
        return _refused(platform_id, error)
    log.info("operator %s set platform %s %s", g.operator.id, platform_id, changed.status)
    return _changed(platform_id, _("%(name)s is now %(status)s.", name=changed.name,
                                   status=console.STATUS_LABELS[changed.status]))


@bp.post("/platforms/<int:platform_id>")
def edit_platform(platform_id: int) -> BaseResponse:
    """Save a platform's name and registration endpoints from the edit form."""
    form = request.form
    try:
        service.update_platform(db.session(), platform_id, name=form.get("name", ""),
                                auth_login_url=form.get("auth_login_url", ""),
                                auth_token_url=form.get("auth_token_url", ""),
                                key_set_url=form.get("key_set_url", ""),
                                auth_audience=form.get("auth_audience"))
    except service.PlatformError as error:
        return _refused(platform_id, error)
    log.info("operator %s edited platform %s", g.operator.id, platform_id)
    return _changed(platform_id, _("The platform's settings were saved."))


@bp.post("/platforms/<int:platform_id>/deployments")
def add_deployment(platform_id: int) -> BaseResponse:
    """Allow one more deployment id of a platform."""
    try:
        service.add_deployment(db.session(), platform_id, request.form.get("deployment_id", ""))
    except service.PlatformError as error:
        return _refused(platform_id, error)
    return _changed(platform_id, _("The deployment was added."))


@bp.post("/platforms/<int:platform_id>/deployments/<int:deployment_pk>/remove")
def remove_deployment(platform_id: int, deployment_pk: int) -> BaseResponse:
    """Remove one deployment id from a platform, logged."""
    service.remove_deployment(db.session(), platform_id, deployment_pk)
    log.info("operator %s removed deployment %s of platform %s", g.operator.id, deployment_pk,
             platform_id)
    return _changed(platform_id, _("The deployment was removed."))


@bp.post("/platforms/<int:platform_id>/purge")
def purge_platform(platform_id: int) -> BaseResponse:
    """Everything that came through the platform, deleted; asks for an explicit confirmation."""
    platform = service.get_platform(db.session(), platform_id)
    if request.form.get("confirm") != platform.name:
        flash(_("Type the platform's name to confirm the deletion."), "error")
        return redirect(url_for("admin.platform", platform_id=platform_id) + "#purge")
    name = platform.name
    counts = service.purge(db.session(), platform_id) or {}
    log.warning("operator %s purged platform %s: %s", g.operator.id, platform_id, counts)
    flash(_("%(name)s and all its data were deleted.", name=name), "ok")
    return redirect(url_for("admin.platforms"))
