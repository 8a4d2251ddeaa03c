"""Roles from the LTI roles claim: context, institution and system roles, full or short names."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

from lti_tool.lti import claims


class Role(enum.StrEnum):
    """What the tool lets a person do in a course: teach or learn."""

    INSTRUCTOR = "instructor"
    LEARNER = "learner"


# Context roles that may manage the course's use of the tool (LTI 1.3 Core §A.2.3).
_TEACHING_CONTEXT_ROLES = {"Instructor", "Administrator", "ContentDeveloper", "TeachingAssistant"}
# Institution and system roles that administer the platform (Core §A.2.1, §A.2.2).
_ADMIN_ROLES = {"Administrator", "SysAdmin"}
_LEGACY_URNS = (("urn:lti:role:ims/lis/", "context"), ("urn:lti:instrole:ims/lis/", "institution"),
                ("urn:lti:sysrole:ims/lis/", "system"))
_SUBROLE_PREFIX = "http://purl.imsglobal.org/vocab/lis/v2/membership/"
_SHORT_NAME = re.compile(r"[A-Za-z]+")


def parse_role(uri: str) -> tuple[str, str]:
    """Return (scope, name) for a role URI or short name; scope is context/institution/system."""
    if uri.startswith(claims.ROLE_PREFIX_CONTEXT):
        name = uri[len(claims.ROLE_PREFIX_CONTEXT) :]
        return "context", name.split("#", 1)[0]
    if uri.startswith(claims.ROLE_PREFIX_INSTITUTION):
        return "institution", uri[len(claims.ROLE_PREFIX_INSTITUTION) :]
    if uri.startswith(claims.ROLE_PREFIX_SYSTEM):
        return "system", uri[len(claims.ROLE_PREFIX_SYSTEM) :]
    # Sub-roles such as http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant
    if uri.startswith(_SUBROLE_PREFIX):
        principal, _, sub_role = uri[len(_SUBROLE_PREFIX):].partition("#")
        return "context", sub_role or principal
    # LTI 1.1 URNs, still sent by some platforms (Core §A.2.4 deprecates, not forbids, them).
    for prefix, scope in _LEGACY_URNS:
        if uri.startswith(prefix):
            return scope, uri[len(prefix):].rsplit("/", 1)[-1]
    # Short names ("Instructor") are deprecated but still sent; they are context roles. Any
    # other URI is a vendor's own role: its last segment must not pass for an LIS role, or
    # "https://vendor.example/roles#Instructor" would open the instructor pages.
    if _SHORT_NAME.fullmatch(uri):
        return "context", uri
    return "unknown", uri


def effective_role(roles: Iterable[str]) -> Role:
    """Instructors manage the course; everyone else, including no or unknown roles, learns."""
    for uri in roles:
        scope, name = parse_role(str(uri))
        if scope == "context" and name in _TEACHING_CONTEXT_ROLES:
            return Role.INSTRUCTOR
        if scope in {"institution", "system"} and name in _ADMIN_ROLES:
            return Role.INSTRUCTOR
    return Role.LEARNER


def is_enrolled_learner(roles: Iterable[str]) -> bool:
    """A context Learner role (full, short or sub-role), and no teaching role: someone with a
    gradebook row, whose scores go to the LMS. Observers (Mentor), guests and members with no
    role are learners to the tool, not to the gradebook; an instructor who also holds Learner
    is there to teach."""
    roles = [str(r) for r in roles]
    if effective_role(roles) == Role.INSTRUCTOR:
        return False
    for uri in roles:
        scope, name = parse_role(str(uri))
        if scope == "context" and (name == "Learner" or str(uri).startswith(_SUBROLE_PREFIX + "Learner")):
            return True
    return False
