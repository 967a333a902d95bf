"""Emotion of what is said, in any language: a small head over the multilingual-e5 vectors of
transcript segments.

No labelled emotion corpus with a licence that allows product use ships on PyPI (checked: see
models/train_emotion_text.py), so the head is trained on sentences written for it, in English
(models/data/emotion_train.tsv) and Chinese (models/data/emotion_train_zh.tsv); e5 puts both, and
the other languages it knows, in one space, so one head serves them all. Word counts from the
Empath lexicon (MIT, vendored in models/data/empath_emotion.tsv, English) are a candidate feature
the trainer keeps only when they win in cross-validation. Weights, temperature, trust curve, the
feature recipe and the text model the head was trained over live in one JSON file that
models/train_emotion_text.py rebuilds; its digest is the model's version.

The head reads vectors of its own text model only: a caller passes the vectors it has together with
the name of the model that made them, and vectors of another model (MiniLM's are 384-d too) are
not used: the head embeds the texts itself.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np

from .cache import once
from .emotions import EMOTIONS

DATA_DIR = Path(__file__).resolve().parent / "data"
HEAD_FILE = DATA_DIR / "emotion_text_head.json"
LEXICON_FILE = DATA_DIR / "empath_emotion.tsv"
TRAIN_FILE = DATA_DIR / "emotion_train.tsv"
TRAIN_FILE_ZH = DATA_DIR / "emotion_train_zh.tsv"

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def load_lexicon(path: Path = LEXICON_FILE) -> dict[str, frozenset[str]]:
    """Empath category -> its words, in file order."""
    categories: dict[str, frozenset[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        name, *words = line.split("\t")
        categories[name] = frozenset(w.lower() for w in words if w)
    return categories


def lexicon_features(texts: list[str], lexicon: dict[str, frozenset[str]], categories: list[str]) -> np.ndarray:
    """Per category, how many words of each text it holds, over sqrt(words): long sentences do not
    outweigh short outbursts, and one emotion word in a short sentence still counts."""
    out = np.zeros((len(texts), len(categories)), dtype=np.float32)
    for i, text in enumerate(texts):
        words = _WORD.findall(text.lower())
        if not words:
            continue
        scale = 1.0 / np.sqrt(len(words))
        for j, name in enumerate(categories):
            vocab = lexicon[name]
            out[i, j] = sum(w in vocab for w in words) * scale
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def file_version(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:8]


def head_version(path: Path, text_model: str) -> str:
    """The classifier's model version: the text model it reads and its weights file's digest."""
    return f"emotion-text-head:{text_model}@{file_version(path)}"


class TextEmotionClassifier:
    """`predict(texts, vectors, made_by)` -> (n, 7) probabilities in EMOTIONS order, each row
    summing to 1. `vectors` (made by the text model version `made_by`) are used only when that is
    the model version the head was trained over; else, or without vectors, the head embeds the texts
    with e5 as it is (not the search's e5, which has the language direction taken out)."""

    def __init__(self, head_file: Path = HEAD_FILE, lexicon_file: Path = LEXICON_FILE, device: str = "auto"):
        head = json.loads(head_file.read_text(encoding="utf-8"))
        if tuple(head["labels"]) != EMOTIONS:
            raise ValueError(f"{head_file} was trained for labels {head['labels']}, expected {list(EMOTIONS)}")
        self.text_model = head["text_model"]
        self.text_model_version = head["text_model_version"]
        self.model_version = head_version(head_file, self.text_model)
        self.dim = int(head["text_dim"])
        self.categories = list(head["lexicon_categories"])
        self.temperature = float(head["temperature"])
        typicality = head["typicality"]
        self._centroids = np.asarray(typicality["centroids"], dtype=np.float32)
        # e5's similarities run higher among Chinese text than among English, for sentences and
        # salad alike, so the trust curve is one per training language; a text takes the curve of
        # the language whose mean vector it is nearest
        self._language_means = np.asarray(typicality["language_means"], dtype=np.float32)
        self._slopes = np.asarray(typicality["slopes"], dtype=np.float64)
        self._offsets = np.asarray(typicality["offsets"], dtype=np.float64)
        self._weights = np.asarray(head["weights"], dtype=np.float64)  # (7, dim + len(categories))
        self._bias = np.asarray(head["bias"], dtype=np.float64)
        self._lexicon = load_lexicon(lexicon_file) if self.categories else {}
        self._device = device
        expected = (len(EMOTIONS), self.dim + len(self.categories))
        if self._weights.shape != expected:
            raise ValueError(f"{head_file}: weights have shape {self._weights.shape}, expected {expected}")

    def features(self, texts: list[str], vectors: np.ndarray | None = None, made_by: str | None = None) -> np.ndarray:
        texts = [str(t) for t in texts]
        if vectors is not None and made_by is None:
            # a bare array cannot say which model made it, and another model's 384-d vectors would be
            # read without complaint and give confident nonsense
            raise ValueError(f"say which text model version made the vectors (made_by=...); this head reads "
                             f"{self.text_model_version} vectors")
        if vectors is None or made_by != self.text_model_version:
            from . import load_text

            vectors = load_text(self.text_model, self._device, raw=True).encode(texts)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(texts), self.dim):
            raise ValueError(f"vectors must be the {self.text_model_version} vectors of the texts, shape "
                             f"({len(texts)}, {self.dim}); got {vectors.shape}")
        parts = [vectors]
        if self.categories:
            parts.append(lexicon_features(texts, self._lexicon, self.categories))
        return np.hstack(parts)

    def logits(self, features: np.ndarray) -> np.ndarray:
        return features @ self._weights.T + self._bias

    def trust(self, vectors: np.ndarray) -> np.ndarray:
        """How far to believe the head for each text, in (0, 1): low for text unlike anything it
        learned from (noise words, ASR garbage), where a linear head is confidently wrong."""
        which = nearest_language(vectors, self._language_means)
        return trust(typicality(vectors, self._centroids), self._slopes[which], self._offsets[which])

    def predict(self, texts: list[str], vectors: np.ndarray | None = None, made_by: str | None = None) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("predict() takes a list of texts, not one string")
        if len(texts) == 0:
            return np.zeros((0, len(EMOTIONS)), dtype=np.float32)
        features = self.features(list(texts), vectors, made_by)
        probs = softmax(self.logits(features) / self.temperature)
        return shrink(probs, self.trust(features[:, : self.dim])).astype(np.float32)


def typicality(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Cosine similarity to the nearest training cluster."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return (unit @ centroids.T).max(axis=1)


def nearest_language(vectors: np.ndarray, language_means: np.ndarray) -> np.ndarray:
    """Index of the training language whose (unit) mean vector each vector is closest to."""
    return (vectors @ language_means.T).argmax(axis=1)


def trust(typical: np.ndarray, slope: float, offset: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-slope * (typical - offset)))


def shrink(probs: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Mix towards uniform by (1 - weight): the ranking stays, the confidence drops."""
    return weight[:, None] * probs + (1.0 - weight[:, None]) / probs.shape[1]


def load_emotion_text(device: str = "auto") -> TextEmotionClassifier:
    """The packaged classifier, loaded once per process (its text model loads on first use)."""
    return once(("emotion-text", device), lambda: TextEmotionClassifier(device=device))
