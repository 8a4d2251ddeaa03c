"""The interface language of a launch: a platform's locale mapped to Danish, Swedish or English.

Used for the launch record (every page of the launch speaks its language), for the error pages
of a launch that failed validation, and by lti_tool.web for requests outside a launch.
"""

from __future__ import annotations

from lti_tool.lti.launch import unverified_platform_locale

LANGUAGES = ("da", "sv", "en")
# Norwegian readers manage Danish best of our three languages.
_LOCALE_ALIASES = {"nb": "da", "nn": "da", "no": "da"}
# The Babel locale that formats numbers and dates for each interface language. English is British:
# the tool's English readers work in Danish and Swedish municipalities, where a date is written day
# first ("7 December 2026"), never "December 7, 2026". The catalogues are found by the language
# ("en_GB" falls back to translations/en).
_FORMAT_LOCALES = {"da": "da_DK", "sv": "sv_SE", "en": "en_GB"}


def interface_language(locale: object, default: str = "da") -> str:
    """Map a platform locale (da-DK, sv_SE, en-GB …) to an interface language."""
    if not locale or not isinstance(locale, str):
        return default
    prefix = locale.replace("_", "-").split("-", 1)[0].lower()
    prefix = _LOCALE_ALIASES.get(prefix, prefix)
    return prefix if prefix in LANGUAGES else default


def format_locale(language: str) -> str:
    """The Babel locale (da_DK, sv_SE, en_GB) that speaks an interface language and formats for it."""
    return _FORMAT_LOCALES.get(language, _FORMAT_LOCALES["da"])


def unverified_locale(id_token: str | None) -> str | None:
    """The interface language of a launch token that may fail validation, for its error pages;
    None when the token names no locale (the browser's languages decide then)."""
    locale = unverified_platform_locale(id_token)
    return interface_language(locale) if locale else None
