"""What a launch's home page shows, assembled as plain values for the templates."""

from __future__ import annotations

from dataclasses import dataclass

from lti_tool.launch.live import LiveLaunch
from lti_tool.lti.roles import Role, effective_role


@dataclass(frozen=True)
class LaunchOverview:
    """The launch's home page values: who, in which course and link, and in which role."""

    launch_id: str
    user_name: str | None
    course_title: str | None
    link_title: str | None
    role: Role
    platform_name: str
    return_url: str | None
    opened_in_iframe: bool


def launch_overview(record: LiveLaunch) -> LaunchOverview:
    """The overview of a live launch, with the person's role in the course."""
    return LaunchOverview(
        launch_id=record.id,
        user_name=record.user_name,
        course_title=record.course_title,
        link_title=record.resource_link.title if record.resource_link else None,
        role=effective_role(record.roles),
        platform_name=record.platform_name,
        return_url=record.return_url,
        opened_in_iframe=record.opened_in_iframe,
    )
