"""Content tags by CLIP zero-shot: scene, objects, a safety flag and the picture's mood, from prompts.

The prompts live in a JSON vocabulary (search/tag_vocabulary.json; REELSCOPE_TAG_VOCABULARY names a
replacement), so an admin can add "a bakery" without touching code. Its format is described in the
file's "about" field. Prompt vectors are made once per CLIP model and vocabulary, and then every
keyframe costs one matrix product.
"""
from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.emotions import EMOTIONS

DEFAULT_VOCABULARY = Path(__file__).with_name("tag_vocabulary.json")
KINDS = ("scene", "object", "safety", "mood")
# The kinds whose labels compete in one softmax; safety labels are judged one by one.
SOFTMAX_KINDS = ("scene", "object", "mood")
# CLIP's learned temperature is exp(4.6052) = 100 for every released checkpoint; used only when a
# model does not expose its own.
DEFAULT_LOGIT_SCALE = 100.0
_TEXT_BATCH = 256


class VocabularyError(ValueError):
    """The vocabulary file is missing, not JSON, or not in the expected shape."""


@dataclass(frozen=True)
class Label:
    name: str
    prompts: tuple[str, ...]
    threshold: float
    counter: tuple[str, ...] = ()  # safety only: what the frame shows when it is not this


@dataclass(frozen=True)
class Kind:
    name: str
    templates: tuple[str, ...]
    labels: tuple[Label, ...]
    none: tuple[str, ...] = ()  # an extra softmax choice that is never tagged: "none of these"


@dataclass(frozen=True)
class Vocabulary:
    kinds: dict[str, Kind]
    source: str
    digest: str  # of the parsed content: a change of wording re-tags, a change of layout does not

    def labels(self, kind: str) -> tuple[str, ...]:
        return tuple(label.name for label in self.kinds[kind].labels) if kind in self.kinds else ()


@dataclass
class ZeroShotScores:
    """Per keyframe. `scores[kind]` is (keyframes x labels) in `labels[kind]` order; `moods` is
    (keyframes x 7) in EMOTIONS order (None when the vocabulary has no moods); `content` holds, per
    keyframe, {kind: {label: score}} for the scene, object and safety labels at or above threshold."""

    scores: dict[str, np.ndarray]
    labels: dict[str, tuple[str, ...]]
    moods: np.ndarray | None
    content: list[dict[str, dict[str, float]]] = field(default_factory=list)


def _strings(value, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise VocabularyError(f"{where} must be a non-empty list of non-blank strings")
    return tuple(" ".join(v.split()) for v in value)


def _threshold(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < float(value) < 1.0:
        raise VocabularyError(f"{where} must be a number between 0 and 1 (exclusive), got {value!r}")
    return float(value)


def _parse_kind(name: str, raw, source: str) -> Kind:
    where = f"{source}: kinds.{name}"
    if not isinstance(raw, dict):
        raise VocabularyError(f"{where} must be an object")
    templates = _strings(raw.get("templates", ["{}"]), f"{where}.templates")
    for template in templates:
        if template.count("{}") != 1:
            raise VocabularyError(f"{where}.templates: {template!r} must contain one {{}} where the prompt goes")
    default = _threshold(raw.get("threshold", 0.5), f"{where}.threshold")
    labels_raw = raw.get("labels")
    if not isinstance(labels_raw, dict) or not labels_raw:
        raise VocabularyError(f"{where}.labels must be a non-empty object of label: prompts")
    labels = []
    for label, spec in labels_raw.items():
        lw = f"{where}.labels.{label}"
        if not label.strip() or len(label) > 64:
            raise VocabularyError(f"{lw}: a label is 1 to 64 characters (it is stored as a tag)")
        if isinstance(spec, dict):
            prompts = _strings(spec.get("prompts"), f"{lw}.prompts")
            threshold = _threshold(spec.get("threshold", default), f"{lw}.threshold")
            counter = _strings(spec["counter"], f"{lw}.counter") if "counter" in spec else ()
        else:
            prompts, threshold, counter = _strings(spec, lw), default, ()
        if name == "safety" and not counter:
            raise VocabularyError(f"{lw}: a safety label needs `counter` prompts to be judged against")
        labels.append(Label(label, prompts, threshold, counter))
    if name == "mood" and sorted(l.name for l in labels) != sorted(EMOTIONS):
        raise VocabularyError(f"{where}.labels must be exactly the emotions {', '.join(EMOTIONS)}")
    if name == "mood":  # fused with the other emotion signals column by column
        labels.sort(key=lambda l: EMOTIONS.index(l.name))
    none = _strings(raw["none"], f"{where}.none") if "none" in raw else ()
    return Kind(name, templates, tuple(labels), none)


def parse_vocabulary(data, source: str = "<vocabulary>") -> Vocabulary:
    if not isinstance(data, dict) or not isinstance(data.get("kinds"), dict) or not data["kinds"]:
        raise VocabularyError(f"{source}: expected an object with a non-empty `kinds` object")
    unknown = sorted(set(data["kinds"]) - set(KINDS))
    if unknown:
        raise VocabularyError(f"{source}: unknown kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
    kinds = {name: _parse_kind(name, raw, source) for name, raw in data["kinds"].items()}
    canonical = json.dumps({name: [kind.templates, kind.none, [(l.name, l.prompts, l.threshold, l.counter)
                                                               for l in kind.labels]]
                            for name, kind in sorted(kinds.items())}, sort_keys=True)
    return Vocabulary(kinds, source, hashlib.sha256(canonical.encode()).hexdigest()[:12])


_files_lock = threading.Lock()
_files: dict[tuple, Vocabulary] = {}


def load_vocabulary(path: str | Path | None = None) -> Vocabulary:
    """The vocabulary in `path`, or the packaged one when `path` is empty; re-read when the file changes."""
    path = Path(path).expanduser() if path else DEFAULT_VOCABULARY
    try:
        stat = path.stat()
    except OSError as exc:
        raise VocabularyError(f"tag vocabulary {path} cannot be read: {exc.strerror}") from None
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    with _files_lock:
        if key in _files:
            return _files[key]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VocabularyError(f"tag vocabulary {path} is not valid JSON: {exc}") from None
    vocabulary = parse_vocabulary(data, str(path))
    with _files_lock:
        _files[key] = vocabulary
    return vocabulary


def vocabulary_digest(path: str | Path | None = None) -> str:
    return load_vocabulary(path).digest


def _logit_scale(clip_model) -> float:
    scale = getattr(clip_model, "logit_scale", None)
    if scale is None:
        inner = getattr(clip_model, "_model", None)
        raw = getattr(inner, "logit_scale", None)
        # open_clip keeps the log of the temperature as a parameter
        scale = float(raw.detach().exp().item()) if raw is not None and hasattr(raw, "detach") else None
    return float(scale) if scale else DEFAULT_LOGIT_SCALE


def _ensemble(clip_model, groups: list[tuple[str, ...]], templates: tuple[str, ...]) -> np.ndarray:
    """One unit vector per group of prompts: the mean of every prompt in every template (prompt
    ensembling, as in the CLIP paper: +~1.5-5 points of zero-shot accuracy over one prompt)."""
    texts = [template.format(prompt) for prompts in groups for prompt in prompts for template in templates]
    vectors = np.concatenate([clip_model.encode_texts(texts[i:i + _TEXT_BATCH])
                              for i in range(0, len(texts), _TEXT_BATCH)]).astype(np.float64)
    out, i = [], 0
    for prompts in groups:
        n = len(prompts) * len(templates)
        mean = vectors[i:i + n].mean(axis=0)
        out.append(mean / max(np.linalg.norm(mean), 1e-12))
        i += n
    return np.stack(out).astype(np.float32)


@dataclass(frozen=True)
class _KindVectors:
    labels: np.ndarray  # (labels, d)
    none: np.ndarray | None  # (1, d)
    counters: np.ndarray | None  # (labels, d), safety only


_prompt_lock = threading.Lock()
_prompt_cache: dict[tuple[str, str], dict[str, _KindVectors]] = {}


def prompt_vectors(clip_model, vocabulary: Vocabulary) -> dict[str, _KindVectors]:
    """The vocabulary's text vectors, encoded once per (model version, vocabulary)."""
    key = (str(getattr(clip_model, "version", id(clip_model))), vocabulary.digest)
    with _prompt_lock:
        cached = _prompt_cache.get(key)
        if cached is not None:
            return cached
        out = {}
        for name, kind in vocabulary.kinds.items():
            labels = _ensemble(clip_model, [l.prompts for l in kind.labels], kind.templates)
            none = _ensemble(clip_model, [kind.none], kind.templates) if kind.none else None
            counters = (_ensemble(clip_model, [l.counter for l in kind.labels], kind.templates)
                        if name == "safety" else None)
            out[name] = _KindVectors(labels, none, counters)
        _prompt_cache[key] = out
        return out


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def clip_zero_shot(clip_model, image_vectors: np.ndarray, vocabulary: Vocabulary | str | Path | None = None
                   ) -> ZeroShotScores:
    """Scores of keyframe CLIP vectors (L2-normalised rows, as ClipModel.encode_images gives) against
    the vocabulary (a Vocabulary, or a file path; empty means the packaged one)."""
    if not isinstance(vocabulary, Vocabulary):
        vocabulary = load_vocabulary(vocabulary)
    images = np.asarray(image_vectors, dtype=np.float32)
    if images.ndim != 2:
        raise ValueError(f"image vectors must be a (keyframes x dim) matrix, got shape {images.shape}")
    text = prompt_vectors(clip_model, vocabulary)
    dim = next(iter(text.values())).labels.shape[1]
    if images.shape[1] != dim:
        raise ValueError(f"image vectors have {images.shape[1]} dimensions but this CLIP model's text vectors "
                         f"have {dim}: they come from another model")
    scale = _logit_scale(clip_model)
    scores: dict[str, np.ndarray] = {}
    for name, vectors in text.items():
        sims = images @ vectors.labels.T
        if name == "safety":
            # a two-way softmax per label (it vs its counter-prompts) is a sigmoid of the difference
            against = np.einsum("nd,ld->nl", images, vectors.counters)
            scores[name] = 1.0 / (1.0 + np.exp(-scale * (sims - against)))
        else:
            logits = sims if vectors.none is None else np.concatenate([sims, images @ vectors.none.T], axis=1)
            scores[name] = _softmax(scale * logits.astype(np.float64))[:, :sims.shape[1]]
    content = []
    for row in range(len(images)):
        found: dict[str, dict[str, float]] = {}
        for name, kind in vocabulary.kinds.items():
            if name == "mood":
                continue
            for j, label in enumerate(kind.labels):
                score = float(scores[name][row, j])
                if score >= label.threshold:
                    found.setdefault(name, {})[label.name] = round(score, 4)
        content.append(found)
    return ZeroShotScores(scores={k: v.astype(np.float32) for k, v in scores.items()},
                          labels={k: vocabulary.labels(k) for k in vocabulary.kinds},
                          moods=scores["mood"].astype(np.float32) if "mood" in scores else None,
                          content=content)
