"""Recompute a video's tags from what the catalog already holds, without speech recognition.

The transcript, its text vectors and the keyframes' CLIP vectors come from SQL; only the
pictures (faces, on-screen text) and the sound (voice arousal) are read from the file again.
If the file is gone, the tags are made from the catalog's signals alone, and the result says so.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import delete, select

import models
from catalog import (Catalog, Embedding, Keyframe, ScreenText, SegmentSource, Shot, Tag,
                     TranscriptSegment, Video, VideoStatus)
from settings import Settings

from . import tagging
from .audio import decode_audio, work_folder
from .errors import MediaError


def stale_for_tags(catalog: Catalog, version: str) -> list[int]:
    """Indexed videos whose tags are missing or were made by another tagger version."""
    with catalog.session() as s:
        indexed = list(s.scalars(select(Video.id).where(Video.status == VideoStatus.INDEXED).order_by(Video.id)))
        current = set(s.scalars(select(Tag.video_id).where(Tag.owner_kind == "video", Tag.model_version == version)))
    return [v for v in indexed if v not in current]


def _vectors(s, video_id: int, kind: str, ids: list[int], model: str, version: str | None = None) -> np.ndarray | None:
    """The rows' vectors from `model` (a video may hold another model's too, before a reindex), of
    `version` when given."""
    q = select(Embedding).where(Embedding.video_id == video_id, Embedding.owner_kind == kind, Embedding.model == model)
    if version is not None:
        q = q.where(Embedding.model_version == version)
    rows = {e.owner_id: e.as_array() for e in s.scalars(q)}
    if not ids or any(i not in rows for i in ids):
        return None
    return np.stack([rows[i] for i in ids])


def retag_video(settings: Settings, catalog: Catalog, video_id: int, version: str) -> str:
    """Replaces the video's tags and on-screen text; returns a note ("" when every signal was read)."""
    with catalog.session() as s:
        video = s.get(Video, video_id)
        if video is None or video.status != VideoStatus.INDEXED:
            raise MediaError(f"video {video_id} is not indexed")
        path, duration, has_audio, has_video = Path(video.path), video.duration or 0.0, video.has_audio, video.has_video
        segments = primary_track(list(s.scalars(select(TranscriptSegment)
                                                .where(TranscriptSegment.video_id == video_id)
                                                .order_by(TranscriptSegment.index))))
        shots = list(s.scalars(select(Shot).where(Shot.video_id == video_id).order_by(Shot.index)))
        frames = list(s.scalars(select(Keyframe).where(Keyframe.video_id == video_id).order_by(Keyframe.time)))
        text_version = models.text_version(settings.text_model, settings.models_dir)
        text_vectors = _vectors(s, video_id, "segment", [seg.id for seg in segments], settings.text_model, text_version)
        clip_vectors = _vectors(s, video_id, "keyframe", [f.id for f in frames], settings.clip_model)
    inputs = [tagging.SegmentInput(seg.start, seg.end, seg.text, seg.words or []) for seg in segments]
    keyframes = [tagging.KeyframeInput(f.time, f.shot_index) for f in frames]
    notes = []
    priors = [None] * len(inputs)
    findings = None
    if not path.exists():
        notes.append("file not found: tags made from the transcript and stored vectors only")
    else:
        if has_audio and inputs and segments[0].source == SegmentSource.SPEECH:
            audio = decode_audio(path, work_folder(settings.data_dir), settings.audio_language)
            try:
                priors = tagging.voice_priors(audio, inputs)
            finally:
                audio.remove()
        if has_video and keyframes:
            findings = tagging.frame_findings(path, keyframes, read_text=settings.read_screen_text)
    clip = models.load_clip(settings.clip_model, settings.models_dir, settings.device) \
        if clip_vectors is not None else None
    moods, content = tagging.clip_signals(clip, clip_vectors, settings.tag_vocabulary)
    video_tags = tagging.build_tags(video_id, duration, inputs,
                                    tagging.text_emotions([i.text for i in inputs], text_vectors, text_version),
                                    priors, [(sh.start, sh.end) for sh in shots], keyframes, findings, moods,
                                    content)
    with catalog.session() as s, s.begin():
        video = s.get(Video, video_id, with_for_update=True)
        if video is None or video.status != VideoStatus.INDEXED:
            raise MediaError(f"video {video_id} changed while it was being re-tagged; nothing written")
        s.execute(delete(Tag).where(Tag.video_id == video_id))
        if findings is not None:  # else the file is gone: keep the text read from it before
            s.execute(delete(ScreenText).where(ScreenText.video_id == video_id))
        tagging.add_tag_rows(s, video_id, video_tags, segments, shots, frames, version)
    return "; ".join(notes)


def primary_track(segments: list[TranscriptSegment]) -> list[TranscriptSegment]:
    """The segments tags are made from, as indexing chose them: the speech, else the first subtitle track."""
    if not segments:
        return []
    speech = [seg for seg in segments if seg.source == SegmentSource.SPEECH]
    return speech or [seg for seg in segments if seg.track == segments[0].track]
