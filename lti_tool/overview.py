"""What a launch's home page shows, assembled as plain values for the templates."""

from __future__ import annotations

from dataclasses import dataclass

from lti_tool.lti.roles import Role, effective_role
from lti_tool.models import LaunchRecord


@dataclass(frozen=True)
class LaunchOverview:
    launch_id: str
    user_name: str | None
    course_title: str | None
    link_title: str | None
    role: Role
    platform_name: str
    return_url: str | None
    opened_in_iframe: bool


def launch_overview(record: LaunchRecord) -> LaunchOverview:
    presentation = record.claims.get("presentation", {})
    context = record.context
    return LaunchOverview(
        launch_id=record.id,
        user_name=record.user.name,
        course_title=(context.title or context.label) if context else None,
        link_title=record.resource_link.title if record.resource_link else None,
        role=effective_role(record.roles),
        platform_name=record.deployment.platform.name,
        return_url=presentation.get("return_url"),
        opened_in_iframe=presentation.get("document_target", "iframe") == "iframe",
    )
