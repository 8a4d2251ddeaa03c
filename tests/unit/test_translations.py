"""Every interface string is translated into Danish and Swedish, with matching placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\(\w+\)s")


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
