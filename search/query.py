"""What a person typed, parsed once: free text for the semantic channels, terms for the keyword one.

Keyword syntax, the same on SQLite and PostgreSQL: words must all appear (any order), `"two words"`
must appear as a phrase, `bake*` matches words starting with "bake". Anything else (punctuation,
FTS operators, SQL) is only ever treated as a word separator.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from catalog.words import has_cjk, phrase_words, query_groups

_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r'"([^"]*)"|(\S+)')

# Words that carry no meaning on their own; dropped from the keyword channel's OR fallback and
# from highlighting, never from phrases.
STOPWORDS = frozenset("""a an and are as at be but by for from has have he her his i in is it its me my
of on or our she so that the their them there they this to was we were what when where which who
will with you your about into over than then these those do does did not no yes can could would
should just how why all any some very bit part where
的 了 是 在 我 也 都 和 就 这 那 有 你 他 她 它 们 我们 你们 他们 一个 吗 呢 吧 啊 呀 着 个 把 被""".split())


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # one word, or several for a phrase
    prefix: bool = False
    # transcript spellings close to a single word that the transcripts lack (speech recognition
    # writes "tarpoline" for "tarpaulin"); any of them matches in its place
    alternatives: tuple[str, ...] = ()


@dataclass
class ParsedQuery:
    text: str
    terms: list[Term] = field(default_factory=list)

    @property
    def words(self) -> set[str]:
        return {w for t in self.terms for w in t.words}

    @property
    def content_terms(self) -> list[Term]:
        return [t for t in self.terms if len(t.words) > 1 or t.words[0] not in STOPWORDS]


def parse(text: str) -> ParsedQuery:
    parsed = ParsedQuery(text=text.strip())
    for phrase, token in _TOKEN.findall(text):
        if phrase:
            words = phrase_words(phrase) if has_cjk(phrase) else tuple(w.lower() for w in _WORD.findall(phrase))
            if words:
                parsed.terms.append(Term(words))
            continue
        words = [w.lower() for w in _WORD.findall(token)]
        if not words:
            continue
        if has_cjk(token):  # written without spaces: the index's words (catalog/words.py)
            parsed.terms += [Term(group) for word in words for group in query_groups(word)]
            continue
        prefix = token.endswith("*")
        if len(words) == 1:
            parsed.terms.append(Term((words[0],), prefix=prefix))
        else:  # "e-mail", "don't": the tokenizers split these too, so match the pieces in order
            parsed.terms.append(Term(tuple(words), prefix=prefix))
    return parsed


def word_matches(word: str, terms: list[Term]) -> bool:
    """For highlighting: does a transcript word match one of the query's terms?"""
    w = word.lower().strip()
    w = "".join(_WORD.findall(w))
    for term in terms:
        if w in term.alternatives:
            return True
        for i, q in enumerate(term.words):
            last = i == len(term.words) - 1
            if w == q or (term.prefix and last and w.startswith(q)):
                return True
    return False


def coverage(text: str, terms: list[Term]) -> float:
    """The share of `terms` that some word of `text` matches, as word_matches decides; each word is
    normalised once (a keyword channel scores 200 hits a query this way)."""
    if not terms:
        return 0.0
    words = {w if w.isalnum() else "".join(_WORD.findall(w)) for w in text.lower().split()}
    covered = 0
    for term in terms:
        last = term.words[-1]
        if not words.isdisjoint(term.words) or not words.isdisjoint(term.alternatives) or \
                (term.prefix and any(w.startswith(last) for w in words)):
            covered += 1
    return covered / len(terms)


def fts5_expression(terms: list[Term], any_term: bool = False) -> str:
    parts = []
    for term in terms:
        quoted = '"' + " ".join(term.words) + '"' + ("*" if term.prefix else "")
        parts.append("(" + " OR ".join([quoted, *(f'"{a}"' for a in term.alternatives)]) + ")")
    return (" OR " if any_term else " AND ").join(parts)


def tsquery_expression(terms: list[Term], any_term: bool = False) -> str:
    parts = []
    for term in terms:
        words = [f"'{w}'" for w in term.words]
        if term.prefix:
            words[-1] += ":*"
        parts.append("(" + " | ".join([" <-> ".join(words), *(f"'{a}'" for a in term.alternatives)]) + ")")
    return (" | " if any_term else " & ").join(parts)
