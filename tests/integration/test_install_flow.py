"""Issue's end to end: an LMS admin installs the tool by pasting one URL, the operator approves it,
a learner launches and works, the operator sees it in the reach report and exports and erases them."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import Platform, PlatformStatus, User
from tests.support.agent import text_of
from tests.support.lms import activate_in_lms, registration_start


def test_paste_one_url_approve_launch_report_export_erase(app, live, console, fresh_learner):
    # The LMS administrator pastes the tool's registration URL.
    admin = live.agent()
    admin.sign_in("hanne")
    tools = admin.post("/demo-lms/admin/tools", {"tool_url": live.base_url + "/lti/register"})
    start = registration_start(tools.text)  # the LMS opens it in an iframe of its admin page
    confirm = admin.get(start)
    pending_id = re.search(r'name="pending_id" value="([^"]+)"', confirm.text).group(1)
    assert admin.post("/lti/register", {"pending_id": pending_id}).status_code == 200
    db.session.rollback()
    platform = db.session.scalars(select(Platform).where(Platform.client_id.like("dr-%"))
                                  .order_by(Platform.id.desc())).first()
    assert platform.status == PlatformStatus.PENDING
    activate_in_lms(admin, platform.client_id)  # pending in the LMS too, until its admin activates it

    # The operator approves it in the console.
    approved = console.post(f"/admin/platforms/{platform.id}/status", {"action": "approve"})
    assert approved.status_code == 302
    db.session.rollback()
    assert db.session.get(Platform, platform.id).status == PlatformStatus.ACTIVE

    # A learner launches through the new registration and opens the module.
    learner = live.agent()
    learner.sign_in(fresh_learner)
    home = learner.follow_forms(learner.get("/demo-lms/courses/stor-kursus/initiate",
                                            params={"link_id": "rl-stor", "client_id": platform.client_id}))
    assert home.status_code == 200 and "/c/" in home.url
    assert learner.get(home.url + "m/nyankomne/a/modtagelsen").status_code == 200

    # The operator sees the municipality's learner in the reach report …
    assert platform.name in text_of(console.get("/admin/reach").text)
    report = console.get("/admin/reach.csv", params={"platform": platform.id})
    assert report.status_code == 200
    rows = list(csv.reader(io.StringIO(report.text.lstrip("\ufeff")), delimiter=";"))[1:]
    # Columns: platform, programme, module, month, started, completed. Module rows only, so the
    # programme's own line does not count the same learner twice.
    started = sum(int(row[4]) for row in rows if row[0] == platform.name and row[2])
    assert started >= 1

    # … and can export and erase that learner.
    db.session.rollback()
    user = db.session.scalars(select(User).where(User.platform_id == platform.id, User.sub == fresh_learner)).one()
    found = console.post("/admin/learners", {"platform": str(platform.id), "sub": fresh_learner})
    assert f"/admin/learners/{user.id}" in found.text
    export = console.get(f"/admin/learners/{user.id}/export.json")
    assert export.status_code == 200 and fresh_learner in export.text
    erased = console.post(f"/admin/learners/{user.id}/erase", {"confirm": "erase"})
    assert erased.status_code == 302
    db.session.rollback()
    user = db.session.get(User, user.id)
    assert user.sub.startswith("erased-") and user.name is None and user.email is None
