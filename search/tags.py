"""Tags from signals: fuse per-signal emotion estimates per segment and shot, add content tags, sum up a video.

The signals arrive already computed (indexer/tagging.py gathers them); this module only decides.

Emotion fusion is a weighted average of the calibrated per-signal distributions (a mixture of
calibrated forecasts stays roughly calibrated, where a product of them grows overconfident),
then tilted by the voice's arousal prior, which says "more or less excited than this speaker
usually is" rather than naming an emotion. With no signal at all a span gets NO_EVIDENCE:
neutral, at a confidence low enough that nobody mistakes it for a finding.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.emotions import EMOTIONS

from catalog import TagKind

# How much each signal counts when several speak about the same span. The text classifier is the
# one measured best (bench/emotion_quality.py); faces are clear but often absent or tiny; CLIP's
# mood prompts are weak evidence about feelings.
SIGNAL_WEIGHTS = {"text": 1.0, "face": 0.7, "clip": 0.3}
# Exponent on the voice's arousal prior: a tilt, not a vote.
VOICE_TILT = 1.0
NO_EVIDENCE = np.array([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.4])
# A second emotion is tagged too when it is this likely (mixed feelings, or a close call).
SECOND_LABEL_MIN = 0.3
NEUTRAL = EMOTIONS.index("neutral")


@dataclass
class SpanSignals:
    """What the signals say about one span of a video (a transcript segment or a shot)."""

    start: float
    end: float
    text: np.ndarray | None = None  # (7,) from the transcript's words
    face: np.ndarray | None = None  # (7,) size-weighted over the faces seen
    face_weight: float = 0.0  # 0..1: how much face evidence there is (faces seen, their size)
    clip: np.ndarray | None = None  # (7,) mood prompts
    voice_prior: np.ndarray | None = None  # (7,) multiplicative arousal tilt, ~1 around the speaker's norm


@dataclass
class EmotionEstimate:
    probs: np.ndarray
    sources: dict[str, np.ndarray] = field(default_factory=dict)


def fuse_emotion(span: SpanSignals) -> EmotionEstimate:
    parts: list[tuple[str, float, np.ndarray]] = []
    if span.text is not None:
        parts.append(("text", SIGNAL_WEIGHTS["text"], span.text))
    if span.face is not None and span.face_weight > 0:
        parts.append(("face", SIGNAL_WEIGHTS["face"] * min(1.0, span.face_weight), span.face))
    if span.clip is not None:
        parts.append(("clip", SIGNAL_WEIGHTS["clip"], span.clip))
    if not parts:
        probs = NO_EVIDENCE.copy()
        sources = {"prior": NO_EVIDENCE}
    else:
        total = sum(w for _, w, _ in parts)
        probs = sum(w * p for _, w, p in parts) / total
        sources = {name: p for name, _, p in parts}
    if span.voice_prior is not None and parts:
        probs = probs * np.power(np.clip(span.voice_prior, 1e-3, None), VOICE_TILT)
        sources["voice"] = span.voice_prior
    probs = probs / probs.sum()
    return EmotionEstimate(probs, sources)


def emotion_labels(estimate: EmotionEstimate) -> list[tuple[str, float, dict]]:
    """The top emotion, and a close second; each with what every signal said about it."""
    order = np.argsort(-estimate.probs)
    chosen = [order[0]]
    if estimate.probs[order[1]] >= SECOND_LABEL_MIN:
        chosen.append(order[1])
    out = []
    for i in chosen:
        sources = {name: round(float(p[i]), 4) for name, p in estimate.sources.items()}
        out.append((EMOTIONS[i], float(estimate.probs[i]), sources))
    return out


@dataclass
class TagRow:
    """A tag before it becomes a catalog row (catalog.Tag)."""

    owner_kind: str
    owner_id: int
    kind: str
    label: str
    confidence: float
    start: float | None
    end: float | None
    sources: dict


def overlap(a_start: float, a_end: float, b_start: float, b_end: float) -> float:
    return max(0.0, min(a_end, b_end) - max(a_start, b_start))


def span_tags(owner_kind: str, owner_id: int, span: SpanSignals,
              content: dict[str, dict[str, float]] | None = None) -> tuple[list[TagRow], EmotionEstimate]:
    estimate = fuse_emotion(span)
    rows = [TagRow(owner_kind, owner_id, TagKind.EMOTION, label, round(conf, 4), span.start, span.end, sources)
            for label, conf, sources in emotion_labels(estimate)]
    for kind, labels in (content or {}).items():
        for label, conf in labels.items():
            rows.append(TagRow(owner_kind, owner_id, kind, label, round(conf, 4), span.start, span.end,
                               {"clip": round(conf, 4)}))
    return rows, estimate


def video_summary(video_id: int, duration: float, timeline: list[tuple[float, float, EmotionEstimate]],
                  shot_content: list[tuple[float, float, dict[str, dict[str, float]]]]) -> list[TagRow]:
    """Video-level tags: for each emotion the share of the video's time it is the top emotion of
    (confidence = that share; `sources` also carries the mean probability over the video), and
    each content label with the share of time tagged with it."""
    rows: list[TagRow] = []
    covered = sum(end - start for start, end, _ in timeline)
    if covered <= 0:
        estimate = fuse_emotion(SpanSignals(0.0, duration or 0.0))
        rows.append(TagRow("video", video_id, TagKind.EMOTION, "neutral", float(estimate.probs[NEUTRAL]), None, None,
                           {"share": 1.0, "prior": float(estimate.probs[NEUTRAL])}))
        return rows
    share = np.zeros(len(EMOTIONS))
    mean = np.zeros(len(EMOTIONS))
    for start, end, estimate in timeline:
        share[int(np.argmax(estimate.probs))] += end - start
        mean += (end - start) * estimate.probs
    share, mean = share / covered, mean / covered
    dominant = int(np.argmax(share))
    for i in np.argsort(-share):
        if share[i] <= 0:
            break
        rows.append(TagRow("video", video_id, TagKind.EMOTION, EMOTIONS[i], round(float(share[i]), 4), None, None,
                           {"share": round(float(share[i]), 4), "mean_probability": round(float(mean[i]), 4),
                            "dominant": bool(i == dominant)}))
    span_total = sum(end - start for start, end, _ in shot_content) or 1.0
    totals: dict[tuple[str, str], float] = {}
    best: dict[tuple[str, str], float] = {}
    for start, end, content in shot_content:
        for kind, labels in content.items():
            for label, conf in labels.items():
                totals[(kind, label)] = totals.get((kind, label), 0.0) + (end - start)
                best[(kind, label)] = max(best.get((kind, label), 0.0), conf)
    for (kind, label), seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        rows.append(TagRow("video", video_id, kind, label, round(seconds / span_total, 4), None, None,
                           {"share": round(seconds / span_total, 4), "best": round(best[(kind, label)], 4)}))
    return rows


def dominant_emotion(tags: list) -> tuple[str, float] | None:
    """From a video's tag rows (TagRow or catalog Tag): its dominant emotion and that emotion's share."""
    video_emotions = [t for t in tags if t.owner_kind == "video" and t.kind == TagKind.EMOTION]
    if not video_emotions:
        return None
    top = max(video_emotions, key=lambda t: t.confidence)
    return top.label, top.confidence
