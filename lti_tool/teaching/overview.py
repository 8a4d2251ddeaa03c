"""What a launch's home page shows, assembled as plain values for the templates."""

from __future__ import annotations

from dataclasses import dataclass

from lti_tool.content.model import Catalog
from lti_tool.launch.live import LiveLaunch
from lti_tool.lti.roles import Role, effective_role
from lti_tool.progress.state import placement_for


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
    # The programme the launch's link opens, named in the interface language (the page footer),
    # and the language its content is written in; None when the link opens nothing yet.
    programme_title: str | None = None
    content_language: str | None = None
    interface_language: str = "da"

    @property
    def content_in_other_language(self) -> bool:
        """The content is written in another language than the interface speaks: the learner is told."""
        return self.content_language is not None and self.content_language != self.interface_language


def launch_overview(record: LiveLaunch, catalog: Catalog) -> LaunchOverview:
    """The launch's plain values every page of it shows, with the programme its link opens in `catalog`."""
    placement = placement_for(record.resource_link, catalog)
    programme = placement.programme if placement else None
    return LaunchOverview(
        launch_id=record.id,
        user_name=record.user_name,
        course_title=record.course_title,
        link_title=record.resource_link.title if record.resource_link else None,
        role=effective_role(record.roles),
        platform_name=record.platform_name,
        return_url=record.return_url,
        opened_in_iframe=record.opened_in_iframe,
        programme_title=programme.title_in(record.locale) if programme else None,
        content_language=programme.language if programme else None,
        interface_language=record.locale,
    )
