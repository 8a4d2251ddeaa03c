"""Where an accepted launch lands: one dispatcher for every kind of launch.

As django-lti's LtiLaunchBaseView.post hands a launch to handle_resource_launch or
handle_deep_linking_launch, `landing` names the kind; blueprints/lti.py maps each kind to its page.
"""

from __future__ import annotations

from enum import StrEnum

from lti_tool.launch.record import RecordedLaunch
from lti_tool.lti import claims
from lti_tool.lti.roles import Role, effective_role


class Landing(StrEnum):
    """The kinds of launch, each with a page of its own."""

    DEEP_LINKING = "deep_linking"  # an instructor picking content for the platform (DL §4.4)
    INSTRUCTOR = "instructor"  # a resource-link launch by a teacher: the dashboard
    LEARNER = "learner"  # a resource-link launch by anyone else: the course's first page


def landing(record: RecordedLaunch) -> Landing:
    """The kind of an accepted launch, by message type and then role."""
    if record.message_type == claims.MSG_DEEP_LINKING:
        return Landing.DEEP_LINKING
    if effective_role(record.roles) == Role.INSTRUCTOR:
        return Landing.INSTRUCTOR
    return Landing.LEARNER
