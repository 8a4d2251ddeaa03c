"""A copy of the Danish pack whose Haddad case has role variants of the tests' own: the first takes
the shared case, the second brings its own case, rubric and note, the third only its own case, so
tests of the format and of the learner and grading pages do not depend on the writers' wording."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

from tests.support.rubrics import PROGRAMME, ROOT, case_path

TEACHER_CASE_MARK = "Lærerens udgave af casen"
TEACHER_NOTE_MARK = "Lærerens modelsvar"
SHARED = "integration"
TEACHER = "laerer"
NURSE = "sundhedsplejerske"

VARIANTS = f"""\
variants:
  - id: {SHARED}
    role: Integrationsmedarbejder eller jobkonsulent
  - id: {TEACHER}
    role: Lærer i modtagelsesklassen
    case: |
      **{TEACHER_CASE_MARK}**: Lina (15) begynder i din modtagelsesklasse.
    questions:
      - Hvad gør du den første uge?
    rubric:
      - id: skolestart
        criterion: Skolestarten
        description: Svaret planlægger Linas første uge i klassen.
        points: 6
        levels:
          - level: full
            points: 6
            anchor: "En plan for første uge med tolk og forældresamtale."
          - level: partial
            points: 3
            anchor: "En plan uden forældresamtale."
          - level: missing
            points: 0
            anchor: "Ingen plan."
      - id: tolkerollen
        criterion: Linas tolkerolle
        description: Svaret stopper Lina som tolk.
        points: 4
    instructor_note:
      model_answer: |
        **{TEACHER_NOTE_MARK}**: Lina tolker ikke ved forældresamtalen.
      common_mistakes:
        - "Lader Lina tolke ved forældresamtalen."
        - "Venter med at tale med forældrene."
        - "Glemmer Adams skolestart."
  - id: {NURSE}
    role: Sundhedsplejerske
    case: |
      Sundhedsplejerskens udgave: Yara (2) og hendes mor.
"""


def shared_total(content: Path) -> float:
    """The points of the Haddad case's own rubric, whatever the writers have set them to."""
    data = yaml.safe_load(case_path(content).read_text(encoding="utf-8"))
    return float(sum(c["points"] for c in data["rubric"]))


def pack_with_variants(target: Path, *, variants: str = VARIANTS) -> Path:
    """Copy the Danish pack under `target` (a content folder), replacing the Haddad case's variants
    with `variants`; returns the content folder."""
    shutil.copytree(ROOT / "content" / PROGRAMME, target / PROGRAMME)
    path = case_path(target)
    text = without_variants(path.read_text(encoding="utf-8"))
    path.write_text(text.rstrip("\n") + "\n" + variants, encoding="utf-8")
    return target


def without_variants(text: str) -> str:
    """The case file without the pack's own variants."""
    return re.sub(r"^variants:\n(?:^(?:  .*)?\n)*", "", text, flags=re.M)
