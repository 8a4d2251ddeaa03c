"""A copy of the Danish pack whose Haddad case has rubric levels and an instructor note of the
tests' own: known values (a marker, a script to be sanitised away) in the first criterion only, so
tests of the format and the grading page do not depend on the writers' wording."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRAMME = "efteruddannelse-integration"
MODULE = "nyankomne"
CASE = "refleksion-familien-haddad.yaml"

LEVELS = """\
    levels:
      - level: full
        points: 4
        anchor: "Nævner alle centrale aktører i realistisk rækkefølge og siger, hvem der koordinerer."
      - level: partial
        points: 2
        anchor: "Nævner de fleste aktører, men uden rækkefølge eller uden en fast koordinator."
      - level: missing
        points: 0
        anchor: "Nævner få eller ingen aktører og ingen koordinering."
"""

MODEL_ANSWER_MARK = "Modelsvarets første afsnit"
NOTE = f"""\
instructor_note:
  model_answer: |
    **{MODEL_ANSWER_MARK}**: jobcentret koordinerer og er familiens faste kontaktperson.
    <script>alert(1)</script>

    - Sprogcenter, skole og sundhedspleje inden for den første måned.
  common_mistakes:
    - "Lader Lina tolke for sin far."
    - "Glemmer fristen for integrationskontrakten."
    - "Lover Samir, at han kan flytte til Aarhus."
"""


def case_path(content: Path) -> Path:
    return content / PROGRAMME / MODULE / CASE


def pack_with_levels(target: Path, *, levels: str = LEVELS, note: str = NOTE) -> Path:
    """Copy the Danish pack under `target` (a content folder) and give the Haddad case's first
    criterion `levels` and the case `note`; returns the content folder."""
    shutil.copytree(ROOT / "content" / PROGRAMME, target / PROGRAMME)
    path = case_path(target)
    text = without_levels_and_note(path.read_text(encoding="utf-8"))
    first_points = "    points: 4\n"
    assert first_points in text, "the real pack changed: update this fixture"
    text = text.replace(first_points, first_points + levels, 1)
    path.write_text(text.rstrip("\n") + "\n" + note, encoding="utf-8")
    return target


def without_levels_and_note(text: str) -> str:
    """The case file without the pack's own levels and instructor note."""
    text = re.sub(r"^    levels:\n(?:^      .*\n)+", "", text, flags=re.M)
    return re.sub(r"^instructor_note:\n(?:^(?:  .*)?\n)*", "", text, flags=re.M)
