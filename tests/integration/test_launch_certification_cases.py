"""Valid launches 1EdTech certification expects a tool to accept, as learner and instructor."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.lti import claims
from lti_tool.models import Context, ResourceLink, User
from tests.support.agent import landing_url
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
    # Beyond certification: edges a real platform sends that must still be accepted.
    ("vendor-role-named-instructor", roles("http://vendor.example/roles#Instructor"), "learner"),
    ("legacy-urn-instructor", roles("urn:lti:role:ims/lis/Instructor"), "instructor"),
    ("clock-skew-within-leeway", lambda b: b.update(iat=int(time.time()) + 30, exp=int(time.time()) - 30),
     "learner"),
    ("audience-list-with-azp", lambda b: b.update(aud=["another-tool", b["aud"]], azp=b["aud"]), "learner"),
]


@pytest.mark.parametrize(("mutate", "home"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_certification_launch_is_accepted(app, agent, mutate, home):
    response = crafted_launch(app, agent, mutate)

    location = landing_url(response)
    assert location.endswith("/instructor/") if home == "instructor" else not location.endswith("/instructor/")
    page = agent.get(location)
    assert page.status_code == 200


def test_overlong_names_and_titles_are_cut_to_fit(app, agent):
    """Names and titles longer than their columns are shortened, not a 500 (PostgreSQL refuses them)."""
    sub = "long-" + uuid.uuid4().hex[:8]

    def long_texts(body):
        body.update(sub=sub, name="N" * 300, email="x" * 300 + "@example.org")
        body[claims.CONTEXT] = {**body[claims.CONTEXT], "title": "T" * 600, "label": "L" * 300}
        body[claims.RESOURCE_LINK] = {"id": "long-" + uuid.uuid4().hex[:8], "title": "R" * 600}

    response = crafted_launch(app, agent, long_texts)

    assert landing_url(response)
    user = db.session.scalars(select(User).where(User.sub == sub)).one()
    assert user.name == "N" * 255
    assert user.email is None  # no address is 300 characters long
    link = db.session.scalars(select(ResourceLink).order_by(ResourceLink.id.desc())).first()
    assert link is not None and link.title == "R" * 512
    context = db.session.get(Context, link.context_id)
    assert context is not None and context.title == "T" * 512 and context.label == "L" * 255
