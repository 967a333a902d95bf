"""Which language the pages speak: English or Simplified Chinese (Flask-Babel, catalogs in web/translations).

A visitor's own choice (the language links in every page header, kept in the `lang` cookie) wins; else
the best of their browser's Accept-Language; else English. Only pages are translated: the JSON API's
messages stay English whatever the request asks for (nothing there is marked for translation).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from babel import Locale
from flask import Flask, redirect, request
from flask_babel import Babel, get_locale

# locale -> (BCP 47 tag for <html lang> and the switch's URL, the language's name in itself)
LANGUAGES = {"en": ("en", "English"), "zh_Hans": ("zh-Hans", "简体中文")}
DEFAULT_LOCALE = "en"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600  # a choice made once is kept for a year
BY_TAG = {tag.lower(): locale for locale, (tag, _) in LANGUAGES.items()}


def locale_of_tag(tag: str) -> str | None:
    """The UI locale a language tag asks for: en-*, and every Chinese (zh, zh-CN, zh-Hans, zh-TW: there is
    no Traditional catalog, and Simplified is far closer than English), else None."""
    primary = tag.strip().lower().replace("_", "-").split("-")[0]
    return {"en": "en", "zh": "zh_Hans"}.get(primary)


def select_locale() -> str:
    chosen = BY_TAG.get(request.cookies.get(COOKIE, "").lower())
    if chosen:
        return chosen
    for tag, quality in request.accept_languages:  # highest quality first
        locale = locale_of_tag(tag) if quality > 0 else None
        if locale:
            return locale
    return DEFAULT_LOCALE


def html_lang() -> str:
    """The page's language as <html lang> writes it (zh-Hans, en)."""
    return LANGUAGES.get(str(get_locale()), LANGUAGES[DEFAULT_LOCALE])[0]


def ui_locale() -> Locale:
    return get_locale() or Locale.parse(DEFAULT_LOCALE)


def same_site_path(target: str | None) -> str | None:
    """`target` when it is a path on this site; None for anything a browser could take elsewhere
    (//host, /\\host, a scheme, control characters)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ord(c) < 0x20 or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def switch_language(tag):
    """GET /lang/<tag>?next=<path>: remember the choice and go back to the page it was made on. A GET
    link, so it works without scripts; all it can change is the language, so it needs no CSRF token."""
    response = redirect(same_site_path(request.args.get("next")) or "/")
    response.set_cookie(COOKIE, tag, max_age=COOKIE_MAX_AGE, httponly=True, samesite="Lax",
                        secure=request.is_secure)
    return response


def switch_links() -> list[dict]:
    """The header's language links: each language named in itself, the current one marked."""
    here = str(get_locale())
    back = request.full_path.rstrip("?") if request.method == "GET" else "/"
    return [{"tag": tag, "name": name, "current": locale == here, "next": back}
            for locale, (tag, name) in LANGUAGES.items()]


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_locale=DEFAULT_LOCALE)
    app.jinja_env.globals.update(html_lang=html_lang, language_links=switch_links)
