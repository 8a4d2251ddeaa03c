"""Valid launches 1EdTech certification expects a tool to accept, as learner and instructor."""

from __future__ import annotations

import uuid

import pytest

from lti_tool.lti import claims
from tests.support.crafting import crafted_launch

MEMBERSHIP = claims.ROLE_PREFIX_CONTEXT


def roles(*values):
    def mutate(body):
        body[claims.ROLES] = list(values)
    return mutate


def drop_personal(*names):
    def mutate(body):
        for name in names:
            body.pop(name, None)
    return mutate


def new_link(body):
    body[claims.RESOURCE_LINK] = {"id": "new-" + uuid.uuid4().hex[:8], "title": "Ny aktivitet"}


def email_without_context(body):
    drop_personal("name", "given_name", "family_name")(body)
    body.pop(claims.CONTEXT)


CASES = [
    ("instructor-several-roles", roles(MEMBERSHIP + "Instructor", MEMBERSHIP + "Mentor",
                                       claims.ROLE_PREFIX_INSTITUTION + "Faculty"), "instructor"),
    ("learner-several-roles", roles(MEMBERSHIP + "Learner", claims.ROLE_PREFIX_INSTITUTION + "Student"), "learner"),
    ("short-instructor", roles("Instructor"), "instructor"),
    ("short-learner", roles("Learner"), "learner"),
    ("teaching-assistant-subrole", roles("http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"),
     "instructor"),
    ("system-administrator", roles(claims.ROLE_PREFIX_SYSTEM + "Administrator"), "instructor"),
    ("unknown-role", roles("http://example.com/roles#Wizard"), "learner"),
    ("no-role", roles(), "learner"),
    ("email-only", drop_personal("name", "given_name", "family_name"), "learner"),
    ("names-only", drop_personal("email"), "learner"),
    ("no-personal-data", drop_personal("name", "given_name", "family_name", "email"), "learner"),
    ("email-without-context", email_without_context, "learner"),
    ("new-resource-link", new_link, "learner"),
]


@pytest.mark.parametrize(("mutate", "home"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_certification_launch_is_accepted(app, agent, mutate, home):
    response = crafted_launch(app, agent, mutate)

    assert response.status_code == 303, response.text
    location = response.headers["Location"]
    assert location.endswith("/instructor/") if home == "instructor" else not location.endswith("/instructor/")
    page = agent.get(location)
    assert page.status_code == 200
