"""The order a learner sees a quiz question's options in (scoring.option_order)."""

from __future__ import annotations

from dataclasses import replace

from lti_tool.content.model import Activity, Option, Question
from lti_tool.progress.scoring import option_order, score_quiz

OPTIONS = tuple(Option(id=f"o{i}", text=f"Svar {i}", correct=i == 2, feedback=f"Om svar {i}") for i in range(6))


def order(options=OPTIONS, *, secret_key="installation-secret", user_id=41, activity_id="quiz-samarbejde",
          question_id="q1", attempt=1) -> list[Option]:
    return option_order(secret_key, user_id, activity_id, question_id, attempt, options)


def ids(**changes) -> list[str]:
    return [o.id for o in order(**changes)]


def test_the_same_inputs_give_the_same_order():
    assert ids() == ids()
    assert [o.id for o in order(list(OPTIONS))] == ids()


def test_the_order_is_a_permutation_of_the_options():
    for user_id in range(20):
        assert sorted(order(user_id=user_id), key=lambda o: o.id) == list(OPTIONS)  # every option once, none added


def test_the_order_is_shuffled_not_the_content_order():
    content = [o.id for o in OPTIONS]
    assert any(ids(user_id=u) != content for u in range(5))


def test_each_input_changes_the_order():
    """Learner, activity, question, attempt and the installation's secret all enter the order."""
    variants = {
        "secret_key": ["another-installation", "a-third", "a-fourth"],
        "user_id": [42, 43, 44],
        "activity_id": ["quiz-programmet", "quiz-unge-regler", "quiz-kommunikation"],
        "question_id": ["q2", "q3", "q4"],
        "attempt": [2, 3, 4],
    }
    for name, values in variants.items():
        assert any(ids(**{name: v}) != ids() for v in values), f"{name} does not change the order"


def test_the_order_follows_option_ids_not_texts():
    """Rewording an option moves nothing: the order, like the stored answer, is by option id."""
    reworded = tuple(replace(o, text=f"Omskrevet {o.text}", feedback="Ny forklaring") for o in OPTIONS)
    assert [o.id for o in order(reworded)] == ids()


def test_a_quiz_is_scored_by_option_id_whatever_the_order_shown():
    question = Question(id="q1", kind="single", prompt="Hvem?", options=OPTIONS)
    quiz = Activity(id="quiz", type="quiz", title="Quiz", required=True, pass_mark=1.0, questions=(question,))
    reworded = replace(quiz, questions=(replace(question, options=tuple(reversed(OPTIONS))),))
    for activity in (quiz, reworded):
        scored = score_quiz(activity, {"q1": "o2"})
        assert scored.score == 1.0 and scored.passed
        assert scored.result["questions"]["q1"] == {"correct": True, "chosen": ["o2"]}
        assert score_quiz(activity, {"q1": "o3"}).score == 0.0
