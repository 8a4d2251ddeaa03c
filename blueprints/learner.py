"""The learner's pages, all under the launch id."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from werkzeug.wrappers import Response

from blueprints.access import enter_launch, launch_required
from lti_tool.credentials import certificates, downloads
from lti_tool.errors import SessionExpired, SessionExpiredAnswerKept
from lti_tool.extensions import csrf, db
from lti_tool.launch.live import LiveLaunch, launch_locale
from lti_tool.lti.roles import Role, effective_role
from lti_tool.progress import followup, learning, rescue, service
from lti_tool.progress.rules import ActivityRecord
from lti_tool.progress.scoring import AnswerError, AnswerTooLong
from lti_tool.runtime import runtime
from lti_tool.teaching.overview import LaunchOverview, launch_overview
from lti_tool.web import set_locale

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("learner", __name__, url_prefix="/c/<launch_id>")
csrf.exempt(bp)  # launch_required checks the launch-scoped form token instead

media = Blueprint("content_media", __name__)

MEDIA_TYPES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".pdf", ".docx", ".xlsx", ".pptx", ".txt", ".odt"}
# Office formats named here, not left to the host's mime.types: a template must open as what it is.
OFFICE_MIMETYPES = {
    ".odt": "application/vnd.oasis.opendocument.text",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


def _overview() -> LaunchOverview:
    """What every page of this launch shows (name, course, the programme its link opens)."""
    return launch_overview(g.launch, runtime().catalog())


@bp.get("/")
@launch_required
def home() -> str | Response:
    """The course's first page for this launch: the modules its link opens and the learner's progress."""
    return course_page(course_view())


# Registered without a URL rule (Flask's endpoint decorator): blueprints/lti.py calls it by
# endpoint for the launch POST, so the LTI blueprint does not import this one.
@bp.endpoint("learner.landing")
def landing(launch_id: str, live: LiveLaunch | None = None,
            records: Mapping[str, Mapping[str, ActivityRecord]] | None = None) -> Response:
    """A learner's launch answers with the course's first page itself, not a 303 to it.

    One round trip less for every learner of a class launching at once. The page names its own
    address, and static/js/frame.js puts it in the history, so a reload asks for the page, not
    the spent launch. The launch was committed before the page is read: a page that fails loses
    no launch. `live` and `records` are the launch and the learner's records as the recording read
    them, when it could (no second read, no second transaction)."""
    enter_launch(launch_id, live)
    g.canonical_url = url_for("learner.home", launch_id=launch_id)
    view = course_view(records)
    response = make_response(course_page(view, learning.follow_up_on_launch(db.session(), view, g.launch.user_id)))
    response.headers["Content-Location"] = g.canonical_url
    response.headers["Cache-Control"] = "no-store"
    return response


def course_view(records: Mapping[str, Mapping[str, ActivityRecord]] | None = None) -> learning.CourseHome:
    """What the course page shows this launch's learner: the placement and their progress in it
    (`records`: the learner's records, when the launch read them already)."""
    return learning.course_home(db.session(), runtime().catalog(), g.launch, records)


def course_page(view: learning.CourseHome, follow_up: followup.FollowUpQuestion | None = None) -> str | Response:
    """The course's first page for `g.launch`; also the answer to a learner's launch POST, which
    may ask how an action plan went (`follow_up`)."""
    if view.placement is None:
        if effective_role(g.launch.roles) == Role.INSTRUCTOR:
            return redirect(url_for("instructor.pick", launch_id=g.launch.id))
        return render_template("learner/not_set_up.html", overview=_overview())
    return render_template("learner/home.html", overview=_overview(), view=view, follow_up=follow_up,
                           outcomes=learning.OUTCOME_LABELS, answered=request.args.get("followed_up") == "1")


@bp.get("/rules")
@launch_required
def rules() -> str:
    """The rules the link's modules state, each with its status, date and source."""
    page = learning.rules_page(runtime().catalog(), g.launch)
    return render_template("learner/rules.html", overview=_overview(), page=page)


@bp.get("/m/<module_id>/")
@launch_required
def module(module_id: str) -> str:
    """A module's overview page, with its credential once completed (if CREDENTIALS_PER_MODULE)."""
    page = certificates.module_page(db.session(), runtime().catalog(), g.launch, module_id, current_app.config)
    return render_template("learner/module.html", overview=_overview(), view=page.overview, page=page)


@bp.get("/m/<module_id>/a/<activity_id>")
@launch_required
def activity(module_id: str, activity_id: str) -> str:
    """One activity, recorded as opened; `retake=1` shows the form again, `role=choose` the role picker."""
    catalog = runtime().catalog()
    _, found = learning.reachable_module(catalog, g.launch, module_id)
    page = learning.activity_page(db.session(), catalog, g.launch, found, activity_id,
                                  retake=request.args.get("retake") == "1", seed=g.launch.user_sub,
                                  secret_key=str(runtime().settings["SECRET_KEY"]),
                                  change_role=request.args.get("role") == "choose")
    return render_template("learner/activity.html", overview=_overview(), page=page,
                           error=request.args.get("error"))


def keeps_answer_of_ended_launch(view: F) -> F:
    """For the exercise POSTs: when the launch has expired, keep the posted answer for the
    learner's next launch (progress/rescue.py) and say so, instead of only "session expired"."""

    @functools.wraps(view)
    def wrapper(*, launch_id: str, module_id: str, activity_id: str) -> Any:
        try:
            return view(launch_id=launch_id, module_id=module_id, activity_id=activity_id)
        except SessionExpired as expired:
            set_locale(launch_locale(db.session(), launch_id))
            kept = rescue.keep_answer_of_ended_launch(
                db.session(), runtime().catalog(), secret_key=str(current_app.config["SECRET_KEY"]),
                window=timedelta(seconds=current_app.config["DRAFT_RESCUE_WINDOW"]), launch_id=launch_id,
                module_id=module_id, activity_id=activity_id, form=request.form,
                sent_token=request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", ""))
            if kept:
                raise SessionExpiredAnswerKept(expired.detail) from expired
            raise

    return wrapper  # type: ignore[return-value]


def _version(raw: str | None) -> int | None:
    """The draft version a save is based on, as autosave sends it; None when not sent (or not a number)."""
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 10 else None


@bp.post("/m/<module_id>/a/<activity_id>/draft")
@keeps_answer_of_ended_launch
@launch_required
def save_draft(module_id: str, activity_id: str) -> Response | tuple[Response, int]:
    """Keep the learner's unfinished answer; JSON for the page's autosave, else back to the form.

    A 409 with the stored version when another tab saved in between."""
    _, found = learning.reachable_module(runtime().catalog(), g.launch, module_id)
    exercise = found.activity(activity_id)
    if exercise is None or not exercise.is_exercise:
        abort(404)
    answer = learning.answer_from_form(exercise, request.form)
    try:
        version = service.save_draft(db.session(), g.launch.user_id, found, exercise, answer,
                                     based_on=_version(request.form.get("draft_version")),
                                     took_rescue=request.form.get("rescue"))
    except service.DraftConflict as conflict:
        # The page offers both versions; the log line says a second tab was at work.
        current_app.logger.info("draft of %s: %s", activity_id, conflict.detail)
        return jsonify(error=conflict.reason, version=conflict.version, answer=conflict.answer), 409
    if request.headers.get("X-Requested-With") == "fetch":
        return jsonify(saved=True, version=version)
    return redirect(url_for("learner.activity", launch_id=g.launch.id, module_id=module_id,
                            activity_id=activity_id, retake=1, saved=1))


@bp.post("/m/<module_id>/a/<activity_id>")
@keeps_answer_of_ended_launch
@launch_required
def submit(module_id: str, activity_id: str) -> Response:
    """Score and store an answer, then back to the activity: its result, or the form with what was wrong."""
    catalog = runtime().catalog()
    _, found = learning.reachable_module(catalog, g.launch, module_id)
    exercise = found.activity(activity_id)
    if exercise is None or not exercise.is_exercise:
        abort(404)
    target = {"launch_id": g.launch.id, "module_id": module_id, "activity_id": activity_id}
    try:
        service.submit_answer(db.session(), catalog, g.launch.user_id, found, exercise,
                              learning.answer_from_form(exercise, request.form),
                              too_long=learning.answer_too_long(exercise, request.form),
                              took_rescue=request.form.get("rescue"))
    except AnswerTooLong:
        return redirect(url_for("learner.activity", retake=1, error="too_long", **target) + "#exercise")
    except AnswerError:
        return redirect(url_for("learner.activity", retake=1, error="incomplete", **target) + "#exercise")
    except (service.AttemptsUsed, service.AlreadyGraded) as exc:
        return redirect(url_for("learner.activity", error=exc.reason, **target))
    return redirect(url_for("learner.activity", **target) + "#result")


@bp.post("/m/<module_id>/a/<activity_id>/follow-up")
@launch_required
def follow_up(module_id: str, activity_id: str) -> Response:
    """The learner's answer to how their action plan went; kept with the plan."""
    _, found = learning.reachable_module(runtime().catalog(), g.launch, module_id)
    plan = found.activity(activity_id)
    if plan is None or plan.type != "action_plan":
        abort(404)
    followup.record_answer(db.session(), g.launch.user_id, found, plan, request.form.get("outcome", ""),
                           request.form.get("note", ""))
    return redirect(url_for("learner.home", launch_id=g.launch.id, followed_up=1))


@bp.get("/certificate/<programme_id>")
@launch_required
def certificate(programme_id: str) -> str:
    """The learner's certificate for a programme, issued on first view once it is complete."""
    view = certificates.certificate_page(db.session(), runtime().catalog(), g.launch, programme_id,
                                         current_app.config)
    return render_template("learner/certificate.html", overview=_overview(), view=view,
                           certificate=view.certificate, status=view.status, locale=g.launch.locale)


@bp.post("/certificate/<programme_id>/credential")
@launch_required
def issue_credential(programme_id: str) -> Response:
    """Issue the Open Badges 3.0 credential once the learner has confirmed its name."""
    module_id = request.form.get("module") or None
    downloads.issue_for_launch(db.session(), runtime().catalog(), g.launch, current_app.config,
                               programme_id=programme_id, module_id=module_id,
                               holder_name=request.form.get("holder_name", ""),
                               confirmed=request.form.get("confirm") == "yes")
    if module_id:
        return redirect(url_for("learner.module", launch_id=g.launch.id, module_id=module_id) + "#credential")
    return redirect(url_for("learner.certificate", launch_id=g.launch.id, programme_id=programme_id) + "#credential")


@bp.get("/certificate/<programme_id>/credential.<fmt>")
@launch_required
def download_credential(programme_id: str, fmt: str) -> Response:
    """The credential as JSON, VC-JWT, or a badge image (SVG or PNG) with it baked in."""
    file = downloads.download(db.session(), g.launch, programme_id=programme_id,
                              module_id=request.args.get("module") or None, fmt=fmt)
    response = make_response(file.body)
    response.mimetype = file.mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@media.get("/content/<programme_id>/<module_id>/<path:filename>")
def content_file(programme_id: str, module_id: str, filename: str) -> Response:
    """Images and downloads inside a pack; only from a module's media folder."""
    programme = runtime().catalog().programmes.get(programme_id)
    found = programme.module(module_id) if programme else None
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if found is None or not filename.startswith("media/") or suffix not in MEDIA_TYPES:
        abort(404)
    response = send_from_directory(found.folder, filename, max_age=3600, mimetype=OFFICE_MIMETYPES.get(suffix))
    # A pack's SVG or PDF opened on its own must not run scripts in the tool's origin.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
    return response
