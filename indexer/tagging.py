"""Gather the signals tags are made from, for one video, and turn them into tag rows.

Faces and on-screen text need sharper pictures than the 256-pixel keyframes kept for CLIP, so
the keyframes are decoded again here at up to FRAME_LONG_SIDE, one at a time, and dropped as
soon as they are read: a two-hour film never holds more than one big frame in memory. The same
code serves indexing and `index retag` (which reads segments and vectors back from the catalog
instead of running speech recognition again).
"""
from __future__ import annotations

import hashlib
import io
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import av
import numpy as np

from models.emotions import EMOTIONS
from search import tags as tagrules
from catalog import ScreenText, Tag

from .errors import Cancelled
from .voice import arousal_emotion_prior, speaker_baseline, voice_features

FRAME_LONG_SIDE = 1280
# Decoding on beats seeking back to a keyframe when the next wanted frame is this close.
SEEK_AHEAD = 3.0
TIME_TOLERANCE = 0.01
# Keyframes of one shot whose coarse grey copies differ by less than this (mean, 0-255) show the same
# picture: the text read on the first holds for the rest (a talk's slide stays up for minutes, and
# reading it costs 0.15-0.4 s a frame).
SAME_PICTURE = 4.0
# A face covering this share of the frame counts fully; smaller ones count less (expressions
# read from a few dozen pixels are guesses).
MIN_FACE_AREA_FOR_FULL_WEIGHT = 0.01


@dataclass
class SegmentInput:
    start: float
    end: float
    text: str
    words: list = field(default_factory=list)  # [[word, start, end, probability], ...]


@dataclass
class KeyframeInput:
    time: float
    shot_index: int
    same_as: int | None = None  # an earlier keyframe showing the same picture (frames.REPEAT_DIFFERENCE)


@dataclass
class FrameFindings:
    faces: list = field(default_factory=list)  # models.face.Face
    lines: list = field(default_factory=list)  # models.ocr.TextLine
    # who the faces are: (models.face_identity.FaceFound, a JPEG crop of it); None when people are off
    identities: list | None = None


@dataclass
class ScreenTextRow:
    keyframe: int  # index into the video's keyframes
    time: float
    text: str
    confidence: float


@dataclass
class VideoTags:
    rows: list  # search.tags.TagRow; owner_id is an index (segment, shot) until written, the video id for "video"
    screen_texts: list[ScreenTextRow]
    signals: list[str]  # which signals were available, for the outcome's notes


def decode_frames(path: Path, times: list[float], cancel: threading.Event | None = None):
    """(index, RGB array) for the first frame at or after each time, in time order; decodes on
    from where it is when the next time lies just ahead, seeks to the keyframe before it otherwise."""
    order = sorted(range(len(times)), key=times.__getitem__)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frames, position = None, None
        for i in order:
            target = times[i]
            if frames is None or position is None or target < position or target - position > SEEK_AHEAD:
                container.seek(int(max(0.0, target) / stream.time_base), stream=stream)
                frames = container.decode(stream)
            chosen = last = None
            for frame in frames:
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                if frame.time is None:
                    continue
                position = frame.time
                if frame.time >= target - TIME_TOLERANCE:
                    chosen = frame
                    break
                last = frame
            else:
                frames = None  # the stream ended: the next time needs a fresh seek
            chosen = chosen or last
            if chosen is not None:
                yield i, _rgb(chosen)


def _rgb(frame) -> np.ndarray:
    scale = min(1.0, FRAME_LONG_SIDE / max(frame.width, frame.height))
    if scale < 1.0:
        frame = frame.reformat(width=int(frame.width * scale) // 2 * 2, height=int(frame.height * scale) // 2 * 2)
    return frame.to_ndarray(format="rgb24")


def frame_findings(path: Path, keyframes: list[KeyframeInput], cancel: threading.Event | None = None,
                   read_text: bool = True, progress: Callable[[float], None] | None = None,
                   identify: bool = False) -> list[FrameFindings]:
    """Faces (expressions, and who they are when `identify`) and on-screen text of each keyframe, from
    one decode of each distinct picture."""
    from models.face import load_face_expression

    faces_model = load_face_expression()
    identity = None
    if identify:
        from models.face_identity import load_face_identity

        identity = load_face_identity()
    reader = None
    if read_text:
        from models.ocr import load_ocr

        reader = load_ocr()
    findings = [FrameFindings() for _ in keyframes]
    distinct = [i for i, k in enumerate(keyframes) if k.same_as is None]
    read_last: tuple[int, np.ndarray, list] | None = None  # (shot, small grey copy, lines) of the last text read
    for done, (at, image) in enumerate(decode_frames(path, [keyframes[i].time for i in distinct], cancel), 1):
        i = distinct[at]
        findings[i].faces = faces_model.analyse(image)
        if identity is not None:
            findings[i].identities = [(face, face_crop(image, face.box)) for face in identity.find(image)]
        if reader is not None:
            small = _small_grey(image)
            if read_last is not None and read_last[0] == keyframes[i].shot_index \
                    and float(np.abs(small - read_last[1]).mean()) < SAME_PICTURE:
                findings[i].lines = read_last[2]  # the same slide or title still on screen
            else:
                findings[i].lines = reader.read(image)
                read_last = (keyframes[i].shot_index, small, findings[i].lines)
        if progress is not None:
            progress(done / len(distinct))
    for i, k in enumerate(keyframes):
        if k.same_as is not None:
            findings[i] = findings[k.same_as]  # the same picture: the same faces and text
    return findings


FACE_CROP_SIDE = 112


def face_crop(image: np.ndarray, box) -> bytes:
    """A JPEG of the face with some room around it, for galleries."""
    from PIL import Image

    left, top, right, bottom = box
    pad = (right - left) // 4
    h, w = image.shape[:2]
    crop = Image.fromarray(image[max(0, top - pad):min(h, bottom + pad), max(0, left - pad):min(w, right + pad)])
    crop.thumbnail((FACE_CROP_SIDE, FACE_CROP_SIDE))
    buf = io.BytesIO()
    crop.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def _small_grey(image: np.ndarray) -> np.ndarray:
    """A coarse grey copy (about 64 pixels wide) for telling whether two frames show the same picture."""
    step = max(1, image.shape[1] // 64)
    return image[::step, ::step].mean(axis=2, dtype=np.float32)


def text_emotions(texts: list[str], vectors: np.ndarray | None, made_by: str | None) -> np.ndarray:
    """The emotion of each text; `vectors` (or None), made by the text model version `made_by`, are
    used only when the head was trained over that version, else it embeds the texts itself."""
    from models.emotion_text import load_emotion_text

    if not texts:
        return np.zeros((0, len(EMOTIONS)))
    return load_emotion_text().predict(texts, vectors, made_by if vectors is not None else None)


def voice_priors(audio, segments: list[SegmentInput]) -> list[np.ndarray | None]:
    """Per segment, the arousal tilt relative to how this video's speaker usually sounds.

    `audio` reads stretches (indexer.audio.DecodedAudio or ArrayAudio): only the segments' own
    speech is read, never the whole track, and silence between them costs nothing."""
    if audio is None or not segments:
        return [None] * len(segments)
    features = [_segment_voice(audio, seg) for seg in segments]
    baseline = speaker_baseline(features)
    return [arousal_emotion_prior(f, baseline) for f in features]


def _segment_voice(audio, seg: SegmentInput) -> dict:
    """voice_features of one segment, read on its own (its times and its words' shifted to start at 0)."""
    if not seg.end > seg.start:
        return voice_features(np.zeros(0, dtype=np.float32), 0.0, 1.0)
    words = [[w[0], float(w[1]) - seg.start, float(w[2]) - seg.start, *w[3:]] for w in seg.words]
    features = voice_features(audio.read(seg.start, seg.end), 0.0, seg.end - seg.start, words)
    features["start"], features["end"] = seg.start, seg.end
    return features


def _face_summary(findings: list[FrameFindings]) -> tuple[np.ndarray | None, float]:
    """Expression over the faces in these keyframes (each weighted by its size), and how much to
    trust it: the share of keyframes with a face, scaled down for small faces."""
    from models.face import shot_face_emotion

    faces = [face for f in findings for face in f.faces]
    if not faces:
        return None, 0.0
    seen = sum(1 for f in findings if f.faces) / len(findings)
    size = min(1.0, max(face.area_fraction for face in faces) / MIN_FACE_AREA_FOR_FULL_WEIGHT)
    return shot_face_emotion(faces).astype(np.float64), seen * size


def _weighted_mean(items: list[tuple[float, np.ndarray]]) -> np.ndarray | None:
    items = [(w, p) for w, p in items if p is not None and w > 0]
    if not items:
        return None
    total = sum(w for w, _ in items)
    return sum(w * p for w, p in items) / total


def build_tags(video_id: int, duration: float, segments: list[SegmentInput], text_probs: np.ndarray,
               priors: list[np.ndarray | None], shots: list[tuple[float, float]], keyframes: list[KeyframeInput],
               findings: list[FrameFindings] | None, clip_moods: np.ndarray | None,
               clip_content: list[dict[str, dict[str, float]]] | None) -> VideoTags:
    """All of a video's tags. `clip_moods` (keyframes x 7) and `clip_content` (per keyframe:
    {kind: {label: score}} above threshold) are None without CLIP weights."""
    signals = []
    if len(segments):
        signals.append("text")
    if any(p is not None for p in priors):
        signals.append("voice")
    if findings is not None and any(f.faces for f in findings):
        signals.append("face")
    if clip_moods is not None:
        signals.append("clip")
    by_shot: dict[int, list[int]] = {}
    for i, k in enumerate(keyframes):
        by_shot.setdefault(k.shot_index, []).append(i)

    # per shot: what the pictures say
    shot_faces, shot_clip, shot_content = [], [], []
    for index, _ in enumerate(shots):
        members = by_shot.get(index, [])
        face, weight = _face_summary([findings[i] for i in members]) if findings and members else (None, 0.0)
        shot_faces.append((face, weight))
        shot_clip.append(clip_moods[members].mean(0) if clip_moods is not None and members else None)
        content: dict[str, dict[str, float]] = {}
        if clip_content is not None:
            for i in members:
                for kind, labels in clip_content[i].items():
                    for label, score in labels.items():
                        content.setdefault(kind, {})
                        content[kind][label] = max(content[kind].get(label, 0.0), score)
        shot_content.append(content)

    rows, timeline = [], []
    for s_index, seg in enumerate(segments):
        near = [(tagrules.overlap(seg.start, seg.end, a, b), j) for j, (a, b) in enumerate(shots)]
        near = [(w, j) for w, j in near if w > 0]
        face = _weighted_mean([(w * shot_faces[j][1], shot_faces[j][0]) for w, j in near])
        face_weight = max((shot_faces[j][1] for _, j in near), default=0.0)
        span = tagrules.SpanSignals(seg.start, seg.end, text=text_probs[s_index], face=face, face_weight=face_weight,
                                    clip=_weighted_mean([(w, shot_clip[j]) for w, j in near]),
                                    voice_prior=priors[s_index])
        seg_rows, _ = tagrules.span_tags("segment", s_index, span)
        rows += seg_rows

    for index, (start, end) in enumerate(shots):
        near = [(tagrules.overlap(start, end, seg.start, seg.end), i) for i, seg in enumerate(segments)]
        near = [(w, i) for w, i in near if w > 0]
        span = tagrules.SpanSignals(start, end, text=_weighted_mean([(w, text_probs[i]) for w, i in near]),
                                    face=shot_faces[index][0], face_weight=shot_faces[index][1],
                                    clip=shot_clip[index],
                                    voice_prior=_weighted_mean([(w, priors[i]) for w, i in near]))
        shot_rows, estimate = tagrules.span_tags("shot", index, span, shot_content[index])
        rows += shot_rows
        timeline.append((start, end, estimate))

    if not shots:  # audio only: the video's emotional timeline is its speech
        for s_index, seg in enumerate(segments):
            span = tagrules.SpanSignals(seg.start, seg.end, text=text_probs[s_index], voice_prior=priors[s_index])
            timeline.append((seg.start, seg.end, tagrules.fuse_emotion(span)))
    rows += tagrules.video_summary(video_id, duration, timeline,
                                   [(a, b, c) for (a, b), c in zip(shots, shot_content)])
    return VideoTags(rows, _screen_texts(keyframes, findings), signals)


def _screen_texts(keyframes: list[KeyframeInput], findings: list[FrameFindings] | None) -> list[ScreenTextRow]:
    # identical on-screen text in consecutive keyframes of one shot is one finding (a title card
    # held for a minute is not six)
    out: list[ScreenTextRow] = []
    previous: dict[int, str] = {}
    for i, (k, f) in enumerate(zip(keyframes, findings or [])):
        if not f.lines:
            continue
        text = " ".join(line.text for line in f.lines)
        if previous.get(k.shot_index) == text:
            continue
        previous[k.shot_index] = text
        out.append(ScreenTextRow(i, k.time, text, float(np.mean([line.confidence for line in f.lines]))))
    return out


def clip_signals(clip_model, keyframe_vectors: np.ndarray | None, vocabulary):
    """(moods: keyframes x 7, content: per keyframe {kind: {label: score}}), or (None, None) without CLIP."""
    if clip_model is None or keyframe_vectors is None or not len(keyframe_vectors):
        return None, None
    from search.tag_vocabulary import clip_zero_shot

    scores = clip_zero_shot(clip_model, keyframe_vectors, vocabulary)
    return scores.moods, scores.content



def tagger_version(clip_version: str | None, settings) -> str:
    """One short name for everything that decides tags: a change to any part makes `index retag` redo them."""
    from models.emotion_text import load_emotion_text
    from models.face import load_face_expression
    from search.tag_vocabulary import vocabulary_digest

    parts = [load_emotion_text().model_version, load_face_expression().model_version, clip_version or "no-clip",
             vocabulary_digest(settings.tag_vocabulary)]
    if settings.read_screen_text:
        from models.ocr import load_ocr

        parts.append(load_ocr().model_version)
    return "tags@" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def add_tag_rows(session, video_id: int, video_tags: VideoTags, segment_rows: list, shot_rows: list,
                 keyframe_rows: list, version: str) -> None:
    """Catalog rows for a video's tags and on-screen text; the segment, shot and keyframe rows
    must have their ids (flushed)."""
    owners = {"segment": [r.id for r in segment_rows], "shot": [r.id for r in shot_rows]}
    session.add_all(Tag(video_id=video_id, owner_kind=row.owner_kind,
                        owner_id=row.owner_id if row.owner_kind == "video" else owners[row.owner_kind][row.owner_id],
                        kind=row.kind, label=row.label, confidence=row.confidence, start=row.start, end=row.end,
                        sources=row.sources, model_version=version)
                    for row in video_tags.rows)
    session.add_all(ScreenText(video_id=video_id, keyframe_id=keyframe_rows[t.keyframe].id, time=t.time,
                               text=t.text, confidence=round(t.confidence, 4))
                    for t in video_tags.screen_texts)
