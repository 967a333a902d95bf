"""The words the transcripts contain, for correcting query words that speech recognition spelled
otherwise: a person types "tarpaulin", Whisper wrote "tarpoline"."""
from __future__ import annotations

import functools
import threading
import time

from rapidfuzz import fuzz, process
from sqlalchemy import text

from catalog import Catalog, latest_change
from catalog.words import is_cjk_word
from .query import Term

MIN_WORD_LENGTH = 4  # shorter words have too many near neighbours to guess from
MIN_CJK_WORD_LENGTH = 2  # a single character sounds like dozens of others
SIMILARITY = 75  # rapidfuzz ratio, 0..100
MAX_ALTERNATIVES = 3
# Reading every word back is a scan on PostgreSQL: at most this often, however busy the catalog.
REFRESH_SECONDS = 30.0


class Vocabulary:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._words: list[str] = []
        self._known: frozenset[str] = frozenset()
        self._by_sound: dict[str, tuple[str, ...]] = {}
        self._synced_change = -1
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        latest = latest_change(self.catalog)
        if latest == self._synced_change or time.monotonic() - self._loaded_at < REFRESH_SECONDS \
                and self._synced_change >= 0:
            return
        with self.catalog.session() as s:
            if s.get_bind().dialect.name == "sqlite":
                s.execute(text("CREATE VIRTUAL TABLE IF NOT EXISTS temp.segments_fts_vocab "
                               "USING fts5vocab(main, 'segments_fts', 'row')"))
                words = s.scalars(text("SELECT term FROM temp.segments_fts_vocab")).all()
            else:
                words = s.scalars(text("SELECT word FROM ts_stat('SELECT search_vector FROM transcript_segments')")).all()
        self._words = [w for w in words if len(w) >= MIN_WORD_LENGTH and not w.isdigit() and not is_cjk_word(w)]
        self._known = frozenset(words)
        by_sound: dict[str, list[str]] = {}
        for w in words:
            if len(w) >= MIN_CJK_WORD_LENGTH and is_cjk_word(w):
                by_sound.setdefault(_sound(w), []).append(w)
        self._by_sound = {k: tuple(v) for k, v in by_sound.items()}
        self._synced_change, self._loaded_at = latest, time.monotonic()

    def with_alternatives(self, terms: list[Term]) -> list[Term]:
        """Single words the transcripts never contain get the closest words they do contain."""
        with self._lock:
            self._refresh()
        out = []
        for term in terms:
            word = term.words[0]
            if len(term.words) == 1 and word not in self._known and len(word) >= MIN_CJK_WORD_LENGTH \
                    and is_cjk_word(word):
                out.append(Term(term.words, term.prefix, self._by_sound.get(_sound(word), ())[:MAX_ALTERNATIVES]))
                continue
            if len(term.words) > 1 or term.prefix or len(word) < MIN_WORD_LENGTH or word in self._known:
                out.append(term)
                continue
            close = process.extract(word, self._words, scorer=fuzz.ratio, score_cutoff=SIMILARITY,
                                    limit=MAX_ALTERNATIVES)
            out.append(Term(term.words, term.prefix, tuple(match for match, _, _ in close)))
        return out


@functools.lru_cache(maxsize=1 << 18)  # every refresh reads every word again
def _sound(word: str) -> str:
    from pypinyin import lazy_pinyin

    return " ".join(lazy_pinyin(word))
