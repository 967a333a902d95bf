"""How text is cut into the words the full-text index holds: one rule, at index time and at query time.

SQLite's unicode61 tokenizer and PostgreSQL's `simple` parser split on spaces and punctuation, which
Chinese, Japanese and Korean do not write between words: a whole clause would be one token, found
only by a query equal to it. So every searchable row also keeps its text in index form
(`search_text`): lower-cased, traditional characters folded to simplified (a query in either script
finds both), runs of Chinese characters cut into words by jieba, and runs of kana or hangul into
overlapping character pairs (no dictionary for them ships here; pairs find any word of two or more
characters, as Elasticsearch's `cjk` analyzer does). Everything else is left as it is.

Index side and query side differ in one way: a row is cut with jieba's search mode, which adds the
dictionary words inside longer words (说不清楚 also holds 说不清 and 清楚), and a query in precise
mode, so a query word is found inside a longer word of the transcript. Both sides cut without
jieba's HMM guesses for unknown words, which depend on the surrounding characters and so would cut
the same name differently in a sentence and in a query.
"""
from __future__ import annotations

import re
import threading
from functools import lru_cache

# Han ideographs (with extension A and compatibility ideographs), kana, hangul
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PAIRED = "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"
_CJK_CHAR = re.compile(f"[{_HAN}{_PAIRED}]")
# a run of one script, or a run of anything else
_RUNS = re.compile(f"([{_HAN}]+)|([{_PAIRED}]+)|([^{_HAN}{_PAIRED}]+)")
_HAN_WORD = re.compile(f"[{_HAN}]")

_lock = threading.Lock()


def has_cjk(text: str) -> bool:
    return _CJK_CHAR.search(text) is not None


def is_cjk_word(word: str) -> bool:
    return bool(word) and _CJK_CHAR.match(word) is not None


@lru_cache(maxsize=1)
def _to_simplified():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)  # its dictionary load logs a banner to stderr
    with _lock:
        jieba.initialize()
    return jieba


def folded(text: str) -> str:
    """Lower case, and simplified characters for traditional ones (character for character where
    OpenCC keeps the length, so offsets into it are offsets into the text)."""
    text = text.lower()
    if not has_cjk(text):
        return text
    convert = _to_simplified().convert
    simple = convert(text)
    if len(simple) == len(text):
        return simple
    return "".join(s if len(s) == 1 else c for c, s in ((c, convert(c)) for c in text))


def _pairs(run: str) -> list[str]:
    return [run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)]


def _cut(run: str, for_search: bool) -> list[str]:
    jieba = _jieba()
    words = jieba.cut_for_search(run, HMM=False) if for_search else jieba.cut(run, HMM=False)
    return [w for w in words if _HAN_WORD.search(w)]


def index_form(text: str | None) -> str:
    """What the full-text index reads for a row: the words of `text`, space-separated."""
    text = folded(text or "")
    if not has_cjk(text):
        return text
    parts = []
    for han, paired, other in _RUNS.findall(text):
        if han:
            parts.append(" ".join(_cut(han, for_search=True)))
        elif paired:
            parts.append(" ".join(_pairs(paired)))
        else:
            parts.append(other)
    return " ".join(p.strip() for p in parts if p.strip())


def query_groups(token: str) -> list[tuple[str, ...]]:
    """A query token (already lower-cased, one run of word characters) as the index's words: each
    Chinese word its own group, a kana or hangul run one group of pairs (matched as a phrase), any
    other run as it is."""
    token = folded(token)
    if not has_cjk(token):
        return [(token,)]
    groups: list[tuple[str, ...]] = []
    for han, paired, other in _RUNS.findall(token):
        if han:
            groups += [(w,) for w in _cut(han, for_search=False)]
        elif paired:
            groups.append(tuple(_pairs(paired)))
        elif other:
            groups.append((other,))
    return groups


def phrase_words(text: str) -> tuple[str, ...]:
    """A quoted phrase as the index's words, in order (matched as a phrase)."""
    return tuple(w for w in re.findall(r"\w+", index_form(text)))


def cjk_written(words: tuple[str, ...]) -> str:
    """The characters a group of index words stands for in the text: a chain of pairs (きま まし
    した -> きました), or the words that are not part of another one of them, in order (search
    mode's 清楚 说不清 说不清楚 -> 说不清楚)."""
    if not words:
        return ""
    if len(words) > 1 and all(len(w) == 2 for w in words) and all(a[1] == b[0] for a, b in zip(words, words[1:])):
        return words[0] + "".join(w[1] for w in words[1:])
    return "".join(w for w in words if not any(w != other and w in other for other in words))
