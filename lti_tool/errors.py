"""Every failure a user can meet, as a named exception with a status, a reason code for the
logs and metrics, a localised message and a hint for whoever can fix it; and which of the
tool's dependencies an exception says is unreachable (a 503 and a back-off, not a bug)."""

from __future__ import annotations

import redis.exceptions
from flask_babel import lazy_gettext as _l
from sqlalchemy import exc as sa_exc

# The dependencies a request or the grade worker can find unreachable, as logs and metrics name them.
DATABASE = "database"
REDIS = "redis"


def failing_dependency(error: BaseException) -> str | None:
    """"database" or "redis" when `error` (or what caused it) says that dependency is unreachable."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
            return REDIS
        # OperationalError: connection refused or lost, server shutting down, SQLite's file gone
        # or locked; InterfaceError: a connection already closed; TimeoutError: the pool is empty.
        if isinstance(current, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
            return DATABASE
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return DATABASE
        current = current.__cause__ or current.__context__
    return None


def summary(error: BaseException) -> str:
    """The error's class and first line, short enough for one log line."""
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{error.__class__.__name__}: {first_line}"[:300]


class ToolError(Exception):
    """A failure the user meets: its `status`, and the localised `message` and `hint` the error page shows."""

    status = 400
    reason = "bad_request"
    message = _l("The request could not be handled.")
    hint = _l("Try again from your learning platform.")

    def __init__(self, detail: str = "", *, reason: str | None = None) -> None:
        # `detail` goes to the log only; users see `message` and `hint`.
        super().__init__(detail or self.reason)
        self.detail = detail
        if reason:
            self.reason = reason


class InvalidLaunch(ToolError):
    """A launch message that cannot be trusted or used."""

    reason = "invalid_launch"
    message = _l("The launch from your learning platform could not be verified.")
    hint = _l(
        "Start the activity again from the course. If it keeps happening, ask your platform "
        "administrator to check the tool's registration."
    )


class UnknownPlatform(InvalidLaunch):
    """The launch's issuer and client ID match no registered platform."""

    reason = "unknown_platform"
    message = _l("This learning platform is not registered with Integrationsløft.")
    hint = _l(
        "The platform administrator must register the tool (issuer and client ID) with the "
        "operator of Integrationsløft before it can be used."
    )


class InactivePlatform(InvalidLaunch):
    """The platform is registered but pending approval or disabled by the operator."""

    status = 403
    reason = "inactive_platform"
    message = _l("This learning platform's registration is not active.")
    hint = _l(
        "A new registration waits for the operator's approval, or the operator has disabled it. "
        "Contact the operator of Integrationsløft."
    )


class InactiveDeployment(InvalidLaunch):
    """The launch's deployment ID is unknown for its platform, or not active."""

    status = 403
    reason = "unknown_deployment"
    message = _l("This deployment of the tool is not known.")
    hint = _l(
        "The platform administrator must give the operator the deployment ID shown in the "
        "tool's settings in the platform."
    )


class BadSignature(InvalidLaunch):
    """The id_token's signature does not verify, or the platform's keys to check it cannot be read."""

    reason = "bad_signature"
    message = _l("The launch message's signature is not valid.")
    hint = _l(
        "The platform's public key (JWKS URL) registered with the tool may be wrong, or the "
        "message was altered on the way."
    )


class ExpiredLaunch(InvalidLaunch):
    """The id_token has expired (`exp`) or was issued in the future (`iat`)."""

    reason = "expired_token"
    message = _l("The launch message has expired or is not yet valid.")
    hint = _l("Start the activity again. If it keeps happening, check the platform's clock.")


class ReplayedLaunch(InvalidLaunch):
    """The launch's state or nonce was used before, so the message is a replay."""

    reason = "replayed_launch"
    message = _l("This launch has already been used.")
    hint = _l("Each launch can be used once. Start the activity again from the course.")


class SessionExpired(ToolError):
    """The login state or parked launch this request continues is unknown or has expired."""

    status = 401
    reason = "session_expired"
    message = _l("Your session has expired or was not found.")
    hint = _l("Open the activity again from your course in the learning platform.")


class SessionExpiredAnswerKept(SessionExpired):
    """A page of an expired launch posted an answer, and it was kept for the learner's next launch."""

    reason = "session_expired_answer_kept"
    message = _l("Your session had ended, so this page could not save or submit your answer. It has been kept.")
    hint = _l("Open the activity again from your course in the learning platform: what you wrote will be "
              "there, to go on with or to submit.")


class StateMismatch(InvalidLaunch):
    """The launch's state is missing, or is not the one this browser's login step left."""

    reason = "state_mismatch"
    message = _l("The launch did not come back to the browser that started it.")
    hint = _l(
        "Your browser may block cookies in embedded pages. Open the activity in a new window, "
        "or start it again."
    )


class WrongMessage(InvalidLaunch):
    """The message's type, version or claims are not what LTI 1.3 or the tool accepts."""

    reason = "wrong_message"
    message = _l("The launch message is not a valid LTI 1.3 message.")
    hint = _l(
        "The platform sent a message type, version or set of claims the tool does not accept. "
        "The platform administrator can check the tool's LTI 1.3 settings."
    )


class NoLinkPlacement(WrongMessage):
    """A deep-linking request from a placement that does not accept LTI resource links."""

    reason = "deep_linking_without_links"
    message = _l("This place in your learning platform does not accept links to activities.")
    hint = _l(
        "Integrationsløft adds activities (LTI resource links). Add it where your platform offers "
        "external tools as activities, for example \"Add an activity or resource\" in Moodle."
    )


class LoginRejected(ToolError):
    """The login request lacks a required parameter or targets a URL outside the tool."""

    reason = "login_rejected"
    message = _l("The login request from your learning platform is incomplete.")
    hint = _l("Start the activity again from the course.")


class AccessDenied(ToolError):
    """The user's role does not allow the page (instructor pages, for example)."""

    status = 403
    reason = "forbidden"
    message = _l("You do not have access to this page.")
    hint = _l("This page is for course instructors.")


class NotFound(ToolError):
    """The page or record does not exist where the request looks (this course, link or module)."""

    status = 404
    reason = "not_found"
    message = _l("The page was not found.")
    hint = _l("Go back to the course and open the activity again.")


class PlatformUnavailable(ToolError):
    """The learning platform did not answer in time while a person waits (its JWKS during a launch)."""

    status = 502
    reason = "platform_unavailable"
    message = _l("The learning platform did not answer in time.")
    hint = _l("Nothing was lost. Try again in a moment.")


class DependencyUnavailable(ToolError):
    """The database or Redis did not answer: nothing the user did is wrong, and nothing was lost."""

    status = 503
    reason = "dependency_unavailable"
    message = _l("Integrationsløft is briefly unavailable.")
    hint = _l("Nothing was lost. Try again in a moment.")
    # Seconds a client is asked to wait (the Retry-After header): a restart or fail-over.
    retry_after = 30

    def __init__(self, dependency: str, detail: str = "") -> None:
        super().__init__(f"{dependency} unavailable: {detail}" if detail else f"{dependency} unavailable")
        self.dependency = dependency


class NotAwaitingGrading(ToolError):
    """The reflection was graded already, or the learner has sent a newer one since."""

    status = 409
    reason = "not_awaiting_grading"
    message = _l("This answer is no longer waiting for grading.")
    hint = _l(
        "The learner may have sent a newer answer, or it has been graded. Open the list of answers "
        "to grade again."
    )
