"""Content packs: the real packs validate; broken ones are reported precisely and left out."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lti_tool.content.loader import load_catalog
from lti_tool.content.render import render_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_all_programmes_are_valid_and_complete():
    catalog = load_catalog(ROOT / "content")
    assert [str(p) for p in catalog.problems] == []
    assert set(catalog.programmes) == {"efteruddannelse-integration", "change", "fast-track"}
    danish = catalog.programmes["efteruddannelse-integration"]
    assert [m.id for m in danish.mandatory] == ["nyankomne", "tvaerfagligt-samarbejde"]
    assert len(danish.electives) == 4 and danish.electives_required == 2
    assert len(catalog.programmes["change"].modules) == 4
    assert len(catalog.programmes["fast-track"].modules) == 2
    for programme in catalog.programmes.values():
        for module in programme.modules:
            pages = [a for a in module.activities if a.type == "page"]
            exercises = [a for a in module.activities if a.is_exercise]
            assert 4 <= len(pages) <= 8, module.id
            assert len(exercises) >= 3 and len({a.type for a in exercises}) >= 2, module.id
            assert module.goals and module.estimated_minutes > 0
            assert module.language == programme.language


@pytest.fixture
def pack(tmp_path):
    """A copy of the English pack to break in different ways."""
    target = tmp_path / "content"
    shutil.copytree(ROOT / "content" / "fast-track", target / "fast-track")
    shutil.copytree(ROOT / "content" / "change", target / "change")
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _quiz(pack: Path) -> Path:
    return next((pack / "fast-track" / "running-the-course").glob("quiz-*.yaml"))


def test_yaml_syntax_error_names_file_and_line(pack):
    quiz = _quiz(pack)
    lines = quiz.read_text(encoding="utf-8").splitlines()
    lines.append("broken: [unclosed")
    quiz.write_text("\n".join(lines), encoding="utf-8")

    catalog = load_catalog(pack)

    assert "fast-track" in catalog.rejected and "change" in catalog.programmes
    problem = catalog.problems[0]
    assert problem.file.endswith(quiz.name) and problem.line is not None and problem.field == "yaml"


def test_missing_field_names_file_line_and_field(pack):
    quiz = _quiz(pack)
    _edit(quiz, "pass_mark:", "pass_mark_typo:")
    text = quiz.read_text(encoding="utf-8")
    _edit(quiz, "    prompt:", "    question:")
    line = text.splitlines().index(next(ln for ln in text.splitlines() if ln.startswith("  - id:"))) + 1

    catalog = load_catalog(pack)

    messages = [str(p) for p in catalog.problems]
    assert any(f"{quiz.name}:{line}: questions[0].prompt: is required" in m for m in messages), messages


@pytest.mark.parametrize(("old", "new", "field"), [
    ("correct: true", "correct: yes-please", "correct"),
    ("kind: single", "kind: essay", "kind"),
    ("pass_mark: 0.", "pass_mark: 7", "pass_mark"),
], ids=["correct-not-bool", "unknown-kind", "pass-mark-range"])
def test_bad_values_are_named(pack, old, new, field):
    _edit(_quiz(pack), old, new)
    catalog = load_catalog(pack)
    assert any(field in p.field for p in catalog.problems), [str(p) for p in catalog.problems]
    assert "fast-track" in catalog.rejected


def test_missing_module_folder_and_page_file(pack):
    _edit(pack / "fast-track" / "programme.yaml", "id: placement-and-employers", "id: no-such-module")
    (pack / "change" / "se-och-starka-individen" / "01-forsta-motet.md").unlink(missing_ok=True)
    page = next((pack / "change" / "integrationsuppdraget").glob("0*.md"))
    page.unlink()

    catalog = load_catalog(pack)

    messages = [str(p) for p in catalog.problems]
    assert any("no folder no-such-module/" in m for m in messages)
    assert any(page.name in m and "missing" in m for m in messages)
    assert catalog.programmes == {}


def test_duplicate_ids_are_reported(pack):
    module = pack / "fast-track" / "running-the-course" / "module.yaml"
    text = module.read_text(encoding="utf-8")
    first_id = next(ln for ln in text.splitlines() if ln.strip().startswith("- id:")).split(":", 1)[1].strip()
    second = [ln for ln in text.splitlines() if ln.strip().startswith("- id:")][1]
    module.write_text(text.replace(second, second.split("id:")[0] + "id: " + first_id, 1), encoding="utf-8")

    catalog = load_catalog(pack)

    assert any("used twice" in p.message for p in catalog.problems)


def test_file_outside_module_is_refused(pack):
    _edit(pack / "fast-track" / "running-the-course" / "module.yaml", "file: 01-", "file: ../../../etc/01-")
    catalog = load_catalog(pack)
    assert any("inside the module folder" in p.message for p in catalog.problems)


def test_cli_content_check(make_app, pack):
    app = make_app()
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["content", "check"])
    assert ok.exit_code == 0 and "ok  efteruddannelse-integration" in ok.output
    _edit(_quiz(pack), "correct: true", "correct: maybe")
    broken = runner.invoke(args=["content", "check", "--dir", str(pack)])
    assert broken.exit_code != 0
    assert "correct" in broken.output and "fast-track" in broken.output


@pytest.mark.parametrize(("markdown", "absent", "present"), [
    ("<script>alert(1)</script>", "<script", "&lt;script&gt;"),
    ("[x](javascript:alert(1))", 'href="javascript', "x"),
    ('<img src=x onerror="alert(1)">', "<img", "onerror"),
    ('<iframe src="https://evil.example"></iframe>', "<iframe", "iframe"),
    ("![map](media/kort.png)", "src=\"media/", 'src="/content/p/m/media/kort.png"'),
    ("[skabelon](../../secret.docx)", "secret", 'href="#"'),
    ("| a | b |\n|---|---|\n| 1 | 2 |", "<script", '<div class="table-scroll"><table>'),
])
def test_markdown_is_sanitised(markdown, absent, present):
    html = render_markdown(markdown, "/content/p/m")
    assert absent not in html
    assert present in html


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("pass_mark:", "passmark:", "passmark: is not a field of this format; did you mean 'pass_mark'?"),
    ("    prompt:", "    promt:", "questions[0].promt: is not a field of this format; did you mean 'prompt'?"),
], ids=["quiz-field", "question-field"])
def test_unknown_fields_are_named_with_a_suggestion(pack, old, new, expected):
    """A typo would otherwise silently give the default (a pass mark of 70 %, unlimited attempts)."""
    quiz = _quiz(pack)
    _edit(quiz, old, new)
    line = quiz.read_text(encoding="utf-8").splitlines().index(
        next(ln for ln in quiz.read_text(encoding="utf-8").splitlines() if ln.startswith(new))) + 1

    catalog = load_catalog(pack)

    assert f"fast-track/running-the-course/{quiz.name}:{line}: {expected}" in [str(p) for p in catalog.problems]
    assert "fast-track" in catalog.rejected and "change" in catalog.programmes


def test_unknown_field_in_module_and_programme_files(pack):
    _edit(pack / "change" / "programme.yaml", "language: sv", "language: sv\nlanguages: [sv]")
    _edit(pack / "change" / "integrationsuppdraget" / "module.yaml", "estimated_minutes:", "estimated_minute:")

    messages = [str(p) for p in load_catalog(pack).problems]

    assert any("programme.yaml:3: languages: is not a field" in m for m in messages), messages
    assert any("module.yaml" in m and "estimated_minute: is not a field" in m and "'estimated_minutes'" in m
               for m in messages), messages


def test_a_broken_address_in_a_content_file_links_nowhere_instead_of_breaking_the_page():
    html = render_markdown("[Kort](http://[x/kort.pdf) og ![figur](http://[::1x]/a.png)", "/media/p/")
    assert "Kort" in html and 'src="#"' in html and "http://[" not in html
