"""What keeps a launch cheap must not make it wrong.

- A returning learner whose claims are unchanged is recorded with one INSERT (a digest of the
  claims in the shared store); changed claims, and erased learners, take the full path.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from blueprints import lti as lti_views
from lti_tool import errors
from lti_tool.demo_lms import platform as demo
from lti_tool.extensions import db
from lti_tool.gdpr import purge_platform
from lti_tool.launches import commit_launch, record_launch
from lti_tool.lti import claims
from lti_tool.lti.launch import Launch
from lti_tool.models import (
    Context,
    Deployment,
    GradeTarget,
    LaunchRecord,
    Platform,
    ResourceLink,
    ScoreMessage,
    User,
)
from lti_tool.runtime import runtime
from tests.support.agent import landing_url, text_of
from tests.support.crafting import crafted_launch, demo_claims
from tests.support.learner import csrf_of


def _user(sub: str) -> User:
    db.session.rollback()
    return db.session.scalars(select(User).where(User.sub == sub)).one()


def test_a_returning_learner_is_recorded_without_rewriting_their_rows(app, agent):
    sub = "returning-" + uuid.uuid4().hex[:8]

    def as_learner(name):
        return lambda body: body.update(sub=sub, name=name)

    assert landing_url(crafted_launch(app, agent, as_learner("Aya Haddad")))
    first_seen = _user(sub).last_seen_at

    again = crafted_launch(app, agent, as_learner("Aya Haddad"))

    assert "Aya Haddad" in text_of(again.text)
    user = _user(sub)
    assert user.last_seen_at == first_seen  # nothing about them was written again
    assert db.session.scalar(select(func.count()).select_from(LaunchRecord)
                             .where(LaunchRecord.user_id == user.id)) == 2

    renamed = crafted_launch(app, agent, as_learner("Aya Haddad Nielsen"))

    assert "Aya Haddad Nielsen" in text_of(renamed.text)
    user = _user(sub)
    assert user.name == "Aya Haddad Nielsen"
    assert user.last_seen_at > first_seen


def test_a_launch_that_fails_before_its_commit_leaves_no_shortcut_behind(app, agent, monkeypatch):
    """Rows written by a launch that was rolled back are not remembered: the next launch with the
    same claims writes them (here, the learner's new name) instead of skipping to one INSERT."""
    sub = "rollback-" + uuid.uuid4().hex[:8]
    assert landing_url(crafted_launch(app, agent, lambda body: body.update(sub=sub, name="Aya Haddad")))

    def unreadable_first_page():
        raise errors.NotFound("the first page could not be read (simulated)")

    monkeypatch.setattr(lti_views, "course_view", unreadable_first_page)
    failed = crafted_launch(app, agent, lambda body: body.update(sub=sub, name="Aya Haddad Nielsen"))
    assert failed.status_code == 404
    assert _user(sub).name == "Aya Haddad"  # rolled back
    monkeypatch.undo()

    again = crafted_launch(app, agent, lambda body: body.update(sub=sub, name="Aya Haddad Nielsen"))

    assert "Aya Haddad Nielsen" in text_of(again.text)
    assert _user(sub).name == "Aya Haddad Nielsen"


def test_rows_remembered_for_one_registration_are_not_used_for_another(app):
    """Two registrations of one issuer under one deployment id, a token addressed to both: the
    claims are the same, the platform is not, so the second launch gets its own learner and does
    not take the first one's rows from the known-launch shortcut."""
    with app.app_context():
        rt = runtime()
        first_platform = db.session.get_one(Platform, _demo_platform_id(app))
        first_deployment = first_platform.deployments[0]
        second_platform = Platform(issuer=first_platform.issuer, client_id="second-" + uuid.uuid4().hex[:8],
                                   auth_login_url=first_platform.auth_login_url,
                                   auth_token_url=first_platform.auth_token_url,
                                   key_set_url=first_platform.key_set_url, name="Second registration")
        second_deployment = Deployment(platform=second_platform, deployment_id=first_deployment.deployment_id)
        db.session.add_all([second_platform, second_deployment])
        db.session.commit()
        try:
            body = demo_claims(app, "nonce-" + uuid.uuid4().hex[:8])
            body.update(sub="shared-" + uuid.uuid4().hex[:8],
                        aud=[first_platform.client_id, second_platform.client_id])
            recorded = []
            for platform, deployment in ((first_platform, first_deployment), (second_platform, second_deployment)):
                launch = Launch(claims={**body, "azp": platform.client_id}, platform_id=platform.id,
                                deployment_pk=deployment.id)
                record = record_launch(db.session, rt.store, launch, 3600, rt.catalog())
                commit_launch(db.session, rt.store, record)
                recorded.append(db.session.get_one(LaunchRecord, record.id))
            assert [r.user.platform_id for r in recorded] == [first_platform.id, second_platform.id]
            assert recorded[0].user_id != recorded[1].user_id
        finally:
            db.session.rollback()
            purge_platform(db.session, second_platform.id)  # with its learner and course: other tests count them


def test_a_placement_picked_by_hand_stays_through_later_launches(app, agent, live):
    """The platform's custom parameters place a link when they are new or change; an instructor's
    own pick for the link stays, whether a learner's launch takes the shortcut or the full path."""
    link = "picked-" + uuid.uuid4().hex[:8]

    def on_link(sub, role):
        def mutate(body):
            body.update(sub=sub)
            body[claims.RESOURCE_LINK] = {"id": link, "title": "Udvalgt modul"}
            body[claims.CUSTOM] = {"module": "nyankomne"}
            body[claims.ROLES] = [claims.ROLE_PREFIX_CONTEXT + role]
        return mutate

    staff = live.agent()
    landing = staff.get(landing_url(crafted_launch(app, staff, on_link("hanne-" + link, "Instructor"))))
    pick = staff.get(landing.url + "pick")
    staff.http.post(pick.url, data={"csrf_token": csrf_of(pick.text), "placement": "module:unge"}, timeout=30)

    first = crafted_launch(app, agent, on_link("first-" + link, "Learner"))  # a new learner: the full path
    again = crafted_launch(app, agent, on_link("first-" + link, "Learner"))  # the same again: the shortcut

    for page in (first, again):
        text = text_of(page.text)
        assert "Unge" in text and "Nyankomne flygtninge" not in text


def test_a_change_made_by_another_launch_and_changed_back_is_written_again(app, agent):
    """The shortcut is keyed on the claims, not on the rows: a link moved to another module by
    one launch and back by the next, or a name changed and changed back, must not leave the rows
    as the middle launch wrote them (found by a review: it lasted up to an hour)."""
    link, aya, omar = ("revert-" + uuid.uuid4().hex[:8] for _ in range(3))

    def launch_as(sub, name, module, title):
        def mutate(body):
            body.update(sub=sub, name=name)
            body[claims.RESOURCE_LINK] = {"id": link, "title": title}
            body[claims.CUSTOM] = {"module": module}
        return crafted_launch(app, agent, mutate)

    assert "Nyankomne" in text_of(launch_as(aya, "Aya Haddad", "nyankomne", "Modtagelse").text)
    assert landing_url(launch_as(omar, "Omar Ali", "unge", "Unge i job"))  # the platform moved it
    assert _link(link) == ("unge", "Unge i job", {"module": "unge"})
    assert "Aya" in text_of(launch_as(aya, "Aya H.", "unge", "Unge i job").text)  # and she was renamed

    back = launch_as(aya, "Aya Haddad", "nyankomne", "Modtagelse")  # both changed back: her first claims

    text = text_of(back.text)
    assert "Nyankomne flygtninge" in text and "Modtagelse" in text and "Unge i job" not in text
    assert "Aya Haddad" in text
    assert _user(aya).name == "Aya Haddad"
    assert _link(link) == ("nyankomne", "Modtagelse", {"module": "nyankomne"})

    seen = _user(aya).last_seen_at

    again = launch_as(aya, "Aya Haddad", "nyankomne", "Modtagelse")  # unchanged now: the shortcut again
    assert "Nyankomne flygtninge" in text_of(again.text)
    assert _user(aya).last_seen_at == seen  # one INSERT, nothing rewritten


@pytest.mark.parametrize("change", [
    lambda b: b.update(email="aya.h@example.dk"),
    lambda b: b[claims.CONTEXT].update(label="NY-LABEL"),
    lambda b: b[claims.CONTEXT].update(title="Et andet kursus"),
    lambda b: b[claims.AGS_ENDPOINT].update(scope=b[claims.AGS_ENDPOINT]["scope"][:1]),
    lambda b: b[claims.AGS_ENDPOINT].update(lineitem=b[claims.AGS_ENDPOINT]["lineitem"] + "-other"),
    lambda b: b[claims.LAUNCH_PRESENTATION].update(locale="sv-SE"),
], ids=["email", "course-label", "course-title", "scopes", "lineitem", "locale"])
def test_each_column_the_shortcut_compares_is_written_again_when_changed_back(app, agent, change):
    """Every value the upserts write is compared: for each, another learner's or the same learner's
    launch changes it, and the next launch with the first claims must write it back."""
    sub, other, course = ("each-" + uuid.uuid4().hex[:8] for _ in range(3))

    def launch(who, changed):
        def mutate(body):
            body.update(sub=who)
            body[claims.CONTEXT]["id"] = course
            if changed:
                change(body)
        return crafted_launch(app, agent, mutate)

    assert landing_url(launch(sub, changed=False))
    first = _rows_of(sub, course)
    assert landing_url(launch(sub, changed=True))
    assert landing_url(launch(other, changed=True))
    assert _rows_of(sub, course) != first  # the change was written

    assert landing_url(launch(sub, changed=False))  # the first claims again: known to the shortcut

    assert _rows_of(sub, course) == first


def _link(resource_link_id: str) -> tuple:
    db.session.rollback()
    stored = db.session.scalars(select(ResourceLink).where(ResourceLink.resource_link_id == resource_link_id)).one()
    return stored.module_id, stored.title, stored.custom


def _rows_of(sub: str, course: str) -> tuple:
    db.session.rollback()
    user = db.session.scalars(select(User).where(User.sub == sub)).one()
    context = db.session.scalars(select(Context).where(Context.context_id == course)).one()
    target = db.session.scalars(select(GradeTarget).join(ResourceLink)
                                .where(ResourceLink.context_id == context.id)).one()
    return (user.email, user.locale, context.label, context.title, target.scopes, target.lineitem_url)


def test_a_link_placed_after_a_learners_launch_gets_their_opening_score(app, agent, live):
    """The full path queues an opening score once the link opens something; the shortcut, which
    knew the learner from a launch before the instructor placed the link, must not skip it."""
    link = "late-" + uuid.uuid4().hex[:8]

    def on_link(sub, role):
        def mutate(body):
            body.update(sub=sub)
            body[claims.RESOURCE_LINK] = {"id": link, "title": "Endnu ikke valgt"}
            body[claims.CUSTOM] = {}
            body[claims.ROLES] = [claims.ROLE_PREFIX_CONTEXT + role]
        return mutate

    learner = "learner-" + link
    assert crafted_launch(app, agent, on_link(learner, "Learner")).status_code == 200  # opens nothing yet
    assert _opening_scores(learner) == 0
    staff = live.agent()
    pick = staff.get(landing_url(crafted_launch(app, staff, on_link("hanne-" + link, "Instructor"))))
    assert pick.url.endswith("/instructor/pick")  # an unplaced link sends the instructor to the pick
    staff.http.post(pick.url, data={"csrf_token": csrf_of(pick.text), "placement": "module:unge"}, timeout=30)

    again = crafted_launch(app, agent, on_link(learner, "Learner"))

    assert "Unge" in text_of(again.text)
    assert _opening_scores(learner) == 1


def _opening_scores(sub: str) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(ScoreMessage).join(User)
                             .where(User.sub == sub)) or 0


def test_custom_parameters_in_another_order_still_take_the_shortcut(app, agent):
    sub, link = "order-" + uuid.uuid4().hex[:8], "order-" + uuid.uuid4().hex[:8]

    def launch(custom):
        def mutate(body):
            body.update(sub=sub)
            body[claims.RESOURCE_LINK] = {"id": link, "title": "Orden"}
            body[claims.CUSTOM] = custom
        return crafted_launch(app, agent, mutate)

    assert landing_url(launch({"module": "nyankomne", "a": "1"}))
    assert landing_url(launch({"a": "1", "module": "nyankomne"}))  # written once more, keys sorted
    seen = _user(sub).last_seen_at

    assert landing_url(launch({"a": "1", "module": "nyankomne"}))

    assert _user(sub).last_seen_at == seen  # the shortcut: nothing rewritten


def _demo_platform_id(app) -> int:
    issuer = app.config["DEMO_LMS_URL"] + "/demo-lms"
    return db.session.scalars(select(Platform.id).where(Platform.issuer == issuer,
                                                        Platform.client_id == demo.CLIENT_ID)).one()

