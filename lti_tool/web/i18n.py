"""The interface language: which locale a request speaks, the catalogue its templates read, and
the filters that write numbers, percentages, lists and durations as that locale does."""

from __future__ import annotations

from datetime import date
from typing import Any

from babel import Locale
from babel.lists import format_list
from babel.numbers import parse_pattern
from flask import Flask, g, request
from flask_babel import format_date, format_decimal, format_percent, get_locale, get_translations, refresh
from jinja2 import pass_context
from jinja2.runtime import Context

from lti_tool.launch.locale import LANGUAGES, format_locale, interface_language

# Points and hours: up to two decimals, none when whole ("3", "3,5", "31,25"). Parsed once:
# Babel parses a pattern given as text again on every call.
NUMBER_FORMAT = parse_pattern("#,##0.##")


def select_locale() -> str:
    """The Babel locale of the launch's language; else of the browser's languages; else Danish."""
    language = g.get("locale") or request.accept_languages.best_match(LANGUAGES) or "da"
    return format_locale(str(language))


def current_language() -> str:
    """The interface language of this request: da, sv or en (its Babel locale may be en_GB)."""
    locale = get_locale()
    return locale.language if locale is not None else "da"


def number(value: float | int) -> str:
    """A number as the active locale writes it: "3,5" in Danish and Swedish, "3.5" in English."""
    return str(format_decimal(value, NUMBER_FORMAT))


def percent(fraction: float) -> str:
    """A share (0.56) as the active locale writes a percentage: "56 %" in Danish, "56%" in English."""
    return str(format_percent(fraction))


def month_name(month: str) -> str:
    """A month kept as "2026-01" as the active locale writes it short: "jan. 2026", "Jan 2026"."""
    year, number_of_month = (int(part) for part in month.split("-"))
    return str(format_date(date(year, number_of_month, 1), "MMM y"))


def join_list(items: list[str] | tuple[str, ...]) -> str:
    """Items joined as the active locale lists them: "2, 3 og 5", "2, 3 and 5"."""
    return str(format_list(list(items), locale=get_locale() or "da"))


def language_name(language: str) -> str:
    """A language's name in the active locale: "dansk", "danska", "Danish"."""
    return str(Locale.parse(language).get_language_name(get_locale() or "da") or language)


def plural_count(value: float | int) -> int:
    """The count that picks a plural form for `value`: gettext's plural rules take whole numbers,
    and Danish, Swedish and English all use the plural for a fraction ("1,5 timer", "0.5 points")."""
    return int(value) if float(value).is_integer() else 2


def duration(minutes: int) -> str:
    """A module's estimated time: "about 45 minutes", "ca. 3,5 timer" (hours to one decimal)."""
    catalogue = request_translations()  # flask-babel's ngettext would look the catalogue up again
    if minutes < 60:
        words = catalogue.ngettext("about %(minutes)s minute", "about %(minutes)s minutes", minutes)
        return str(words % {"minutes": number(minutes)})
    hours = round(minutes / 60, 1)
    words = catalogue.ngettext("about %(hours)s hour", "about %(hours)s hours", plural_count(hours))
    return str(words % {"hours": number(hours)})


def request_translations() -> Any:
    """The catalogue of this request's locale, looked up once per request and locale.

    Each render takes it once (install_locale); the imported macros and the filters ask for it
    per string, and flask-babel would find the domain, the locale and the catalogue again for each,
    about 15 µs. It is kept in `g` beside the locale it is for, so a locale changed during the
    request (set_locale, flask_babel.refresh) gets its own."""
    if not g:  # outside a request, as flask-babel does
        return get_translations()
    locale = get_locale()
    cached = g.get("translations")
    if cached is not None and cached[0] is locale:
        return cached[1]
    translations = get_translations()
    g.translations = (locale, translations)
    return translations


def set_locale(locale: str | None) -> None:
    """Make this request speak the interface language nearest to `locale` (None: the browser's),
    also when something of the request was already written in another."""
    g.locale = interface_language(locale) if locale else None
    refresh()  # flask-babel keeps the locale it chose first for the rest of the request


def _catalogue(context: Context) -> Any:
    """The catalogue a template writes in: the one its render looked up (render_catalogue), else,
    in a macro imported without the render's variables, the request's."""
    found = context.get("render_catalogue")
    return found if found is not None else request_translations()


def install_locale(app: Flask) -> None:
    """Give templates the request's language, number filters and gettext callables.

    Each render looks the catalogue up once (a page has some thirty strings) and its strings are
    translated from it: the gettext callables take the render's context (jinja2.pass_context)."""
    app.jinja_env.globals["current_locale"] = current_language
    app.jinja_env.globals["plural_count"] = plural_count
    app.jinja_env.filters.update(number=number, percent=percent, duration=duration,
                                join_list=join_list, language_name=language_name, month_name=month_name)
    app.context_processor(lambda: {"render_catalogue": request_translations()})
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=pass_context(lambda ctx, s: _catalogue(ctx).ugettext(s)),
        ngettext=pass_context(lambda ctx, s, p, n: _catalogue(ctx).ungettext(s, p, n)),
        pgettext=pass_context(lambda ctx, c, s: _catalogue(ctx).upgettext(c, s)),
        npgettext=pass_context(lambda ctx, c, s, p, n: _catalogue(ctx).unpgettext(c, s, p, n)),
        newstyle=True,
    )
