"""The interface language: which locale a request speaks and the catalogue its templates read."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from flask_babel import get_locale, get_translations

from lti_tool.launch.locale import LANGUAGES, interface_language


def select_locale() -> str:
    """The launch's locale; else the browser's languages; else Danish."""
    locale = g.get("locale")
    if locale:
        return str(locale)
    return request.accept_languages.best_match(LANGUAGES) or "da"


def request_translations() -> Any:
    """The catalogue of this request's locale, looked up once per request and locale.

    Performance: flask-babel's template gettext finds the domain, the locale (formatting its name)
    and the catalogue again for every string, about 15 µs each; a learner's page has some thirty.
    The catalogue is kept in `g` beside the locale it is for, so a locale changed during the
    request (flask_babel.refresh) gets its own."""
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
    """Make this request speak the interface language nearest to `locale` (None: the browser's)."""
    g.locale = interface_language(locale) if locale else None


def install_locale(app: Flask) -> None:
    """Give templates the request's locale and gettext callables backed by request_translations."""
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "da")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
