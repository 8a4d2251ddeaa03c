"""The instructor's pages, all under the launch id: dashboard, CSV, grading, deep linking."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response as BaseResponse

from blueprints.access import launch_required, role_required
from lti_tool.errors import NotFound, ToolError
from lti_tool.extensions import csrf, db
from lti_tool.lti import deep_linking
from lti_tool.lti.roles import Role
from lti_tool.models import ResourceLink
from lti_tool.progress import service, state
from lti_tool.progress.scoring import AnswerError
from lti_tool.runtime import runtime
from lti_tool.teaching import dashboard as dash
from lti_tool.teaching import review, roster
from lti_tool.teaching.overview import LaunchOverview, launch_overview

bp = Blueprint("instructor", __name__, url_prefix="/c/<launch_id>/instructor")
csrf.exempt(bp)  # launch_required checks the launch-scoped form token instead


def _overview() -> LaunchOverview:
    """What every page of this launch shows (name, course, the programme its link opens)."""
    return launch_overview(g.launch, runtime().catalog())


def _placement() -> state.Placement:
    placement = state.placement_for(g.launch.resource_link, runtime().catalog())
    if placement is None:
        raise NotFound("this link opens nothing yet")
    return placement


def _roster_place() -> dict[str, Any] | None:
    """Where this launch's course roster is kept and read from; None without NRPS or a course."""
    url = g.launch.memberships_url
    if url is None or g.launch.context_id is None:
        return None
    return {"platform_id": g.launch.platform_id, "context_pk": g.launch.context_id, "url": url}


def _dashboard(placement: state.Placement) -> dash.Dashboard:
    """The dashboard from the last roster snapshot; never waits on the LMS (see lti_tool.teaching.roster)."""
    place = _roster_place()
    status = roster.for_dashboard(db.session(), **place) if place else None
    return dash.build(db.session(), platform_id=g.launch.platform_id, context_pk=g.launch.context_id,
                      modules=placement.modules, roster=status)


@bp.get("/")
@launch_required
@role_required(Role.INSTRUCTOR)
def home() -> str | BaseResponse:
    """The course dashboard, filtered, sorted and paged by the query; the content picker for a link not set up."""
    placement = state.placement_for(g.launch.resource_link, runtime().catalog())
    if placement is None:
        if g.launch.resource_link is not None:
            return redirect(url_for("instructor.pick", launch_id=g.launch.id))
        return render_template("instructor/home.html", overview=_overview(), placement=None)
    board = _dashboard(placement)
    module_id = request.args.get("module", placement.modules[0].id)
    rows = dash.filtered(board, role=request.args.get("role", "learner"), status=request.args.get("status", ""),
                         module_id=module_id, sort=request.args.get("sort", "name"),
                         descending=request.args.get("desc") == "1")
    # Not a number: the first page, as for a link without one.
    page = dash.page_of(rows, request.args.get("page", 1, type=int))
    # The page links keep the filters and the sort, and nothing else from the address.
    kept = {name: request.args[name] for name in _FILTERS if request.args.get(name)}
    return render_template("instructor/home.html", overview=_overview(), placement=placement,
                           board=board, page=page, kept=kept, args=request.args, module_id=module_id)


_FILTERS = ("role", "module", "status", "sort", "desc")


@bp.post("/roster/refresh")
@launch_required
@role_required(Role.INSTRUCTOR)
def refresh_roster() -> BaseResponse:
    """The "Refresh roster" button: queued for the grade worker, then back to the dashboard."""
    place = _roster_place()
    if place is None:
        raise NotFound("this launch's course has no roster service")
    roster.request_refresh(db.session(), **place)
    return redirect(url_for("instructor.home", launch_id=g.launch.id), code=303)


@bp.get("/export.csv")
@launch_required
@role_required(Role.INSTRUCTOR)
def export_csv() -> Response:
    """Progress in the link's modules as CSV (all roles unless `role`), delimited as Excel expects in the locale."""
    placement = _placement()
    board = _dashboard(placement)
    rows = dash.filtered(board, role=request.args.get("role", "all"), status="", module_id="", sort="name",
                         descending=False)
    # Danish and Swedish Excel expect semicolons; English Excel commas.
    delimiter = "," if g.launch.locale == "en" else ";"
    response = Response(dash.to_csv(board, rows, delimiter=delimiter), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="integrationsloeft-progress.csv"'
    return response


@bp.get("/grading")
@launch_required
@role_required(Role.INSTRUCTOR)
def grading() -> str:
    """The reflections in the link's modules that wait for grading in this course."""
    items = review.pending_reviews(db.session(), _placement().modules, g.launch.context_id)
    return render_template("instructor/grading.html", overview=_overview(), items=items,
                           graded=request.args.get("graded"))


@bp.route("/grading/<int:submission_id>", methods=["GET", "POST"])
@launch_required
@role_required(Role.INSTRUCTOR)
def grade(submission_id: int) -> str | tuple[str, int] | BaseResponse:
    """A submission's rubric form; a valid POST stores the grade and returns to the list, a faulty one is a 400."""
    item = review.review_item(db.session(), submission_id, _placement().modules, g.launch.context_id)
    faults: frozenset[str] = frozenset()
    if request.method == "POST":
        rubric = review.read_rubric(item.case.rubric, request.form)
        faults = rubric.faults
        if not faults:
            try:
                service.grade_submission(db.session(), runtime().catalog(), item.submission.id, item.module,
                                         item.activity, grader_id=g.launch.user_id, points=rubric.points,
                                         feedback=request.form.get("feedback", ""))
                return redirect(url_for("instructor.grading", launch_id=g.launch.id, graded=submission_id))
            except AnswerError as refused:  # the criterion the stored grade's own check refused
                faults = frozenset({str(refused)})
    # A refused form comes back with everything as typed and each field at fault marked: a 400.
    page = render_template("instructor/grade.html", overview=_overview(), item=item, faults=faults,
                           error=_("Give each criterion a number of points between 0 and its maximum.")
                           if faults else None, form=request.form, other=review.OTHER_POINTS)
    return (page, 400) if faults else page


@bp.route("/pick", methods=["GET", "POST"])
@launch_required
@role_required(Role.INSTRUCTOR)
def pick() -> str | BaseResponse:
    """Bind a resource link made by hand in the LMS to a programme or a module."""
    if g.launch.resource_link is None:
        raise NotFound("launch without resource link")
    link = db.session.get_one(ResourceLink, g.launch.resource_link.id)
    catalog = runtime().catalog()
    if request.method == "POST":
        service.bind_link(db.session(), catalog, link, request.form.get("placement", ""))
        return redirect(url_for("instructor.home", launch_id=g.launch.id))
    return render_template("instructor/pick.html", overview=_overview(),
                           programmes=catalog.programmes_for(g.launch.locale), locale=g.launch.locale)


@bp.route("/deep-link", methods=["GET", "POST"])
@launch_required
@role_required(Role.INSTRUCTOR)
def deep_link() -> str:
    """The catalogue for a deep-linking request, and the signed answer to the platform."""
    settings = g.launch.deep_linking
    if not settings.return_url:
        raise ToolError("deep linking launch without return URL", reason="no_deep_link_return")
    catalog = runtime().catalog()
    if request.method == "GET":
        return render_template("instructor/deep_link.html", overview=_overview(), settings=settings,
                               programmes=catalog.programmes_for(g.launch.locale), locale=g.launch.locale)
    token = deep_linking.signed_answer(
        db.session(), str(runtime().settings["SECRET_KEY"]), catalog, settings, request.form.getlist("item"),
        cancelled="cancel" in request.form, launch_url=runtime().base_url + "/lti/launch", locale=g.launch.locale,
        client_id=g.launch.platform_client_id, platform_issuer=g.launch.platform_issuer,
        deployment_id=g.launch.deployment_id, message=_added)
    return render_template("lti/form_post.html", action=settings.return_url, fields={"JWT": token})


def _added(count: int) -> str:
    """The note the platform shows after a deep-linking answer of `count` items."""
    if not count:
        return str(_("Nothing was added."))
    return str(ngettext("%(num)d activity added from Integrationsløft.",
                        "%(num)d activities added from Integrationsløft.", count))
