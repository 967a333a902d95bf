"""How sure a search may be: each channel's raw score turned into the chance that a moment answers
the query, so that a result can say "no good match" instead of showing the nearest sentences as if
they were answers.

A cosine means different things for different text models (MiniLM's unrelated sentences sit near
0.1, e5's near 0.75), so the transcript channel is calibrated per model version, on data: the
pairs in calibration_pairs.tsv (a question, the sentence that answers it and a sentence on the
same subject that does not, written for this and used by no benchmark). For each question the
positive is its answer; the negative is the nearest of all the other sentences, its own near miss
among them (what a library's best wrong hit looks like: a library that speaks of kettles holds
sentences about kettles that say nothing of descaling). A logistic fit of positive against negative on the cosine gives the curve. Keyword and
on-screen text hits are judged by the share of the query's content words they hold, fitted the
same way on the same pairs. The fit is kept in the models folder by model version and the pairs'
digest, so a model switch brings its own calibration and a server fits once.

A moment's confidence is the noisy-OR of its channels' chances (either channel alone may be sure).
The visual channel has no calibration data here (no CLIP weights); while it takes part, a result
never claims that nothing matches.
"""
from __future__ import annotations

import hashlib
import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from atomic_file import replaced_when_done
from catalog.words import index_form

from .query import coverage, parse

PAIRS_FILE = Path(__file__).resolve().parent / "calibration_pairs.tsv"
FORMAT = 3  # bump when the fit changes
# at or above this chance a moment is a match; below it "less related"
STRONG = 0.5

_lock = threading.Lock()


@dataclass(frozen=True)
class Curve:
    slope: float
    offset: float

    def __call__(self, x: float) -> float:
        z = self.slope * x + self.offset
        return 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0


@dataclass(frozen=True)
class Calibration:
    version: str  # the text model's version, the pairs' digest and FORMAT
    transcript: Curve  # cosine -> chance
    keyword: Curve  # share of content words -> chance

    def as_dict(self) -> dict:
        return {"version": self.version, "transcript": [self.transcript.slope, self.transcript.offset],
                "keyword": [self.keyword.slope, self.keyword.offset]}

    @classmethod
    def from_dict(cls, data: dict) -> "Calibration":
        return cls(data["version"], Curve(*data["transcript"]), Curve(*data["keyword"]))


def read_pairs(path: Path = PAIRS_FILE) -> list[tuple[str, str, str]]:
    """(query, its answer, its near miss) from each line."""
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            query, answer, near_miss = (part.strip() for part in line.split("\t"))
            pairs.append((query, answer, near_miss))
    return pairs


def _digest(path: Path = PAIRS_FILE) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def _fit(positives: np.ndarray, negatives: np.ndarray) -> Curve:
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([positives, negatives])
    y = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))])
    # standardised first: one model's cosines span 0.1-0.7, another's 0.75-0.9, and the same
    # regularisation must not flatten the narrow one's curve
    mean, spread = float(x.mean()), float(x.std()) or 1.0
    model = LogisticRegression(C=1.0).fit(((x - mean) / spread).reshape(-1, 1), y)
    slope = float(model.coef_[0, 0]) / spread
    return Curve(slope, float(model.intercept_[0]) - slope * mean)


def fit(encode_queries, encode_passages, model_version: str,
        pairs: list[tuple[str, str, str]] | None = None) -> Calibration:
    """The calibration of a text model from its two encoders (queries, what is said)."""
    pairs = read_pairs() if pairs is None else pairs
    queries = [q for q, _, _ in pairs]
    # answers first, in the queries' order, then the near misses: column i < n is query i's answer
    sentences = [a for _, a, _ in pairs] + [m for _, _, m in pairs]
    n = len(pairs)
    cosine = np.asarray(encode_queries(queries), np.float32) @ np.asarray(encode_passages(sentences), np.float32).T
    transcript = _fit(*_answers_and_nearest_wrong(cosine, n))
    # words against the other answers only: a near miss is written to share its query's subject word,
    # so beside them any shared word would look like evidence against a match
    answers = sentences[:n]
    shares = np.array([[coverage(index_form(s), parse(q).content_terms or parse(q).terms) for s in answers]
                       for q in queries])
    keyword = _fit(*_answers_and_nearest_wrong(shares, n))
    return Calibration(f"{model_version}+{_digest()}+{FORMAT}", transcript, keyword)


def _answers_and_nearest_wrong(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each query's score for its answer, and its best score among every other sentence."""
    wrong = scores.copy()
    wrong[np.arange(n), np.arange(n)] = -np.inf
    return np.diag(scores[:, :n]).copy(), wrong.max(axis=1)


def load_or_fit(folder: Path, model_version: str, encoders) -> Calibration:
    """The saved calibration of `model_version`, else one fitted now (`encoders()` gives the query
    and passage encoders, loaded only then) and saved."""
    version = f"{model_version}+{_digest()}+{FORMAT}"
    path = folder / "calibration" / (hashlib.sha256(version.encode()).hexdigest()[:16] + ".json")
    with _lock:
        if path.is_file():
            try:
                saved = Calibration.from_dict(json.loads(path.read_text(encoding="utf-8")))
                if saved.version == version:
                    return saved
            except (ValueError, KeyError, TypeError):
                pass  # a damaged file is fitted again
        encode_queries, encode_passages = encoders()
        made = fit(encode_queries, encode_passages, model_version)
        path.parent.mkdir(parents=True, exist_ok=True)
        with replaced_when_done(path) as tmp:
            Path(tmp).write_text(json.dumps(made.as_dict()), encoding="utf-8")
        return made


def confidence(chances: list[float]) -> float:
    """Noisy-OR: the chance that at least one channel's evidence is right."""
    rest = 1.0
    for p in chances:
        rest *= 1.0 - p
    return 1.0 - rest
