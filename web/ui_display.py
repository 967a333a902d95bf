"""How the pages show things: the template filters, and which tags are worth a reader's attention."""
from __future__ import annotations

from markupsafe import Markup, escape

from indexer.languages import LANGUAGE_NAMES

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
    """The English name of an ISO 639-1 code (indexer/languages.py); any other code as it is."""
    return LANGUAGE_NAMES.get(str(code).lower(), str(code)) if code else ""


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
