"""Storing what analysis found: one transaction of rows, vectors and tags, thumbnails on disk first.

A video is either fully indexed or not at all: thumbnails go to disk under content-addressed names,
then every row is written in a single commit, and only while this worker still holds the claim.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from atomic_file import replaced_when_done
from catalog import (Catalog, Embedding, Keyframe, SegmentSource, Shot, TranscriptSegment, Video, VideoStatus, utcnow,
                     vector_bytes)
from people import library as people
from people.library import PeopleFound
from search.channels import TRANSCRIPT, VISUAL

from . import tagging
from .analysis import AudioAnalysis, PictureAnalysis, TextTracks, video_duration, warnings_for
from .claims import Superseded, drop_results, title_from_path
from .errors import MediaError
from .probe import MediaInfo


@dataclass(frozen=True)
class ModelStamp:
    name: str
    version: str


@dataclass(frozen=True)
class ModelStamps:
    """The models that made a video's results, read before the write: what its rows record."""
    versions: dict[str, str]  # family -> version, of the models in use now
    text: ModelStamp | None  # the text embedder, when there are transcript tracks
    clip: ModelStamp | None  # CLIP, when the keyframes have vectors
    tagger: str


@dataclass
class VideoResults:
    info: MediaInfo
    pictures: PictureAnalysis | None
    audio: AudioAnalysis
    texts: TextTracks
    tags: tagging.VideoTags
    people: PeopleFound | None = None  # None: people not looked for (REELSCOPE_PEOPLE=0)


def write_results(catalog: Catalog, worker: str, thumbnails_dir: Path, video_id: int, path: Path, digest: str,
                  results: VideoResults, stamps: ModelStamps) -> None:
    """The video's rows, replacing any it had; Superseded when this worker no longer holds its claim."""
    info, pictures, audio, texts = results.info, results.pictures, results.audio, results.texts
    versions = stamps.versions
    thumb_names = write_thumbnails(thumbnails_dir, digest, pictures, audio.cover)
    if results.people is not None and results.people.faces:
        results.people.crop_names = write_face_crops(thumbnails_dir, digest, pictures, results.people)
    with catalog.session() as s, s.begin():
        video = s.get(Video, video_id, with_for_update=True)
        if video is None or video.claimed_by != worker:
            raise Superseded()
        before = people.before_reindex(s, video_id) if results.people is not None else None
        drop_results(s, video_id)
        video.title = video.title or title_from_path(path)
        video.size_bytes, video.mtime = info.size_bytes, path.stat().st_mtime
        video.duration, video.fps = video_duration(info, audio), info.fps
        video.width, video.height = info.width, info.height
        video.container, video.video_codec, video.audio_codec = info.container, info.video_codec, info.audio_codec
        video.has_video, video.has_audio = info.has_video, info.has_audio
        video.language = audio.language or next((t.language for t in texts.tracks if t.language), None)
        video.tracks = {
            "audio": audio.track.as_dict() if audio.track else None,
            "subtitles": [{"key": t.subtitles.key, "source": t.subtitles.source, "language": t.language,
                           "label": t.subtitles.label, "cues": len(t.segments)}
                          for t in texts.tracks if t.subtitles is not None],
            "skipped": [{"key": t.key, "language": t.language, "reason": t.reason} for t in texts.skipped],
            "chapters": info.chapters or []}
        video.warnings = warnings_for(info, audio, texts.skipped)
        used = {"speech": versions["speech"]} if info.has_audio else {}
        if texts.tracks:
            used["text"] = versions["text"]
        shots, frames = [], []
        if pictures is not None:
            shots = [Shot(video_id=video_id, index=shot.index, start=shot.start, end=shot.end)
                     for shot in pictures.shots]
            s.add_all(shots)
            frames = [Keyframe(video_id=video_id, shot_index=k.shot_index, time=k.time, thumbnail=name,
                               width=k.width, height=k.height)
                      for k, name in zip(pictures.keyframes, thumb_names)]
            s.add_all(frames)
            if pictures.clip_vectors is not None:
                clip = stamps.clip
                used["clip"] = clip.version
                s.flush()
                s.add_all(Embedding(video_id=video_id, owner_kind=VISUAL.owner_kind, owner_id=f.id, model=clip.name,
                                    model_version=clip.version, dim=vec.shape[0], vector=vector_bytes(vec))
                          for f, vec in zip(frames, pictures.clip_vectors))
        elif audio.cover is not None:
            # an audio file's one picture: its cover or waveform, shown wherever a thumbnail is
            width, height = Image.open(io.BytesIO(audio.cover)).size
            s.add(Keyframe(video_id=video_id, shot_index=0, time=0.0, thumbnail=thumb_names[0],
                           width=width, height=height))
        text = stamps.text
        rows_by_track = []
        index = 0
        for track in texts.tracks:
            rows = []
            for seg in track.segments:
                rows.append(TranscriptSegment(
                    video_id=video_id, index=index, start=seg.start, end=seg.end, text=seg.text,
                    language=track.language, source=track.source,
                    track=track.subtitles.key if track.subtitles else None,
                    words=[[w.word, round(w.start, 3), round(w.end, 3), round(w.probability, 3)]
                           for w in seg.words],
                    avg_logprob=seg.avg_logprob if track.source == SegmentSource.SPEECH else None,
                    no_speech_prob=seg.no_speech_prob if track.source == SegmentSource.SPEECH else None))
                index += 1
            s.add_all(rows)
            rows_by_track.append(rows)
        if texts.tracks:
            s.flush()
            s.add_all(Embedding(video_id=video_id, owner_kind=TRANSCRIPT.owner_kind, owner_id=r.id, model=text.name,
                                model_version=text.version, dim=vec.shape[0], vector=vector_bytes(vec))
                      for track, rows in zip(texts.tracks, rows_by_track) for r, vec in zip(rows, track.vectors))
        s.flush()
        if results.people is not None:
            people.record(s, video_id, results.people, frames, shots, before)
            people.forget_unseen(s, before.people)
        tagging.add_tag_rows(s, video_id, results.tags, rows_by_track[0] if rows_by_track else [], shots, frames,
                             stamps.tagger)
        video.model_versions = used
        video.status, video.error = VideoStatus.INDEXED, None
        video.claimed_by = video.claimed_at = None
        video.indexed_at = utcnow()


def write_face_crops(thumbnails_dir: Path, digest: str, pictures: PictureAnalysis, found: PeopleFound) -> list[str]:
    """One JPEG a face, beside the keyframes' thumbnails (so they go when the content goes)."""
    names = []
    for n, face in enumerate(found.faces):
        at = round(pictures.keyframes[face.keyframe].time * 1000)
        name = f"{digest[:2]}/{digest}/face-{at:09d}-{n:04d}.jpg"
        target = thumbnails_dir / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with replaced_when_done(target) as tmp:
                tmp.write_bytes(face.crop)
        except OSError as exc:
            raise MediaError(f"cannot write face pictures to {target.parent}: {exc.strerror}") from None
        names.append(name)
    return names


def write_thumbnails(thumbnails_dir: Path, digest: str, pictures: PictureAnalysis | None,
                     cover: bytes | None = None) -> list[str]:
    """Content-addressed files: a rerun rewrites the same names, so a crash leaves no stray versions."""
    if pictures is None:
        thumbnails = [cover] if cover is not None else []
        times = [0.0] * len(thumbnails)
    else:
        thumbnails, times = pictures.thumbnails, [k.time for k in pictures.keyframes]
    if not thumbnails:
        return []
    folder = thumbnails_dir / digest[:2] / digest
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for t, data in zip(times, thumbnails):
        name = f"{digest[:2]}/{digest}/{round(t * 1000):09d}.jpg"
        target = thumbnails_dir / name
        try:
            with replaced_when_done(target) as tmp:
                tmp.write_bytes(data)
        except OSError as exc:
            raise MediaError(f"cannot write thumbnails to {folder}: {exc.strerror}") from None
        names.append(name)
    return names

