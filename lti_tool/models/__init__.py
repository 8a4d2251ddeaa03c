"""Typed SQLAlchemy 2.0 models, one module per aggregate."""

from lti_tool.models.base import Base, utcnow
from lti_tool.models.course import Context, ResourceLink
from lti_tool.models.credential import CredentialKey, IssuedCredential
from lti_tool.models.grading import GradeTarget, OutboxState, ScoreMessage
from lti_tool.models.launch import LaunchRecord
from lti_tool.models.operator import Operator
from lti_tool.models.platform import Deployment, Platform, PlatformStatus
from lti_tool.models.progress import ActionPlanFollowUp, ActivityState, Certificate, ModuleProgress, Submission
from lti_tool.models.roster import RosterSnapshot
from lti_tool.models.tool_key import ToolKey
from lti_tool.models.user import User

__all__ = [
    "ActionPlanFollowUp",
    "ActivityState",
    "Certificate",
    "ModuleProgress",
    "OutboxState",
    "Submission",
    "Base",
    "Context",
    "CredentialKey",
    "Deployment",
    "GradeTarget",
    "IssuedCredential",
    "LaunchRecord",
    "Operator",
    "Platform",
    "PlatformStatus",
    "ResourceLink",
    "RosterSnapshot",
    "ScoreMessage",
    "ToolKey",
    "User",
    "utcnow",
]
