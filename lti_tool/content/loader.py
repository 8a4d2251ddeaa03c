"""Loading and validating content packs. Every problem names the file, the line and the field.

A pack with problems is reported and left out; the other packs serve. Nothing here raises on
bad content: callers get a Catalog with `problems`.
"""

from __future__ import annotations

import datetime
import difflib
import re
from pathlib import Path
from typing import Any

import yaml

from lti_tool.content.model import (
    CLAIM_STATUSES,
    EXERCISE_TYPES,
    LEVEL_NAMES,
    Activity,
    CaseVariant,
    Catalog,
    ContentProblem,
    Criterion,
    InstructorNote,
    Module,
    Option,
    Pair,
    Programme,
    Prompt,
    Question,
    RubricLevel,
    RuleClaim,
)
from lti_tool.content.render import render_inline, render_markdown

# The fields of each part of the format (content/README.md documents them).
PROGRAMME_FIELDS = frozenset({"id", "language", "title", "summary", "modules", "completion"})
PROGRAMME_MODULE_FIELDS = frozenset({"id", "mandatory"})
COMPLETION_FIELDS = frozenset({"electives_required"})
MODULE_FIELDS = frozenset({"id", "title", "summary", "estimated_minutes", "goals", "activities"})
ACTIVITY_ENTRY_FIELDS = frozenset({"id", "type", "file", "title", "required"})
EXERCISE_FIELDS = {
    "quiz": frozenset({"title", "intro", "points", "questions", "pass_mark", "max_attempts"}),
    "reflection": frozenset({"title", "intro", "points", "case", "questions", "rubric", "min_words",
                             "instructor_note", "variants"}),
    "matching": frozenset({"title", "intro", "points", "pairs", "pass_mark"}),
    "action_plan": frozenset({"title", "intro", "points", "prompts", "min_filled"}),
}
QUESTION_FIELDS = frozenset({"id", "kind", "prompt", "options"})
OPTION_FIELDS = frozenset({"id", "text", "correct", "feedback"})
VARIANT_FIELDS = frozenset({"id", "role", "case", "questions", "rubric", "instructor_note"})
CRITERION_FIELDS = frozenset({"id", "criterion", "description", "points", "levels"})
LEVEL_FIELDS = frozenset({"level", "points", "anchor"})
INSTRUCTOR_NOTE_FIELDS = frozenset({"model_answer", "common_mistakes"})
COMMON_MISTAKES = 3
PAIR_FIELDS = frozenset({"id", "item", "match", "feedback"})
PROMPT_FIELDS = frozenset({"id", "label", "hint"})
RULES_FIELDS = frozenset({"rules"})
RULE_FIELDS = frozenset({"id", "claim", "status", "date", "source", "checked"})

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
LANGUAGES = ("da", "sv", "en")
MAX_FILE_BYTES = 512 * 1024


class _Lines(dict[str, Any]):
    """A mapping that remembers the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Lines:
    mapping = _Lines()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        mapping[str(key)] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[str(key)] = key_node.start_mark.line + 1
    return mapping


def _construct_timestamp(loader: _LineLoader, node: yaml.ScalarNode) -> object:
    # PyYAML raises ValueError for a date-shaped value that is no date (2026-13-01), which would
    # escape as a crash; kept as text, the field's own check names it with its line.
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


class _Invalid(Exception):
    pass


class _Reader:
    """Reads fields from one YAML file, collecting problems with their lines."""

    def __init__(self, path: Path, root: Path, problems: list[ContentProblem]) -> None:
        self.path = path
        try:
            self.name = str(path.resolve().relative_to(root))
        except ValueError:
            self.name = path.name
        self.problems = problems

    def problem(self, data: Any, field: str, message: str) -> None:
        """Record a problem in this file, at the line of `field` (or of `data`) when known."""
        line = None
        if isinstance(data, _Lines):
            line = data.key_lines.get(field.rsplit(".", 1)[-1].split("[", 1)[0], data.line)
        self.problems.append(ContentProblem(self.name, line, field, message))

    def load(self) -> _Lines:
        """The file's top-level mapping; records the problem and raises _Invalid if it cannot be read."""
        try:
            if self.path.stat().st_size > MAX_FILE_BYTES:
                raise _Invalid(f"file is larger than {MAX_FILE_BYTES // 1024} KB")
            data = yaml.load(self.path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
        except FileNotFoundError:
            self.problems.append(ContentProblem(self.name, None, "file", "file not found"))
            raise _Invalid from None
        except UnicodeDecodeError:
            self.problems.append(ContentProblem(self.name, None, "file", "not UTF-8 text"))
            raise _Invalid from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else None
            self.problems.append(ContentProblem(self.name, line, "yaml", str(getattr(exc, "problem", exc))))
            raise _Invalid from None
        except _Invalid as exc:
            self.problems.append(ContentProblem(self.name, None, "file", str(exc)))
            raise
        if not isinstance(data, _Lines):
            self.problems.append(ContentProblem(self.name, 1, "file", "must be a mapping of fields"))
            raise _Invalid
        return data

    def text(self, data: _Lines, field: str, *, prefix: str = "", required: bool = True) -> str:
        """The field as stripped text; "" (and a problem if required) when missing, blank or not text."""
        value = data.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(data, prefix + field, "is required")
            return ""
        if not isinstance(value, str | int | float):
            self.problem(data, prefix + field, "must be text")
            return ""
        return str(value).strip()

    def ident(self, data: _Lines, field: str = "id", *, prefix: str = "") -> str:
        """The field as text, with a problem recorded unless it has the shape of an id."""
        value = self.text(data, field, prefix=prefix)
        if value and not ID_PATTERN.match(value):
            self.problem(data, prefix + field, f"{value!r} is not an id (lower-case a-z, 0-9 and hyphens)")
        return value

    def number(self, data: _Lines, field: str, default: float | None, *, prefix: str = "",
               low: float | None = None, high: float | None = None) -> float | None:
        """The field as a float, `default` when absent; `default` and a problem when not a number in range."""
        value = data.get(field, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(data, prefix + field, "must be a number")
            return default
        if (low is not None and value < low) or (high is not None and value > high):
            self.problem(data, prefix + field, f"must be between {low} and {high}")
            return default
        return float(value)

    def day(self, data: _Lines, field: str, *, prefix: str = "") -> datetime.date | None:
        """A calendar date written as YYYY-MM-DD (quoted or not)."""
        value = data.get(field)
        if value is None:
            self.problem(data, prefix + field, "is required (YYYY-MM-DD)")
            return None
        if isinstance(value, datetime.datetime):
            self.problem(data, prefix + field, "must be a date without a time (YYYY-MM-DD)")
            return None
        if isinstance(value, datetime.date):
            return value
        try:
            return datetime.date.fromisoformat(str(value).strip())
        except ValueError:
            self.problem(data, prefix + field, f"{value!r} is not a date (YYYY-MM-DD)")
            return None

    def items(self, data: _Lines, field: str, *, prefix: str = "", minimum: int = 1) -> list[Any]:
        """The field's list; [] and a problem when it is not a list of at least `minimum` entries."""
        value = data.get(field)
        if not isinstance(value, list) or len(value) < minimum:
            self.problem(data, prefix + field, f"must be a list of at least {minimum}")
            return []
        return value

    def locales(self, data: _Lines, field: str, language: str) -> dict[str, str]:
        """The field's text per language; a bare string counts as the text in `language`."""
        value = data.get(field)
        if isinstance(value, str):
            return {language: value.strip()}
        if not isinstance(value, dict) or not value:
            self.problem(data, field, "must give the text per language (da, sv, en)")
            return {}
        unknown = [k for k in value if k not in LANGUAGES]
        if unknown:
            self.problem(data, field, f"unknown languages {unknown}; use da, sv, en")
        return {str(k): str(v).strip() for k, v in value.items() if k in LANGUAGES and v}

    def fields(self, data: _Lines, allowed: frozenset[str], *, prefix: str = "") -> None:
        """Name every field the format does not know: a typo must not silently become a default."""
        for key in data:
            if key not in allowed:
                guess = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint = f"; did you mean {guess[0]!r}?" if guess else f"; known fields: {', '.join(sorted(allowed))}"
                self.problem(data, prefix + key, "is not a field of this format" + hint)

    def unique(self, data: _Lines, field: str, ids: list[str]) -> None:
        """Record a problem for each id in `ids` that repeats an earlier one."""
        seen: set[str] = set()
        for value in ids:
            if value and value in seen:
                self.problem(data, field, f"id {value!r} is used twice")
            seen.add(value)


def _media_base(programme_id: str, module_id: str) -> str:
    return f"/content/{programme_id}/{module_id}"


def _quiz(r: _Reader, data: _Lines, common: dict[str, Any]) -> Activity:
    questions = []
    for i, q in enumerate(r.items(data, "questions")):
        p = f"questions[{i}]."
        if not isinstance(q, _Lines):
            r.problem(data, "questions", f"item {i + 1} must be a mapping")
            continue
        r.fields(q, QUESTION_FIELDS, prefix=p)
        kind = r.text(q, "kind", prefix=p) or "single"
        if kind not in ("single", "multiple"):
            r.problem(q, p + "kind", "must be single or multiple")
        options = []
        for j, o in enumerate(r.items(q, "options", prefix=p, minimum=2)):
            op = f"{p}options[{j}]."
            if not isinstance(o, _Lines):
                r.problem(q, p + "options", f"option {j + 1} must be a mapping")
                continue
            r.fields(o, OPTION_FIELDS, prefix=op)
            if "correct" in o and not isinstance(o["correct"], bool):
                r.problem(o, op + "correct", "must be true or false")
            options.append(Option(id=r.ident(o, prefix=op), text=render_inline(r.text(o, "text", prefix=op)),
                                  correct=o.get("correct") is True,
                                  feedback=render_inline(r.text(o, "feedback", prefix=op))))
        r.unique(q, p + "options", [o.id for o in options])
        correct = sum(o.correct for o in options)
        if options and (correct == 0 or (kind == "single" and correct != 1)):
            r.problem(q, p + "options", "a single question needs exactly one correct option, "
                                        "a multiple question at least one")
        questions.append(Question(id=r.ident(q, prefix=p), kind="multiple" if kind == "multiple" else "single",
                                  prompt=render_inline(r.text(q, "prompt", prefix=p)), options=tuple(options)))
    r.unique(data, "questions", [q.id for q in questions])
    attempts = r.number(data, "max_attempts", None, low=1, high=100)
    pass_mark = r.number(data, "pass_mark", 0.7, low=0, high=1) or 0.0
    return Activity(**common, questions=tuple(questions), pass_mark=pass_mark,
                    max_attempts=int(attempts) if attempts else None)


def _reflection(r: _Reader, data: _Lines, common: dict[str, Any], media: str) -> Activity:
    guiding = [str(q).strip() for q in r.items(data, "questions")]
    rubric = _rubric(r, data)
    case_html = render_markdown(r.text(data, "case"), media)
    note = _instructor_note(r, data, media)
    return Activity(**common, case_html=case_html, guiding_questions=tuple(guiding), rubric=rubric,
                    min_words=int(r.number(data, "min_words", 0, low=0, high=5000) or 0),
                    instructor_note=note,
                    variants=_variants(r, data, media, CaseVariant("", "", case_html, tuple(guiding), rubric, note)))


def _rubric(r: _Reader, data: _Lines, prefix: str = "") -> tuple[Criterion, ...]:
    rubric = []
    for i, c in enumerate(r.items(data, "rubric", prefix=prefix)):
        p = f"{prefix}rubric[{i}]."
        if not isinstance(c, _Lines):
            r.problem(data, prefix + "rubric", f"criterion {i + 1} must be a mapping")
            continue
        r.fields(c, CRITERION_FIELDS, prefix=p)
        points = r.number(c, "points", None, prefix=p, low=0.5, high=100) or 0.0
        rubric.append(Criterion(id=r.ident(c, prefix=p), criterion=r.text(c, "criterion", prefix=p),
                                description=r.text(c, "description", prefix=p), points=points,
                                levels=_levels(r, c, p, points)))
    r.unique(data, prefix + "rubric", [c.id for c in rubric])
    return tuple(rubric)


def _variants(r: _Reader, data: _Lines, media: str, shared: CaseVariant) -> tuple[CaseVariant, ...]:
    """The case's optional versions by role; each takes what it leaves out from the case above it.

    A variant's own rubric may total other points: the grade is the share of the answered variant's
    rubric, and the exercise weighs the same in the module score whichever role is picked (its
    `points`, else the shared rubric's total). A variant with a case of its own does not take the
    shared instructor note, which is about another case."""
    if "variants" not in data:
        return ()
    value = data["variants"]
    if not isinstance(value, list) or len(value) < 2:
        r.problem(data, "variants", "must be a list of at least two variants (one is no choice)")
        return ()
    variants = []
    for i, entry in enumerate(value):
        p = f"variants[{i}]."
        if not isinstance(entry, _Lines):
            r.problem(data, "variants", f"variant {i + 1} must be a mapping with id and role")
            continue
        r.fields(entry, VARIANT_FIELDS, prefix=p)
        own_case = "case" in entry
        rubric = _rubric(r, entry, p) if "rubric" in entry else shared.rubric
        if "instructor_note" in entry:
            note = _instructor_note(r, entry, media, prefix=p)
        else:
            note = None if own_case else shared.instructor_note
        variants.append(CaseVariant(
            id=r.ident(entry, prefix=p), role=r.text(entry, "role", prefix=p),
            case_html=render_markdown(r.text(entry, "case", prefix=p), media) if own_case else shared.case_html,
            guiding_questions=(tuple(str(q).strip() for q in r.items(entry, "questions", prefix=p))
                               if "questions" in entry else shared.guiding_questions),
            rubric=rubric, instructor_note=note))
    r.unique(data, "variants", [v.id for v in variants])
    return tuple(variants)


def _levels(r: _Reader, criterion: _Lines, prefix: str, full_points: float) -> tuple[RubricLevel, ...]:
    """A criterion's optional levels: exactly full, partial, missing, with points that order them.

    Fixed names and order, so every criterion reads the same way on the grading page and two
    instructors choose between the same three descriptions."""
    if "levels" not in criterion:
        return ()
    field = prefix + "levels"
    value = criterion["levels"]
    if not isinstance(value, list) or len(value) != len(LEVEL_NAMES):
        r.problem(criterion, field, "must be a list of exactly three levels: full, partial, missing")
        return ()
    levels = []
    for i, (entry, expected) in enumerate(zip(value, LEVEL_NAMES, strict=True)):
        p = f"{field}[{i}]."
        if not isinstance(entry, _Lines):
            r.problem(criterion, field, f"level {i + 1} must be a mapping with level, points and anchor")
            continue
        r.fields(entry, LEVEL_FIELDS, prefix=p)
        name = r.text(entry, "level", prefix=p)
        if name and name != expected:
            r.problem(entry, p + "level", f"{name!r}: the levels are full, partial, missing in that order; "
                                          f"level {i + 1} must be {expected!r}")
        anchor = r.text(entry, "anchor", prefix=p)
        points = r.number(entry, "points", None, prefix=p, low=0, high=100)
        if points is None:
            if "points" not in entry:
                r.problem(entry, p + "points", "is required")
            continue
        if expected == "full" and points != full_points:
            r.problem(entry, p + "points", f"must be the criterion's points ({full_points:g})")
        elif expected == "missing" and points != 0:
            r.problem(entry, p + "points", "must be 0")
        elif expected == "partial" and not 0 < points < full_points:
            r.problem(entry, p + "points", f"must be more than 0 and less than the criterion's points "
                                           f"({full_points:g})")
        levels.append(RubricLevel(level=expected, points=points, anchor=anchor))
    return tuple(levels) if len(levels) == len(LEVEL_NAMES) else ()


def _instructor_note(r: _Reader, data: _Lines, media: str, *, prefix: str = "") -> InstructorNote | None:
    """The case's optional note for the instructor: a model answer and the three common mistakes."""
    if "instructor_note" not in data:
        return None
    note = data["instructor_note"]
    if not isinstance(note, _Lines):
        r.problem(data, prefix + "instructor_note", "must be a mapping with model_answer and common_mistakes")
        return None
    p = prefix + "instructor_note."
    r.fields(note, INSTRUCTOR_NOTE_FIELDS, prefix=p)
    model_answer = r.text(note, "model_answer", prefix=p)
    mistakes = note.get("common_mistakes")
    texts = [str(m).strip() for m in mistakes] if isinstance(mistakes, list) else []
    if len(texts) != COMMON_MISTAKES or not all(isinstance(m, str) and m.strip() for m in mistakes or ()):
        r.problem(note, p + "common_mistakes", f"must be a list of exactly {COMMON_MISTAKES} texts"
                                               + (f", not {len(texts)}" if texts else ""))
        return None
    if not model_answer:
        return None
    return InstructorNote(model_answer_html=render_markdown(model_answer, media), common_mistakes=tuple(texts))


def _matching(r: _Reader, data: _Lines, common: dict[str, Any]) -> Activity:
    pairs = []
    for i, pair in enumerate(r.items(data, "pairs", minimum=2)):
        p = f"pairs[{i}]."
        if not isinstance(pair, _Lines):
            r.problem(data, "pairs", f"pair {i + 1} must be a mapping")
            continue
        r.fields(pair, PAIR_FIELDS, prefix=p)
        pairs.append(Pair(id=r.ident(pair, prefix=p), item=r.text(pair, "item", prefix=p),
                          match=r.text(pair, "match", prefix=p), feedback=r.text(pair, "feedback", prefix=p)))
    r.unique(data, "pairs", [p.id for p in pairs])
    if len({p.match for p in pairs}) != len(pairs):
        r.problem(data, "pairs", "two pairs have the same match text; learners could not tell them apart")
    return Activity(**common, pairs=tuple(pairs), pass_mark=r.number(data, "pass_mark", 0.5, low=0, high=1) or 0.0)


def _action_plan(r: _Reader, data: _Lines, common: dict[str, Any], media: str) -> Activity:
    prompts = []
    for i, pr in enumerate(r.items(data, "prompts")):
        p = f"prompts[{i}]."
        if not isinstance(pr, _Lines):
            r.problem(data, "prompts", f"prompt {i + 1} must be a mapping")
            continue
        r.fields(pr, PROMPT_FIELDS, prefix=p)
        prompts.append(Prompt(id=r.ident(pr, prefix=p), label=r.text(pr, "label", prefix=p),
                              hint=render_inline(r.text(pr, "hint", prefix=p, required=False), media)))
    r.unique(data, "prompts", [p.id for p in prompts])
    min_filled = int(r.number(data, "min_filled", 1, low=1, high=max(1, len(prompts))) or 1)
    return Activity(**common, prompts=tuple(prompts), min_filled=min_filled)


def _activity(entry: _Lines, index: int, module_reader: _Reader, folder: Path, root: Path,
              programme_id: str, module_id: str, problems: list[ContentProblem]) -> Activity | None:
    p = f"activities[{index}]."
    module_reader.fields(entry, ACTIVITY_ENTRY_FIELDS, prefix=p)
    activity_id = module_reader.ident(entry, prefix=p)
    kind = module_reader.text(entry, "type", prefix=p)
    file_name = module_reader.text(entry, "file", prefix=p)
    if kind and kind not in ("page", *EXERCISE_TYPES):
        module_reader.problem(entry, p + "type", f"{kind!r} is not page, quiz, reflection, matching or action_plan")
        return None
    if "required" in entry and not isinstance(entry["required"], bool):
        module_reader.problem(entry, p + "required", "must be true or false")
    if not (activity_id and kind and file_name):
        return None
    path = (folder / file_name).resolve()
    if folder.resolve() not in path.parents:
        module_reader.problem(entry, p + "file", "must be inside the module folder")
        return None
    media = _media_base(programme_id, module_id)
    required = entry.get("required", True) is not False
    if kind == "page":
        title = module_reader.text(entry, "title", prefix=p)
        try:
            body = path.read_text(encoding="utf-8")
        except (FileNotFoundError, UnicodeDecodeError, IsADirectoryError):
            module_reader.problem(entry, p + "file", f"{file_name} is missing or not UTF-8 text")
            return None
        if not body.strip():
            module_reader.problem(entry, p + "file", f"{file_name} is empty")
        return Activity(id=activity_id, type="page", title=title, required=required,
                        body_html=render_markdown(body, media))
    reader = _Reader(path, root, problems)
    try:
        data = reader.load()
    except _Invalid:
        return None
    reader.fields(data, EXERCISE_FIELDS[kind])
    weight = reader.number(data, "points", None, low=0, high=1000)
    common: dict[str, Any] = {
        "id": activity_id, "type": kind, "required": required, "weight": weight,
        "title": reader.text(data, "title") or module_reader.text(entry, "title", prefix=p, required=False),
        "intro_html": render_markdown(reader.text(data, "intro", required=False), media),
    }
    if kind == "quiz":
        return _quiz(reader, data, common)
    if kind == "reflection":
        return _reflection(reader, data, common, media)
    if kind == "matching":
        return _matching(reader, data, common)
    return _action_plan(reader, data, common, media)


def _rules(folder: Path, root: Path, problems: list[ContentProblem]) -> tuple[RuleClaim, ...]:
    """The module's rules.yaml, if it has one: the rules it states, each dated and sourced."""
    path = folder / "rules.yaml"
    if not path.is_file():
        return ()
    reader = _Reader(path, root, problems)
    try:
        data = reader.load()
    except _Invalid:
        return ()
    reader.fields(data, RULES_FIELDS)
    claims = []
    for i, entry in enumerate(reader.items(data, "rules")):
        p = f"rules[{i}]."
        if not isinstance(entry, _Lines):
            reader.problem(data, "rules", f"rule {i + 1} must be a mapping")
            continue
        reader.fields(entry, RULE_FIELDS, prefix=p)
        rule_id = reader.ident(entry, prefix=p)
        claim = reader.text(entry, "claim", prefix=p)
        status = reader.text(entry, "status", prefix=p)
        if status and status not in CLAIM_STATUSES:
            reader.problem(entry, p + "status", f"{status!r} must be one of {', '.join(CLAIM_STATUSES)}")
        source = reader.text(entry, "source", prefix=p)
        when = reader.day(entry, "date", prefix=p)
        checked = reader.day(entry, "checked", prefix=p)
        if status in CLAIM_STATUSES and when and checked and rule_id and claim and source:
            claims.append(RuleClaim(id=rule_id, claim=claim, status=status, date=when,  # type: ignore[arg-type]
                                    source=source, checked=checked))
    reader.unique(data, "rules", [c.id for c in claims])
    return tuple(claims)


def _module(folder: Path, root: Path, programme_id: str, language: str, mandatory: bool,
            problems: list[ContentProblem]) -> Module | None:
    reader = _Reader(folder / "module.yaml", root, problems)
    data = reader.load()
    reader.fields(data, MODULE_FIELDS)
    module_id = reader.ident(data)
    if module_id and module_id != folder.name:
        reader.problem(data, "id", f"must be the folder's name {folder.name!r}")
    activities = []
    for i, entry in enumerate(reader.items(data, "activities", minimum=1)):
        if not isinstance(entry, _Lines):
            reader.problem(data, "activities", f"activity {i + 1} must be a mapping")
            continue
        activity = _activity(entry, i, reader, folder, root, programme_id, folder.name, problems)
        if activity:
            activities.append(activity)
    reader.unique(data, "activities", [a.id for a in activities])
    minutes = reader.number(data, "estimated_minutes", None, low=5, high=6000)
    if minutes is None:
        reader.problem(data, "estimated_minutes", "is required")
    goals = [str(g).strip() for g in reader.items(data, "goals")]
    return Module(id=module_id, programme_id=programme_id, language=language, title=reader.text(data, "title"),
                  summary=reader.text(data, "summary"), estimated_minutes=int(minutes or 0), goals=tuple(goals),
                  activities=tuple(activities), folder=str(folder), mandatory=mandatory,
                  rules=_rules(folder, root, problems))


def load_pack(folder: Path, root: Path) -> tuple[Programme | None, list[ContentProblem]]:
    """One programme folder; returns the programme only when it has no problems."""
    problems: list[ContentProblem] = []
    reader = _Reader(folder / "programme.yaml", root, problems)
    try:
        data = reader.load()
        reader.fields(data, PROGRAMME_FIELDS)
        programme_id = reader.ident(data)
        language = reader.text(data, "language")
        if language and language not in LANGUAGES:
            reader.problem(data, "language", f"{language!r} must be one of {', '.join(LANGUAGES)}")
        title = reader.locales(data, "title", language)
        summary = reader.locales(data, "summary", language)
        modules = []
        refs = reader.items(data, "modules")
        for i, ref in enumerate(refs):
            p = f"modules[{i}]."
            if not isinstance(ref, _Lines):
                reader.problem(data, "modules", f"module {i + 1} must be a mapping with id and mandatory")
                continue
            reader.fields(ref, PROGRAMME_MODULE_FIELDS, prefix=p)
            module_id = reader.ident(ref, prefix=p)
            if not isinstance(ref.get("mandatory"), bool):
                reader.problem(ref, p + "mandatory", "must be true or false")
            if not module_id:
                continue
            if not (folder / module_id / "module.yaml").is_file():
                reader.problem(ref, p + "id", f"no folder {module_id}/ with a module.yaml")
                continue
            try:
                module = _module(folder / module_id, root, programme_id, language,
                                 ref.get("mandatory") is True, problems)
            except _Invalid:
                continue
            if module:
                modules.append(module)
        reader.unique(data, "modules", [m.id for m in modules])
        completion = data.get("completion")
        electives = 0
        if completion is not None:
            if not isinstance(completion, _Lines):
                reader.problem(data, "completion", "must be a mapping with electives_required")
            else:
                reader.fields(completion, COMPLETION_FIELDS, prefix="completion.")
                electives = int(reader.number(completion, "electives_required", 0, prefix="completion.", low=0,
                                              high=100) or 0)
        if electives > sum(1 for m in modules if not m.mandatory):
            reader.problem(data, "completion", "more electives required than the programme offers")
    except _Invalid:
        return None, problems
    if problems:
        return None, problems
    return Programme(id=programme_id, language=language, title=title, summary=summary, modules=tuple(modules),
                     electives_required=electives, folder=str(folder)), problems


def load_catalog(content_dir: str | Path) -> Catalog:
    """Every pack under `content_dir`; broken packs are reported and left out."""
    root = Path(content_dir).resolve()
    catalog = Catalog()
    if not root.is_dir():
        catalog.problems.append(ContentProblem(str(root), None, "folder", "content folder not found"))
        return catalog
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and (p / "programme.yaml").is_file()):
        programme, problems = load_pack(folder, root)
        if programme is not None:
            clash = [m.id for m in programme.modules if catalog.module(m.id)]
            if programme.id in catalog.programmes or clash:
                problems.append(ContentProblem(f"{folder.name}/programme.yaml", None, "id",
                                               f"ids already used by another pack: {clash or programme.id}"))
                programme = None
        catalog.problems.extend(problems)
        if programme is None:
            catalog.rejected.append(folder.name)
        else:
            catalog.programmes[programme.id] = programme
    return catalog
