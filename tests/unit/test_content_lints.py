"""rules.yaml in the loader, and the lints of `flask content check`, on small packs built in tmp dirs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from lti_tool.content.lints import accidental_list, claim_findings, prose_findings, quiz_findings
from lti_tool.content.loader import load_catalog
from lti_tool.content.render import render_markdown

TODAY = date(2027, 6, 1)


def _rule(rule_id: str = "r1", **overrides: object) -> dict[str, object]:
    rule: dict[str, object] = {"id": rule_id, "claim": "En regel.", "status": "in_force", "date": "2026-01-01",
                               "source": "Lov nr. 1 af 2025", "checked": "2026-12-07"}
    rule.update(overrides)
    return rule


def _question(qid: str, options: list[tuple[str, bool]], kind: str = "single") -> dict[str, object]:
    return {"id": qid, "kind": kind, "prompt": f"Spørgsmål {qid}?",
            "options": [{"id": f"o{i}", "text": text, "correct": correct, "feedback": f"Fordi {i}."}
                        for i, (text, correct) in enumerate(options)]}


def make_pack(root: Path, questions: list[dict[str, object]], rules: list[dict[str, object]] | None = None,
              rules_text: str | None = None) -> Path:
    """A one-module Danish pack with one quiz of `questions` and, if given, a rules.yaml."""
    pack = root / "content" / "lille"
    module = pack / "modul"
    module.mkdir(parents=True)
    (pack / "programme.yaml").write_text(yaml.safe_dump({
        "id": "lille", "language": "da", "title": "Lille", "summary": "Et lille forløb.",
        "modules": [{"id": "modul", "mandatory": True}]}, allow_unicode=True), encoding="utf-8")
    (module / "module.yaml").write_text(yaml.safe_dump({
        "id": "modul", "title": "Modul", "summary": "Et modul.", "estimated_minutes": 30, "goals": ["At vide"],
        "activities": [{"id": "quiz", "type": "quiz", "file": "quiz.yaml"}]}, allow_unicode=True), encoding="utf-8")
    (module / "quiz.yaml").write_text(yaml.safe_dump({
        "title": "Quiz", "intro": "Vælg.", "questions": questions}, allow_unicode=True), encoding="utf-8")
    if rules is not None:
        (module / "rules.yaml").write_text(yaml.safe_dump({"rules": rules}, allow_unicode=True), encoding="utf-8")
    if rules_text is not None:
        (module / "rules.yaml").write_text(rules_text, encoding="utf-8")
    return root / "content"


FAIR = [("Kommunen", True), ("Regionen", False), ("Staten", False), ("Styrelsen", False)]


def _longest(qid: str) -> dict[str, object]:
    """The right answer strictly the longest, but within 25 % of the median."""
    return _question(qid, [("Kommunens", True), ("Regionen", False), ("Statens", False), ("Styrelse", False)])


# --- rules.yaml in the loader ---------------------------------------------------------------

def test_rules_yaml_becomes_typed_claims(tmp_path):
    content = make_pack(tmp_path, [_question("q1", FAIR)],
                        rules=[_rule(), _rule("r2", status="proposed", date="2027-07-01")])
    catalog = load_catalog(content)
    assert catalog.problems == []
    claims = catalog.programmes["lille"].modules[0].rules
    assert [(c.id, c.status, c.date, c.checked) for c in claims] == [
        ("r1", "in_force", date(2026, 1, 1), date(2026, 12, 7)),
        ("r2", "proposed", date(2027, 7, 1), date(2026, 12, 7))]


def test_rules_yaml_is_optional(tmp_path):
    catalog = load_catalog(make_pack(tmp_path, [_question("q1", FAIR)]))
    assert catalog.problems == [] and catalog.programmes["lille"].rules == ()


RULES_TEXT = """rules:
  - id: r1
    claim: En regel.
    status: {status}
    date: {date}
    source: Lov nr. 1
    checked: 2026-12-07
"""


@pytest.mark.parametrize(("status", "day", "field", "message"), [
    ("in_forse", "2026-01-01", "rules[0].status", "'in_forse' must be one of in_force, adopted"),
    ("in_force", "1. januar 2026", "rules[0].date", "is not a date (YYYY-MM-DD)"),
    ("in_force", "2026-13-01", "rules[0].date", "is not a date"),
], ids=["status", "date-words", "date-month"])
def test_bad_rule_is_a_named_error(tmp_path, status, day, field, message):
    content = make_pack(tmp_path, [_question("q1", FAIR)], rules_text=RULES_TEXT.format(status=status, date=day))
    catalog = load_catalog(content)
    assert catalog.rejected == ["lille"]
    line = 4 if field.endswith("status") else 5
    problem = next(p for p in catalog.problems if p.field == field)
    assert problem.file == "lille/modul/rules.yaml" and problem.line == line and message in problem.message


def test_unknown_and_missing_rule_fields_are_named(tmp_path):
    rule = _rule(kilde="x")
    del rule["checked"]
    catalog = load_catalog(make_pack(tmp_path, [_question("q1", FAIR)], rules=[rule, _rule()]))
    messages = [f"{p.field}: {p.message}" for p in catalog.problems]
    assert any(m.startswith("rules[0].kilde: is not a field") for m in messages), messages
    assert "rules[0].checked: is required (YYYY-MM-DD)" in messages
    assert catalog.rejected == ["lille"]


# --- quiz lints -------------------------------------------------------------------------------

def _programme(tmp_path, questions):
    catalog = load_catalog(make_pack(tmp_path, questions))
    assert catalog.problems == []
    return catalog.programmes["lille"]


def test_longest_correct_fails_above_40_percent(tmp_path):
    # 3 of 7 = 43 %: fails, and names the three items
    programme = _programme(tmp_path, [_longest("q1"), _longest("q2"), _longest("q3")]
                           + [_question(f"f{i}", FAIR) for i in range(4)])
    failing = [f for f in quiz_findings(programme) if f.fails]
    assert len(failing) == 1 and "3 of 7 single-choice items" in failing[0].message
    assert "modul/quiz#q1" in failing[0].message and "modul/quiz#f0" not in failing[0].message


def test_longest_correct_passes_at_or_below_40_percent(tmp_path):
    # 2 of 5 = 40 %: passes; a tie for the longest is not "strictly longest"
    tie = _question("t", [("Kommunen", True), ("Regionen", False), ("Statens", False)])
    programme = _programme(tmp_path, [_longest("q1"), _longest("q2"), tie]
                           + [_question(f"f{i}", FAIR) for i in range(2)])
    assert quiz_findings(programme) == []


def _far(qid: str) -> dict[str, object]:
    """The right answer much shorter than the median (not the longest)."""
    return _question(qid, [("Nej", True), ("Kommunen alene", False), ("Regionen alene", False)])


def test_correct_far_from_median_fails_below_80_percent(tmp_path):
    # 3 of 4 = 75 % near the median: fails
    programme = _programme(tmp_path, [_far("q1")] + [_question(f"f{i}", FAIR) for i in range(3)])
    failing = [f for f in quiz_findings(programme) if f.fails]
    assert len(failing) == 1 and "in 3 of 4 items" in failing[0].message and "modul/quiz#q1" in failing[0].message


def test_correct_near_median_passes_at_80_percent(tmp_path):
    # 4 of 5 = 80 %: passes; a multiple item counts each of its right options
    multiple = _question("m", [("Kommunen", True), ("Regionen", True), ("Staten", False)], kind="multiple")
    programme = _programme(tmp_path, [_far("q1"), multiple] + [_question(f"f{i}", FAIR) for i in range(3)])
    assert quiz_findings(programme) == []


def test_option_without_feedback_fails(tmp_path):
    # The loader requires the field; markup with no text in it passes the loader but teaches nothing.
    question = _question("q1", FAIR)
    question["options"][1]["feedback"] = "&nbsp;"  # type: ignore[index]
    programme = _programme(tmp_path, [question])
    failing = [f for f in quiz_findings(programme) if f.fails]
    assert [f.where for f in failing] == ["modul/quiz#q1/o1"]
    assert "no feedback" in failing[0].message


# --- claim warnings ---------------------------------------------------------------------------

def test_claim_checked_too_long_ago_warns(tmp_path):
    catalog = load_catalog(make_pack(tmp_path, [_question("q1", FAIR)], rules=[
        _rule("old", checked="2026-05-31"), _rule("recent", checked="2026-06-01")]))
    findings = claim_findings(catalog.programmes["lille"], TODAY, 365)
    assert [(f.where, f.fails) for f in findings] == [("modul/rules.yaml#old", False)]
    assert "more than 365 days ago" in findings[0].message
    assert claim_findings(catalog.programmes["lille"], TODAY, 400) == []


def test_expected_date_passed_warns(tmp_path):
    catalog = load_catalog(make_pack(tmp_path, [_question("q1", FAIR)], rules=[
        _rule("adopted-passed", status="adopted", date="2027-06-01"),
        _rule("proposed-future", status="proposed", date="2027-06-02"),
        _rule("in-force-passed", status="in_force", date="2026-01-01"),
        _rule("proposed-passed", status="proposed", date="2027-01-01")]))
    findings = claim_findings(catalog.programmes["lille"], TODAY, 365)
    assert [f.where.rsplit("#", 1)[1] for f in findings] == ["adopted-passed", "proposed-passed"]
    assert all(not f.fails and "has passed" in f.message for f in findings)
    assert claim_findings(catalog.programmes["lille"], date(2026, 12, 31), 365) == []


# --- flask content check ------------------------------------------------------------------------

def test_content_check_fails_a_pack_on_the_quiz_lints_and_warns_on_claims(make_app, tmp_path):
    content = make_pack(tmp_path, [_longest("q1"), _question("f1", FAIR)],
                        rules=[_rule(status="proposed", date="2027-01-01")])
    runner = make_app().test_cli_runner()
    result = runner.invoke(args=["content", "check", "--dir", str(content), "--today", "2027-06-01"])
    assert result.exit_code != 0
    assert "FAIL  lille" in result.output and "packs failing the lints: lille" in result.output
    assert "WARNING  lille: modul/rules.yaml#r1: proposed with date 2027-01-01" in result.output


def test_content_check_passes_with_warnings_only(make_app, tmp_path):
    content = make_pack(tmp_path, [_question("f1", FAIR)], rules=[_rule(checked="2025-01-01")])
    runner = make_app().test_cli_runner()
    result = runner.invoke(args=["content", "check", "--dir", str(content), "--today", "2027-06-01"])
    assert result.exit_code == 0, result.output
    assert "ok  lille: 1 modules, 1 exercises, 1 rule claims" in result.output
    assert "WARNING  lille: modul/rules.yaml#r1: checked 2025-01-01" in result.output


# --- prose that becomes a list ------------------------------------------------------------------

WRAPPED_DATE = ("Din leder beder dig lægge en plan for de første fire uger – fra\n"
                "1. december til udgangen af måneden – og overholde fristerne.")


@pytest.mark.parametrize("markdown", [
    WRAPPED_DATE,  # the Familien Haddad case: a wrapped line begins with the date
    "Afgørelsen blev truffet den\n\n6. oktober, og familien flyttede ind bagefter.",
    "Mødet handler om planen og\n- om hvem der gør hvad.",
], ids=["wrapped-date", "date-after-blank-line", "dash-inside-sentence"])
def test_prose_read_as_a_list_is_found(markdown):
    rendered = render_markdown(markdown)
    assert "<li>" in rendered  # CommonMark does make a list of it
    assert accidental_list(rendered) is not None


@pytest.mark.parametrize("markdown", [
    "Sådan gør du:\n\n1. Ring til tolken.\n2. Book lokalet.",
    "Diskrimineringsgrunderna är\n\n1. kön\n2. etnisk tillhörighet\n3. religion",  # lower case, but a list
    "> **Det kan du gøre i morgen**\n> - Find jeres modtageplan frem.\n> - Tjek, hvem der får besked.",
    "Det vigtigste:\n\n1. Tal med borgeren selv.",
    "Fra 1. december til udgangen af måneden.",
], ids=["numbered-steps", "lower-case-list", "quoted-bullets", "one-step-after-colon", "date-mid-line"])
def test_real_lists_and_dates_inside_lines_pass(markdown):
    assert accidental_list(render_markdown(markdown)) is None


def test_content_check_fails_a_pack_whose_case_text_becomes_a_list(make_app, tmp_path):
    content = make_pack(tmp_path, [_question("f1", FAIR)])
    quiz = content / "lille" / "modul" / "quiz.yaml"
    data = yaml.safe_load(quiz.read_text(encoding="utf-8"))
    data["intro"] = WRAPPED_DATE
    quiz.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    [finding] = prose_findings(load_catalog(content).programmes["lille"])
    assert finding.fails and finding.where == "modul/quiz (intro)" and "'december til udgangen" in finding.message
    result = make_app().test_cli_runner().invoke(args=["content", "check", "--dir", str(content)])
    assert result.exit_code != 0 and "packs failing the lints: lille" in result.output


def test_the_shipped_packs_have_no_prose_read_as_a_list():
    catalog = load_catalog(Path(__file__).resolve().parents[2] / "content")
    assert [str(f) for p in catalog.programmes.values() for f in prose_findings(p)] == []
