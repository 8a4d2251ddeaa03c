"""Every interface string is translated into Danish and Swedish, with matching placeholders; every
plural message has all its forms in Danish, Swedish and English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
LANGUAGES = ("da", "sv", "en")


def read_catalogue(lang: str):
    with open(ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=lang)


def source_plurals() -> set[tuple[str, str]]:
    """Every (singular, plural) pair the code and templates pass to ngettext."""
    method_map = [("lti_tool/**.py", "python"), ("blueprints/**.py", "python"), ("templates/**.html", "jinja2")]
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, keywords={"ngettext": (1, 2)}):
        if isinstance(message, tuple):
            found.add((message[0], message[1]))
    return found


def source_strings() -> set[str]:
    method_map = [("lti_tool/**.py", "python"), ("blueprints/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("lang", ["da", "sv"])
def test_catalogue_is_complete(lang):
    with open(ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh, locale=lang)
    translated = {}
    for m in catalog:
        if m.id:
            key = m.id if isinstance(m.id, str) else m.id[0]
            translated[key] = m.string if isinstance(m.string, str) else m.string[0]
    missing = sorted(s for s in source_strings() if not translated.get(s))
    assert missing == [], f"untranslated in {lang} (run `make translations-update` and translate): {missing}"
    for key, value in translated.items():
        if value:
            assert sorted(PLACEHOLDER.findall(key)) == sorted(PLACEHOLDER.findall(value)), key


def test_plural_messages_exist_in_the_source():
    # The check below must have something to check: the counts the pages show are plural messages.
    singulars = {singular for singular, _ in source_plurals()}
    assert "%(num)s reflection is waiting for your grading." in singulars
    assert "about %(hours)s hour" in singulars


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_plural_message_has_all_its_forms(lang):
    catalog = read_catalogue(lang)
    forms = catalog.num_plurals
    assert forms >= 2, f"{lang}: the catalogue's Plural-Forms header is missing"
    entries = {m.id: m for m in catalog if m.id and isinstance(m.id, tuple)}
    problems = []
    for singular, plural in sorted(source_plurals()):
        message = entries.get((singular, plural))
        if message is None:
            problems.append(f"not a plural entry: {singular!r}")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if len(strings) != forms or not all(strings):
            problems.append(f"{len([s for s in strings if s])} of {forms} forms: {singular!r}")
        if message.fuzzy:
            problems.append(f"fuzzy: {singular!r}")
        for form in strings:
            if form and set(PLACEHOLDER.findall(form)) - set(PLACEHOLDER.findall(singular + plural)):
                problems.append(f"a placeholder the source does not pass: {form!r}")
    assert problems == [], f"{lang} (run `make translations-update` and fill every msgstr[n]): {problems}"
