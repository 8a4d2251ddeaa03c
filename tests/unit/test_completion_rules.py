"""Completion rules on the edge cases: retakes, partial answers, content changed, electives."""

from __future__ import annotations

import pytest

from lti_tool.content.model import Activity, Criterion, Module, Option, Pair, Programme, Prompt, Question
from lti_tool.grading.messages import module_score, programme_score
from lti_tool.progress import rules, scoring
from lti_tool.progress.learning import CourseHome, ModuleCard
from lti_tool.progress.rules import ActivityRecord as R


def quiz(aid="quiz", max_attempts=None, pass_mark=0.5):
    questions = tuple(
        Question(id=f"q{i}", kind="single", prompt="?",
                 options=(Option("a", "A", True, "ja"), Option("b", "B", False, "nej")))
        for i in range(4)
    ) + (Question(id="multi", kind="multiple", prompt="?", options=(
        Option("a", "A", True, ""), Option("b", "B", True, ""), Option("c", "C", False, ""))),)
    return Activity(id=aid, type="quiz", title="Quiz", required=True, questions=questions, pass_mark=pass_mark,
                    max_attempts=max_attempts)


def module(*activities, mid="m"):
    return Module(id=mid, programme_id="p", language="da", title="M", summary="", estimated_minutes=60, goals=("g",),
                  activities=tuple(activities), folder="")


PAGE = Activity(id="page", type="page", title="Side", required=True)
MATCH = Activity(id="match", type="matching", title="Match", required=True, pass_mark=0.5,
                 pairs=(Pair("x", "X", "x-match", ""), Pair("y", "Y", "y-match", "")))
PLAN = Activity(id="plan", type="action_plan", title="Plan", required=True, min_filled=1,
                prompts=(Prompt("s1", "Skridt", ""),))
REFLECTION = Activity(id="refl", type="reflection", title="Case", required=True, weight=10,
                      rubric=(Criterion("c1", "Analyse", "", 4), Criterion("c2", "Plan", "", 4)), min_words=3)


def test_quiz_scoring_single_and_multiple():
    scored = scoring.score_quiz(quiz(), {"q0": ["a"], "q1": ["b"], "q2": ["a"], "q3": ["a"], "multi": ["a", "b"]})
    assert scored.score == pytest.approx(4 / 5) and scored.passed
    partial_multi = scoring.score_quiz(quiz(), {"q0": "a", "q1": "a", "q2": "a", "q3": "a", "multi": ["a"]})
    assert partial_multi.result["questions"]["multi"]["correct"] is False


@pytest.mark.parametrize("answer", [
    {"q0": ["a"]},  # questions unanswered
    {"q0": ["a", "b"], "q1": ["a"], "q2": ["a"], "q3": ["a"], "multi": ["a"]},  # two choices on a single
    {"q0": ["z"], "q1": ["a"], "q2": ["a"], "q3": ["a"], "multi": ["a"]},  # unknown option
])
def test_partial_or_malformed_quiz_answers_are_refused(answer):
    with pytest.raises(scoring.AnswerError):
        scoring.score_quiz(quiz(), answer)


def test_matching_and_action_plan_and_reflection_checks():
    assert scoring.score_matching(MATCH, {"x": "x", "y": "x"}).score == 0.5
    with pytest.raises(scoring.AnswerError):
        scoring.score_matching(MATCH, {"x": "x"})
    assert scoring.check_action_plan(PLAN, {"s1": "Ring til sprogcentret"}).passed
    with pytest.raises(scoring.AnswerError):
        scoring.check_action_plan(PLAN, {"s1": "   "})
    with pytest.raises(scoring.AnswerError):
        scoring.check_reflection(REFLECTION, {"text": "for kort"})
    assert scoring.check_reflection(REFLECTION, {"text": "tre gode ord"}).status == "pending"


def test_module_status_progression():
    m = module(PAGE, quiz(), MATCH, PLAN)
    assert rules.module_status(m, {}).state == rules.ModuleState.NOT_STARTED
    assert rules.module_status(m, {"page": R("viewed")}).state == rules.ModuleState.IN_PROGRESS
    failed_quiz = {"page": R("viewed"), "quiz": R("submitted", 0.2, False, 1), "match": R("submitted", 1, True, 1),
                   "plan": R("submitted", None, True, 1)}
    status = rules.module_status(m, failed_quiz)
    assert status.state == rules.ModuleState.IN_PROGRESS and status.next_activity_id == "quiz"
    retaken = {**failed_quiz, "quiz": R("submitted", 0.8, True, 2)}
    status = rules.module_status(m, retaken)
    assert status.state == rules.ModuleState.COMPLETED
    assert status.points == pytest.approx(0.8 * 5 + 2)
    assert status.max_points == 7


def test_drafts_do_not_count_as_done():
    m = module(PLAN)
    assert rules.module_status(m, {"plan": R("draft")}).state == rules.ModuleState.IN_PROGRESS


def test_reflection_waiting_makes_module_pending_then_completed():
    m = module(PAGE, REFLECTION)
    waiting = rules.module_status(m, {"page": R("viewed"), "refl": R("pending", None, None, 1)})
    assert waiting.state == rules.ModuleState.PENDING and waiting.pending_manual
    graded = rules.module_status(m, {"page": R("viewed"), "refl": R("graded", 0.5, True, 1)})
    assert graded.state == rules.ModuleState.COMPLETED and graded.points == 5


def test_content_changed_after_attempts():
    before = module(PAGE, quiz())
    records = {"page": R("viewed"), "quiz": R("submitted", 1.0, True, 1), "removed-activity": R("viewed")}
    assert rules.module_status(before, records).state == rules.ModuleState.COMPLETED
    # An activity added later is simply not done; the removed one's record is ignored.
    after = module(PAGE, quiz(), Activity(id="new-page", type="page", title="Ny", required=True))
    status = rules.module_status(after, records)
    assert status.state == rules.ModuleState.IN_PROGRESS and status.next_activity_id == "new-page"
    # An optional new activity does not block completion.
    optional = module(PAGE, quiz(), Activity(id="extra", type="page", title="Ekstra", required=False))
    assert rules.module_status(optional, records).state == rules.ModuleState.COMPLETED


def test_programme_rule_mandatory_plus_electives():
    mods = [module(PAGE, mid=i) for i in ("a", "b", "e1", "e2", "e3")]
    mods = [Module(**{**m.__dict__, "mandatory": m.id in ("a", "b")}) for m in mods]
    programme = Programme(id="p", language="da", title={"da": "P"}, summary={}, modules=tuple(mods),
                          electives_required=2, folder="")
    done = rules.ModuleState.COMPLETED
    assert not rules.programme_status(programme, {"a": done, "b": done, "e1": done}).completed
    assert rules.programme_status(programme, {"a": done, "b": done, "e1": done, "e2": done}).completed
    assert rules.programme_status(programme, {"a": done, "b": done, "e1": done, "e2": done, "e3": done}).completed
    assert not rules.programme_status(programme, {"a": done, "e1": done, "e2": done, "e3": done}).completed
    assert rules.programme_status(programme, {"a": done}).remaining == 3


def test_score_messages_are_final_only_on_completion():
    m = module(PAGE, quiz(), REFLECTION)
    in_progress = rules.module_status(m, {"page": R("viewed"), "quiz": R("submitted", 1.0, True, 1)})
    waiting = rules.module_status(m, {"page": R("viewed"), "quiz": R("submitted", 1.0, True, 1),
                                      "refl": R("pending", None, None, 1)})
    done = rules.module_status(m, {"page": R("viewed"), "quiz": R("submitted", 1.0, True, 1),
                                   "refl": R("graded", 0.6, True, 1)})

    first = module_score(in_progress, 100, "da")
    assert (first.activity_progress, first.grading_progress) == ("InProgress", "Pending")
    assert first.score_given == pytest.approx(100 * 5 / 15, abs=1e-3)
    assert "2 af 3 aktiviteter" in first.comment
    second = module_score(waiting, 100, "sv")
    assert (second.activity_progress, second.grading_progress) == ("Submitted", "PendingManual")
    assert "väntar" in second.comment
    final = module_score(done, 50, "en")
    assert (final.activity_progress, final.grading_progress) == ("Completed", "FullyGraded")
    assert final.score_given == pytest.approx(50 * 11 / 15, abs=1e-3)
    overall = programme_score([done, in_progress], rules.ProgrammeStatus(False, 1, 2, 0, 0), 100, "da")
    assert overall.grading_progress != "FullyGraded"


def _card(mid, state, *, mandatory=True, next_id="a1"):
    m = Module(id=mid, programme_id="p", language="da", title=mid, summary="", estimated_minutes=60, goals=("g",),
               activities=(PAGE,), folder="", mandatory=mandatory)
    return ModuleCard(m, rules.ModuleStatus(state=state, points=0.0, max_points=1.0, done=0, required=1,
                                            pending_manual=False, next_activity_id=next_id))


S = rules.ModuleState


@pytest.mark.parametrize(("cards", "expected"), [
    # the module begun comes first, wherever it is
    ([_card("a", S.NOT_STARTED), _card("b", S.IN_PROGRESS, mandatory=False)], "b"),
    # else the first mandatory module not started, before an elective listed earlier
    ([_card("e", S.NOT_STARTED, mandatory=False), _card("m", S.NOT_STARTED)], "m"),
    # else the first not started; done or waiting modules have nothing to continue
    ([_card("done", S.COMPLETED, next_id=None), _card("wait", S.PENDING, next_id=None),
      _card("e", S.NOT_STARTED, mandatory=False)], "e"),
    ([_card("done", S.COMPLETED, next_id=None), _card("wait", S.PENDING, next_id=None)], None),
], ids=["begun", "mandatory-first", "elective-left", "nothing-left"])
def test_course_home_offers_one_module_to_continue(cards, expected):
    home = CourseHome(placement=None, cards=tuple(cards), programme_status=None, programme_title="")
    chosen = home.next_card
    assert (chosen.module.id if chosen else None) == expected
