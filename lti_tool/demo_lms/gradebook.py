"""AGS line items and scores, NRPS memberships and the deep-linking return, Moodle-style."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from babel.numbers import format_decimal
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.demo_lms import directory
from lti_tool.demo_lms.models import DemoLineItem, DemoResourceLink, DemoScore, DemoToolRegistration
from lti_tool.demo_lms.platform import DemoError, DemoUrls
from lti_tool.lti import claims
from lti_tool.lti.platform_keys import PlatformKeys

ACTIVITY_PROGRESS = {"Initialized", "Started", "InProgress", "Submitted", "Completed"}
GRADING_PROGRESS = {"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}

# What a course coordinator reads in the gradebook (the demo LMS speaks Danish, as a Danish Moodle);
# the AGS values behind them are shown on demand.
ACTIVITY_WORDS = {"Initialized": "Åbnet", "Started": "Begyndt", "InProgress": "I gang",
                  "Submitted": "Afleveret", "Completed": "Gennemført"}
GRADING_WORDS = {"FullyGraded": "Bedømt", "Pending": "Afventer bedømmelse",
                 "PendingManual": "Afventer bedømmelse", "Failed": "Bedømmelsen mislykkedes", "NotReady": ""}


@dataclass(frozen=True)
class GradebookCell:
    """One learner's score on one line item, in a coordinator's words and in the protocol's."""

    score: str  # "14 af 15", or "–" while there is no final grade
    status: str  # "Afleveret · Afventer bedømmelse"
    protocol: str  # "activityProgress InProgress · gradingProgress PendingManual · scoreGiven 14.0"
    comment: str | None


def _points(value: float) -> str:
    return format_decimal(value, format="#,##0.#", locale="da_DK")


def gradebook_cell(score: DemoScore, item: DemoLineItem) -> GradebookCell:
    """What the gradebook shows for `score`: "14 af 15" and "Gennemført · Bedømt", AGS values aside."""
    shown = "–" if score.score_given is None else f"{_points(score.score_given)} af {_points(item.score_maximum)}"
    words = [ACTIVITY_WORDS.get(score.activity_progress, score.activity_progress),
             GRADING_WORDS.get(score.grading_progress, score.grading_progress)]
    protocol = [f"activityProgress {score.activity_progress}", f"gradingProgress {score.grading_progress}"]
    if score.score_given is not None:
        protocol.append(f"scoreGiven {score.score_given:.1f} / {score.score_maximum or item.score_maximum:.1f}")
    return GradebookCell(shown, " · ".join(w for w in words if w), " · ".join(protocol), score.comment)


def course_or_404(course_id: str) -> directory.DemoCourse:
    """The demo course with this id; DemoError (404) when there is none."""
    course = directory.COURSES.get(course_id)
    if course is None:
        raise DemoError("not_found", "no such course", 404)
    return course


def line_item_json(item: DemoLineItem, urls: DemoUrls) -> dict[str, Any]:
    """The line item as the AGS line item JSON a tool reads (optional fields only when set)."""
    data: dict[str, Any] = {
        "id": urls.lineitem_url(item.course_id, item.id),
        "label": item.label,
        "scoreMaximum": item.score_maximum,
    }
    if item.resource_link_id:
        data["resourceLinkId"] = item.resource_link_id
    if item.resource_id:
        data["resourceId"] = item.resource_id
    if item.tag:
        data["tag"] = item.tag
    return data


def list_line_items(session: Session, course_id: str, filters: dict[str, str]) -> list[DemoLineItem]:
    """The course's line items in creation order, narrowed by the AGS query filters given."""
    course_or_404(course_id)
    query = select(DemoLineItem).where(DemoLineItem.course_id == course_id)
    if filters.get("resource_link_id"):
        query = query.where(DemoLineItem.resource_link_id == filters["resource_link_id"])
    if filters.get("resource_id"):
        query = query.where(DemoLineItem.resource_id == filters["resource_id"])
    if filters.get("tag"):
        query = query.where(DemoLineItem.tag == filters["tag"])
    return list(session.scalars(query.order_by(DemoLineItem.id)))


def create_line_item(session: Session, course_id: str, data: dict[str, Any]) -> DemoLineItem:
    """Store a line item from a tool's AGS POST; DemoError (400) without a label and positive maximum."""
    course_or_404(course_id)
    try:
        maximum = float(data["scoreMaximum"])
        label = str(data["label"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DemoError("invalid_request", "label and a numeric scoreMaximum are required") from exc
    if maximum <= 0 or not label:
        raise DemoError("invalid_request", "scoreMaximum must be positive and label non-empty")
    item = DemoLineItem(course_id=course_id, label=label, score_maximum=maximum,
                        resource_link_id=data.get("resourceLinkId"), resource_id=data.get("resourceId"),
                        tag=data.get("tag"))
    session.add(item)
    session.commit()
    return item


def get_line_item(session: Session, course_id: str, item_id: int) -> DemoLineItem:
    """The line item with this id in this course; DemoError (404) otherwise."""
    item = session.get(DemoLineItem, item_id)
    if item is None or item.course_id != course_id:
        raise DemoError("not_found", "no such line item", 404)
    return item


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise DemoError("invalid_request", "timestamp is required")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise DemoError("invalid_request", "timestamp is not ISO 8601") from exc
    if parsed.tzinfo is None:
        raise DemoError("invalid_request", "timestamp needs a time zone")  # as Blackboard
    return parsed


def post_score(session: Session, item: DemoLineItem, data: dict[str, Any]) -> DemoScore:
    """Accept a score as Moodle does (mod/lti/service/gradebookservices)."""
    user_id = str(data.get("userId") or "")
    course = course_or_404(item.course_id)
    if directory.role_in(course, user_id) != directory.LEARNER:
        raise DemoError("invalid_request", "Incorrect score received", 400)
    activity, grading = data.get("activityProgress"), data.get("gradingProgress")
    if activity not in ACTIVITY_PROGRESS or grading not in GRADING_PROGRESS:
        raise DemoError("invalid_request", "activityProgress and gradingProgress are required")
    timestamp = _timestamp(data.get("timestamp"))
    score = session.scalars(
        select(DemoScore).where(DemoScore.line_item_id == item.id, DemoScore.user_id == user_id)
    ).first()
    if score is not None and timestamp <= score.timestamp:
        raise DemoError("conflict", "timestamp is not later than the stored one", 409)
    if score is None:
        score = DemoScore(line_item_id=item.id, user_id=user_id, received=0)
        session.add(score)
    given = data.get("scoreGiven")
    maximum = data.get("scoreMaximum")
    if given is not None and (not isinstance(given, int | float) or not isinstance(maximum, int | float)
                              or maximum <= 0 or given < 0):
        raise DemoError("invalid_request", "scoreGiven needs a positive scoreMaximum")
    # Moodle keeps scoreGiven only when the grading is final; otherwise the grade is emptied.
    if grading == "FullyGraded" and isinstance(given, int | float) and isinstance(maximum, int | float):
        score.score_given = float(given) * item.score_maximum / float(maximum)
        score.score_maximum = item.score_maximum
    else:
        score.score_given = None
        score.score_maximum = None
    score.activity_progress = str(activity)
    score.grading_progress = str(grading)
    score.comment = data.get("comment")
    score.timestamp = timestamp
    score.received = (score.received or 0) + 1
    session.commit()
    return score


def results(session: Session, item: DemoLineItem, urls: DemoUrls, user_id: str | None) -> list[dict[str, Any]]:
    """The item's AGS results, one per user (only `user_id`'s when given), without a score if none given."""
    query = select(DemoScore).where(DemoScore.line_item_id == item.id)
    if user_id:
        query = query.where(DemoScore.user_id == user_id)
    out = []
    for score in session.scalars(query.order_by(DemoScore.user_id)):
        entry: dict[str, Any] = {
            "id": f"{urls.lineitem_url(item.course_id, item.id)}/results/{score.user_id}",
            "scoreOf": urls.lineitem_url(item.course_id, item.id),
            "userId": score.user_id,
        }
        if score.score_given is not None:
            entry["resultScore"] = score.score_given
            entry["resultMaximum"] = score.score_maximum
        if score.comment:
            entry["comment"] = score.comment
        out.append(entry)
    return out


def memberships(course_id: str, urls: DemoUrls, *, page: int, limit: int) -> tuple[dict[str, Any], str | None]:
    """One page of the roster (NRPS 2.0 §2.4) and the URL of the next page, if any."""
    course = course_or_404(course_id)
    everyone = directory.members(course)
    start = page * limit
    chunk = everyone[start:start + limit]
    body = {
        "id": urls.memberships_url(course_id),
        "context": {"id": course.id, "label": course.label, "title": course.title},
        "members": [
            {"status": "Active", "name": u.name, "given_name": u.given_name, "family_name": u.family_name,
             "email": u.email, "user_id": u.id, "roles": [role]}
            for u, role in chunk
        ],
    }
    more = start + limit < len(everyone)
    next_url = f"{urls.memberships_url(course_id)}?limit={limit}&page={page + 1}" if more else None
    return body, next_url


def accept_deep_link_response(session: Session, course_id: str, token: str, *, reg: DemoToolRegistration,
                              urls: DemoUrls, tool_keys: PlatformKeys) -> tuple[list[DemoResourceLink], str | None]:
    """Verify the tool's LtiDeepLinkingResponse (DL 2.0 §4.2) and create its links and line items."""
    course_or_404(course_id)
    try:
        header = jwt.get_unverified_header(token)
        key = tool_keys.key_for(reg.jwks_url, header.get("kid"), header.get("alg"))
        body = jwt.decode(token, key, algorithms=[str(header.get("alg"))], audience=urls.issuer,
                          issuer=reg.client_id, leeway=60, options={"require": ["exp", "iat", "iss", "aud", "nonce"]})
    except Exception as exc:  # noqa: BLE001 - any failure means the response is not trusted
        raise DemoError("invalid_request", f"deep linking response rejected: {exc}") from exc
    if body.get(claims.MESSAGE_TYPE) != claims.MSG_DEEP_LINKING_RESPONSE:
        raise DemoError("invalid_request", "not an LtiDeepLinkingResponse")
    if body.get(claims.DEPLOYMENT_ID) != reg.deployment_id:
        raise DemoError("invalid_request", "wrong deployment_id")
    created = []
    for item in body.get(claims.DL_CONTENT_ITEMS) or []:
        if not isinstance(item, dict) or item.get("type") != "ltiResourceLink":
            continue  # Moodle accepts only ltiResourceLink
        link = DemoResourceLink(course_id=course_id, link_id="rl-" + secrets.token_hex(6),
                                title=str(item.get("title") or "Integrationsløft"), text=item.get("text"),
                                url=item.get("url"),
                                custom={str(k): str(v) for k, v in (item.get("custom") or {}).items()})
        session.add(link)
        line_item = item.get("lineItem")
        if isinstance(line_item, dict) and line_item.get("scoreMaximum"):
            session.add(DemoLineItem(course_id=course_id, resource_link_id=link.link_id,
                                     label=str(line_item.get("label") or link.title),
                                     score_maximum=float(line_item["scoreMaximum"]),
                                     resource_id=line_item.get("resourceId"), tag=line_item.get("tag")))
        session.flush()
        created.append(link)
    session.commit()
    return created, body.get(claims.DL_MSG) or body.get(claims.DL_ERRORMSG)


def gradebook(session: Session, course_id: str
              ) -> tuple[list[DemoLineItem], list[directory.DemoUser], dict[tuple[int, str], GradebookCell]]:
    """The course's line items, its learners (a page), and each score as the gradebook shows it."""
    course = course_or_404(course_id)
    items = list(session.scalars(
        select(DemoLineItem).where(DemoLineItem.course_id == course_id).order_by(DemoLineItem.id)))
    scores = {(s.line_item_id, s.user_id): s for s in session.scalars(
        select(DemoScore).where(DemoScore.line_item_id.in_([i.id for i in items])))}
    # Everyone with a score, then the rest of the roster up to a page of 50: the large course
    # has a thousand members, most of whom never open the activity.
    scored = {user_id for _, user_id in scores}
    members = [u for u, role in directory.members(course) if role == directory.LEARNER]
    learners = [u for u in members if u.id in scored]
    # Made-up learners are not on the roster, but their scores show.
    learners += [u for user_id in sorted(scored) if (u := directory.fresh_user(course, user_id)) is not None]
    learners += [u for u in members if u.id not in scored][:max(0, 50 - len(learners))]
    by_id = {item.id: item for item in items}
    cells = {key: gradebook_cell(score, by_id[key[0]]) for key, score in scores.items()}
    return items, learners, cells


def scores_of(session: Session, course_id: str, user_id: str) -> dict[str, DemoScore]:
    """One learner's scores in a course by resource link id, to show them their grades and comments."""
    rows = session.execute(
        select(DemoLineItem.resource_link_id, DemoScore)
        .join(DemoScore, DemoScore.line_item_id == DemoLineItem.id)
        .where(DemoLineItem.course_id == course_id, DemoScore.user_id == user_id))
    return {str(link_id): score for link_id, score in rows if link_id}
