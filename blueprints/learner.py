"""The learner's pages, all under the launch id."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
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
from lti_tool.extensions import csrf, db
from lti_tool.launch.live import LiveLaunch
from lti_tool.lti.roles import Role, effective_role
from lti_tool.progress import learning, service
from lti_tool.progress.scoring import AnswerError, AnswerTooLong
from lti_tool.runtime import runtime
from lti_tool.teaching.overview import launch_overview

bp = Blueprint("learner", __name__, url_prefix="/c/<launch_id>")
csrf.exempt(bp)  # launch_required checks the launch-scoped form token instead

media = Blueprint("content_media", __name__)

MEDIA_TYPES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".pdf", ".docx", ".xlsx", ".pptx", ".txt", ".odt"}


@bp.get("/")
@launch_required
def home() -> str | Response:
    return course_page(course_view())


# Registered without a URL rule (Flask's endpoint decorator): blueprints/lti.py calls it by
# endpoint for the launch POST, so the LTI blueprint does not import this one.
@bp.endpoint("learner.landing")
def landing(launch_id: str, live: LiveLaunch | None = None) -> Response:
    """A learner's launch answers with the course's first page itself, not a 303 to it.

    One round trip less for every learner of a class launching at once. The page names its own
    address, and static/js/frame.js puts it in the history, so a reload asks for the page, not
    the spent launch. The launch was committed before the page is read: a page that fails loses
    no launch. `live` is the launch as recorded, when the recording could tell it (no second read)."""
    enter_launch(launch_id, live)
    g.canonical_url = url_for("learner.home", launch_id=launch_id)
    response = make_response(course_page(course_view()))
    response.headers["Content-Location"] = g.canonical_url
    response.headers["Cache-Control"] = "no-store"
    return response


def course_view() -> learning.CourseHome:
    return learning.course_home(db.session(), runtime().catalog(), g.launch)


def course_page(view: learning.CourseHome) -> str | Response:
    """The course's first page for `g.launch`; also the answer to a learner's launch POST."""
    if view.placement is None:
        if effective_role(g.launch.roles) == Role.INSTRUCTOR:
            return redirect(url_for("instructor.pick", launch_id=g.launch.id))
        return render_template("learner/not_set_up.html", overview=launch_overview(g.launch))
    return render_template("learner/home.html", overview=launch_overview(g.launch), view=view)


@bp.get("/m/<module_id>/")
@launch_required
def module(module_id: str) -> str:
    _, found = learning.reachable_module(runtime().catalog(), g.launch, module_id)
    view = learning.module_overview(db.session(), g.launch.user_id, found)
    return render_template("learner/module.html", overview=launch_overview(g.launch), view=view)


@bp.get("/m/<module_id>/a/<activity_id>")
@launch_required
def activity(module_id: str, activity_id: str) -> str:
    catalog = runtime().catalog()
    _, found = learning.reachable_module(catalog, g.launch, module_id)
    page = learning.activity_page(db.session(), catalog, g.launch, found, activity_id,
                                  retake=request.args.get("retake") == "1", seed=g.launch.user_sub,
                                  secret_key=str(runtime().settings["SECRET_KEY"]))
    return render_template("learner/activity.html", overview=launch_overview(g.launch), page=page,
                           error=request.args.get("error"))


@bp.post("/m/<module_id>/a/<activity_id>/draft")
@launch_required
def save_draft(module_id: str, activity_id: str) -> Response:
    _, found = learning.reachable_module(runtime().catalog(), g.launch, module_id)
    exercise = found.activity(activity_id)
    if exercise is None or not exercise.is_exercise:
        abort(404)
    answer = learning.answer_from_form(exercise, request.form)
    service.save_draft(db.session(), g.launch.user_id, found, exercise, answer)
    if request.headers.get("X-Requested-With") == "fetch":
        return jsonify(saved=True)
    return redirect(url_for("learner.activity", launch_id=g.launch.id, module_id=module_id,
                            activity_id=activity_id, retake=1, saved=1))


@bp.post("/m/<module_id>/a/<activity_id>")
@launch_required
def submit(module_id: str, activity_id: str) -> Response:
    catalog = runtime().catalog()
    _, found = learning.reachable_module(catalog, g.launch, module_id)
    exercise = found.activity(activity_id)
    if exercise is None or not exercise.is_exercise:
        abort(404)
    target = {"launch_id": g.launch.id, "module_id": module_id, "activity_id": activity_id}
    try:
        service.submit_answer(db.session(), catalog, g.launch.user_id, found, exercise,
                              learning.answer_from_form(exercise, request.form),
                              too_long=learning.answer_too_long(exercise, request.form))
    except AnswerTooLong:
        return redirect(url_for("learner.activity", retake=1, error="too_long", **target) + "#exercise")
    except AnswerError:
        return redirect(url_for("learner.activity", retake=1, error="incomplete", **target) + "#exercise")
    except (service.AttemptsUsed, service.AlreadyGraded) as exc:
        return redirect(url_for("learner.activity", error=exc.reason, **target))
    return redirect(url_for("learner.activity", **target) + "#result")


@bp.get("/certificate/<programme_id>")
@launch_required
def certificate(programme_id: str) -> str:
    view = learning.certificate_page(db.session(), runtime().catalog(), g.launch, programme_id)
    return render_template("learner/certificate.html", overview=launch_overview(g.launch), programme=view.programme,
                           certificate=view.certificate, status=view.status, locale=g.launch.locale)


@media.get("/content/<programme_id>/<module_id>/<path:filename>")
def content_file(programme_id: str, module_id: str, filename: str) -> Response:
    """Images and downloads inside a pack; only from a module's media folder."""
    programme = runtime().catalog().programmes.get(programme_id)
    found = programme.module(module_id) if programme else None
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if found is None or not filename.startswith("media/") or suffix not in MEDIA_TYPES:
        abort(404)
    response = send_from_directory(found.folder, filename, max_age=3600)
    # A pack's SVG or PDF opened on its own must not run scripts in the tool's origin.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
    return response
