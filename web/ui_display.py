"""How the pages show things: the template filters, and which tags are worth a reader's attention."""
from __future__ import annotations

from flask import has_request_context
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from indexer.languages import LANGUAGE_NAMES

from .i18n import ui_locale

# Tags on a card or chip below this confidence are noise to a reader.
TAG_MIN_CONFIDENCE = 0.35


def clock(seconds) -> str:
    if seconds is None:
        return "–"
    total = int(max(float(seconds), 0.0))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def language_name(code) -> str:
    """The name of an ISO 639-1 code in the page's language (CLDR's, through Babel; in English
    indexer/languages.py's); any other code as it is."""
    if not code:
        return ""
    code = str(code).lower()
    if has_request_context() and ui_locale().language != "en":
        name = ui_locale().languages.get(code)
        if name:
            return name
    return LANGUAGE_NAMES.get(code, code)


# The words the catalog stores for states and emotions, as a reader of each language says them.
STATUS_NAMES = {
    "pending": _l("waiting"), "indexing": _l("indexing"), "indexed": _l("indexed"), "failed": _l("failed"),
    # jobs
    "queued": _l("queued"), "running": _l("running"), "done": _l("done"), "cancelled": _l("cancelled"),
    "skipped": _l("skipped"),
    # index stages
    "hash": _l("checking the file"), "probe": _l("reading the file"), "audio": _l("listening"),
    "speech": _l("transcribing"), "pictures": _l("looking at the pictures"), "visual": _l("looking at the pictures"),
    "tags": _l("tagging"), "write": _l("saving"),
}
EMOTION_NAMES = {"joy": _l("joy"), "surprise": _l("surprise"), "neutral": _l("neutral"), "sadness": _l("sadness"),
                 "fear": _l("fear"), "anger": _l("anger"), "disgust": _l("disgust")}


def status_name(status) -> str:
    """A video's or job's status (or an index stage) in the page's language; an unknown one as it is."""
    return str(STATUS_NAMES.get(str(status), status or ""))


def emotion_name(label) -> str:
    return str(EMOTION_NAMES.get(str(label), label or ""))


def data(value) -> Markup:
    """A piece of the library's own data inside a sentence of UI text (a title, a file name, a word from a
    transcript): marked translate="no", so translation tools, and the tests looking for untranslated
    UI, leave it be."""
    return Markup('<span class="data" translate="no">%s</span>') % (value,)


def with_data(template: str, **values) -> Markup:
    """A translated sentence with named %(...)s places for data: the sentence escaped, each value marked by `data`."""
    return Markup(escape(template)) % {name: data(value) for name, value in values.items()}


def marked(text: str, highlights) -> Markup:
    """The snippet with the matched words in <mark>; every piece escaped."""
    out, at = [], 0
    for start, end in sorted(highlights or []):
        if start < at or end <= start:
            continue
        out += [escape(text[at:start]), Markup("<mark>"), escape(text[start:end]), Markup("</mark>")]
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)
