"""Keeping what a learner wrote after their launch expired, for their next launch.

A page left open past LAUNCH_LIFETIME can no longer save: its launch is gone, and a framed page
cannot count on cookies or browser storage (a cross-site frame's storage is partitioned by the
LMS's site, or blocked). So the page's next save or submit hands its answer to the server anyway,
with the page's form token; the server keeps it beside the learner's draft, and the learner's next
launch of the same activity offers it (learning.activity_page).

What a thief of an expired page's address and form token can do with it, and no more:
- write, never read: the answer is only "kept" or "not kept", nothing of the learner's work;
- only the learner and the activities that launch's link opens (the same placement check as a
  live page), only within DRAFT_RESCUE_WINDOW after the launch expired, and at most the size a
  live save takes (the same limits);
- never over the learner's draft and never a submission: it fills one slot per activity, which
  the learner's next page shows as "kept from a page whose session had ended", with the saved
  draft offered beside it, so nothing the learner saved is lost and nothing is handed in unseen.
A live page's token already grants all of that and more (submitting), so this opens nothing new
to someone who had the token in time, and little to one who took it later.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from lti_tool.content.model import Catalog
from lti_tool.errors import NotFound
from lti_tool.launch.live import find_ended_launch, form_token
from lti_tool.progress import learning, service
from lti_tool.tokens import same_token

log = logging.getLogger(__name__)


def keep_answer_of_ended_launch(session: Session, catalog: Catalog, *, secret_key: str, window: timedelta,
                                launch_id: str, module_id: str, activity_id: str,
                                form: Mapping[str, Any], sent_token: str) -> bool:
    """Keep the answer an expired page posted for the learner's next launch; True when kept.

    Not kept (False) when the launch is unknown, live, or expired longer than `window` ago, the
    token is not that launch's, or the activity is not an exercise the launch's link opens."""
    launch = find_ended_launch(session, launch_id, window)
    if launch is None or not same_token(sent_token, form_token(secret_key, launch.id)):
        return False
    try:
        _, module = learning.reachable_module(catalog, launch, module_id)
    except NotFound:
        return False
    activity = module.activity(activity_id)
    if activity is None or not activity.is_exercise:
        return False
    service.rescue_draft(session, launch.user_id, module, activity, learning.answer_from_form(activity, form))
    log.info("kept the answer to %s posted after launch %s… expired", activity.id, launch.id[:8])
    return True
