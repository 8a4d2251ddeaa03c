"""Checks beyond the format, run by `flask content check`: stale rule claims, test-wise quizzes and
prose that Markdown turns into a list by accident.

The loader decides whether a pack can be served; these decide whether it is good enough to ship.
A quiz that fails a lint still works for learners, so the app keeps serving it: the lints fail the
check an author or CI runs, not the running tool.
"""

from __future__ import annotations

import html
import re
import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from lti_tool.content.model import Programme, Question

# The thresholds (16 §2): above this share of single-choice items with the right answer
# the longest, a learner passes by picking the longest option.
MAX_LONGEST_CORRECT_SHARE = 0.40
# At least this share of items must have their correct options near the item's median length, so
# distractors are not padded only to beat the first rule.
MIN_NEAR_MEDIAN_SHARE = 0.80
NEAR_MEDIAN_TOLERANCE = 0.25

_TAG = re.compile(r"<[^>]+>")
# A list in markdown-it's HTML, and the items in it.
_LIST = re.compile(r"<(ol|ul)(?: start=\"\d+\")?>(.*?)</\1>", re.S)
_ITEM = re.compile(r"<li>(.*?)</li>", re.S)
# How a paragraph that introduces a list ends; a line wrapped inside a sentence ends in none of these.
_SENTENCE_END = tuple(".:!?)»”\"…")


@dataclass(frozen=True)
class Finding:
    """One result of a lint: `fails` findings fail the check, the others are warnings."""

    programme_id: str
    where: str
    message: str
    fails: bool

    def __str__(self) -> str:
        return f"{self.programme_id}: {self.where}: {self.message}"


def text_length(rendered: str) -> int:
    """Characters a learner reads: the option's text without markup and entities."""
    return len(html.unescape(_TAG.sub("", rendered)).strip())


def correct_is_longest(question: Question) -> bool:
    """The (single) correct option is strictly longer than every other option."""
    correct = [text_length(o.text) for o in question.options if o.correct]
    others = [text_length(o.text) for o in question.options if not o.correct]
    return len(correct) == 1 and bool(others) and correct[0] > max(others)


def correct_near_median(question: Question, tolerance: float = NEAR_MEDIAN_TOLERANCE) -> bool:
    """Every correct option is within `tolerance` of the median option length of its item."""
    median = statistics.median(text_length(o.text) for o in question.options)
    return all(abs(text_length(o.text) - median) <= tolerance * median
               for o in question.options if o.correct)


def _item(module_id: str, activity_id: str, question_id: str) -> str:
    return f"{module_id}/{activity_id}#{question_id}"


def quiz_findings(programme: Programme) -> list[Finding]:
    """The quiz lints over the whole pack; each failing lint names the items that make it fail."""
    findings: list[Finding] = []
    singles: list[str] = []
    longest: list[str] = []
    items: list[str] = []
    far: list[str] = []
    for module in programme.modules:
        for activity in module.activities:
            for question in activity.questions:
                where = _item(module.id, activity.id, question.id)
                items.append(where)
                if not correct_near_median(question):
                    far.append(where)
                if question.kind == "single":
                    singles.append(where)
                    if correct_is_longest(question):
                        longest.append(where)
                for option in question.options:
                    if not text_length(option.feedback):
                        findings.append(Finding(programme.id, f"{where}/{option.id}", "option has no feedback", True))
            for pair in activity.pairs:
                if not text_length(pair.feedback):
                    findings.append(Finding(programme.id, f"{module.id}/{activity.id}#{pair.id}",
                                            "pair has no feedback", True))
    if singles and len(longest) / len(singles) > MAX_LONGEST_CORRECT_SHARE:
        findings.append(Finding(
            programme.id, "quizzes",
            f"the correct option is the longest in {len(longest)} of {len(singles)} single-choice items "
            f"({len(longest) / len(singles):.0%}, at most {MAX_LONGEST_CORRECT_SHARE:.0%}): {', '.join(longest)}",
            True))
    if items and (len(items) - len(far)) / len(items) < MIN_NEAR_MEDIAN_SHARE:
        findings.append(Finding(
            programme.id, "quizzes",
            f"the correct option is within {NEAR_MEDIAN_TOLERANCE:.0%} of the median option length in "
            f"{len(items) - len(far)} of {len(items)} items ({(len(items) - len(far)) / len(items):.0%}, "
            f"at least {MIN_NEAR_MEDIAN_SHARE:.0%}); outside: {', '.join(far)}",
            True))
    return findings


def claim_findings(programme: Programme, today: date, max_age_days: int) -> list[Finding]:
    """Warnings for claims due a new check: checked too long ago, or an expected date passed."""
    findings: list[Finding] = []
    oldest_allowed = today - timedelta(days=max_age_days)
    for module in programme.modules:
        for rule in module.rules:
            where = f"{Path(module.folder).name}/rules.yaml#{rule.id}"
            if rule.checked < oldest_allowed:
                findings.append(Finding(programme.id, where,
                                        f"checked {rule.checked.isoformat()}, more than {max_age_days} days ago; "
                                        "check it again", False))
            if rule.expects_change and rule.date <= today:
                findings.append(Finding(programme.id, where,
                                        f"{rule.status} with date {rule.date.isoformat()}, which has passed; "
                                        "check whether it is in force and update its status", False))
    return findings


def _text(rendered: str) -> str:
    return html.unescape(_TAG.sub("", rendered)).strip()


def accidental_list(rendered: str) -> str | None:
    """The first list item in `rendered` that is prose Markdown read as a list, or None.

    A line that begins with a number and a full stop ("1. december") starts a list in CommonMark,
    even in the middle of a wrapped sentence (so does "- "). What comes of it is a list of one
    item that continues a paragraph which has not ended ("… fra" then "1. december til …") or
    that begins in lower case ("december til …"). Real lists have more items, or are introduced
    by a finished sentence or a heading and begin their one item in upper case."""
    for match in _LIST.finditer(rendered):
        items = _ITEM.findall(match.group(2))
        if len(items) != 1:
            continue
        item = _text(items[0])
        before = rendered[:match.start()].rstrip()
        continues = before.endswith("</p>") and not _text(before[before.rfind("<p>"):]).endswith(_SENTENCE_END)
        lower_case = item[:1].islower()
        if (continues or lower_case) if match.group(1) == "ol" else (continues and lower_case):
            return item
    return None


def prose_findings(programme: Programme) -> list[Finding]:
    """A failing finding for each text whose Markdown makes a list of a sentence (see accidental_list)."""
    findings: list[Finding] = []
    for module in programme.modules:
        for activity in module.activities:
            texts = {"intro": activity.intro_html, "body": activity.body_html, "case": activity.case_html}
            if activity.instructor_note is not None:
                texts["model_answer"] = activity.instructor_note.model_answer_html
            for field, rendered in texts.items():
                item = accidental_list(rendered)
                if item is not None:
                    start = item[:40] + ("…" if len(item) > 40 else "")
                    findings.append(Finding(
                        programme.id, f"{module.id}/{activity.id} ({field})",
                        f"a line of prose became a list item ({start!r}): a line must not begin with "
                        "\"1. \" or \"- \" inside a sentence; rewrap the text", True))
    return findings


def pack_findings(programme: Programme, today: date, max_age_days: int) -> list[Finding]:
    """Every lint of one pack: the quiz and prose lints (failing) and the claim warnings."""
    return quiz_findings(programme) + prose_findings(programme) + claim_findings(programme, today, max_age_days)
