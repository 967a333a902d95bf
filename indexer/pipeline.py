"""Index one file: probe, then pictures and sound side by side, then one transaction of results.

A video is either fully indexed or not at all: everything the models produce is held in memory
(thumbnails go to disk under content-addressed names first) and written in a single commit. A
process killed mid-video leaves only its claim ("indexing" by host:pid), which the next run sees
is dead and redoes.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import socket
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from atomic_file import replaced_when_done
import models
from models.speech import Segment
from catalog import (Catalog, Embedding, Job, Keyframe, ScreenText, SegmentSource, Shot, Tag,
                            TranscriptSegment, Video, VideoStatus, record_change, utcnow, vector_bytes)
from settings import Settings

from .audio import AudioTrack, decode_audio, is_silent, work_folder
from .cover import audio_thumbnail
from .errors import Cancelled, MediaError
from .frames import VisualAnalysis, analyse_video
from .probe import MediaInfo, probe
from .subtitles import SubtitleTrack, find_subtitles
from .transcribe import transcribe
from . import tagging

log = logging.getLogger(__name__)

THUMBNAIL_WIDTH = 320
# CLIP encodes keyframes this many at a time, so a long video's pictures are never all decoded at once
CLIP_BATCH = 64
# A claim not refreshed for this long by another host is presumed dead (same host: the pid is
# checked). Workers refresh their claim with each job progress write, at least every few seconds.
FOREIGN_CLAIM_TTL = 15 * 60

ProgressFn = Callable[[str, str, float], None]  # (path, stage, fraction of this file done)


@dataclass
class Outcome:
    path: str
    status: str  # "indexed" | "skipped" | "failed"
    video_id: int | None = None
    message: str = ""
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"path": self.path, "status": self.status, "video_id": self.video_id, "message": self.message,
                "seconds": round(self.seconds, 3), "stages": {k: round(v, 3) for k, v in self.stages.items()}}


def content_hash(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except FileNotFoundError:
        raise MediaError("file not found (moved or deleted?)") from None
    except IsADirectoryError:
        raise MediaError("is a folder, not a file") from None
    except PermissionError:
        raise MediaError("permission denied") from None


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_is_alive(claimed_by: str | None, claimed_at) -> bool:
    if not claimed_by:
        return False
    host, _, pid = claimed_by.rpartition(":")
    if host == socket.gethostname():
        try:
            os.kill(int(pid), 0)
        except (ProcessLookupError, ValueError):
            return False
        except PermissionError:
            return True
        return not _is_zombie(int(pid))
    if claimed_at is None:
        return False
    return (utcnow() - claimed_at).total_seconds() < FOREIGN_CLAIM_TTL


def _is_zombie(pid: int) -> bool:
    """A killed process stays a zombie until its parent reaps it, and still answers kill(pid, 0)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (not Linux), or gone meanwhile: kill(pid, 0) already said it lived
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


class _Superseded(Exception):
    """The video was removed, or claimed by another worker, while this one was indexing it."""


@dataclass
class _AudioResult:
    language: str | None = None
    segments: list = field(default_factory=list)  # models.speech.Segment
    voice_priors: list = field(default_factory=list)
    track: AudioTrack | None = None
    duration: float = 0.0  # of the decoded sound
    warning: str = ""
    cover: bytes | None = None  # JPEG thumbnail of an audio-only file (cover art or waveform)
    note: str = ""


@dataclass
class _TextTracks:
    """The video's transcripts (speech first, then each subtitle track) and the subtitle tracks skipped."""
    tracks: list[_TextTrack]
    skipped: list  # subtitles.SkippedTrack


@dataclass
class _TextTrack:
    """One transcript of the video: its speech, or one subtitle track."""
    source: str  # SegmentSource
    subtitles: SubtitleTrack | None
    language: str | None
    segments: list  # models.speech.Segment
    vectors: np.ndarray | None = None
    emotions: np.ndarray | None = None  # (segments x 7) from the words; the primary track only


class Indexer:
    def __init__(self, settings: Settings, catalog: Catalog, on_progress: ProgressFn | None = None,
                 cancel: threading.Event | None = None, raise_database_errors: bool = False):
        self.settings = settings
        # a queue worker retries a video whose database went away; a batch in one process records it as failed
        self.raise_database_errors = raise_database_errors
        self._replaced_hash: dict[int, str] = {}
        self.catalog = catalog
        self.on_progress = on_progress
        self.cancel = cancel or threading.Event()
        self.worker = this_worker()
        self._stage_lock = threading.Lock()
        self._last_job_write = 0.0

    # Models load on first use, once per process (models caches them).
    def speech(self):
        return models.load_speech(self.settings.speech_model, self.settings.models_dir, self.settings.device)

    def text(self):
        return models.load_text(self.settings.text_model, self.settings.device)

    def clip(self):
        return models.load_clip(self.settings.clip_model, self.settings.models_dir, self.settings.device)

    def model_versions(self) -> dict[str, str]:
        s = self.settings
        return models.model_versions(s.speech_model, s.text_model, s.clip_model, s.models_dir)

    def tagger_version(self) -> str:
        return tagging.tagger_version(self.model_versions().get("clip"), self.settings)

    def index_path(self, path: Path, force: bool = False, job_id: int | None = None) -> Outcome:
        path = Path(path).absolute()
        started = time.perf_counter()
        outcome = self._index(path, force, job_id)
        outcome.seconds = time.perf_counter() - started
        if job_id is not None:
            self._finish_job(job_id, outcome)
        return outcome

    def _index(self, path: Path, force: bool, job_id: int | None) -> Outcome:
        stages: dict[str, float] = {}
        t0 = time.perf_counter()
        try:
            digest = content_hash(path)
        except MediaError as exc:
            return self._fail_without_hash(path, str(exc))
        stages["hash"] = time.perf_counter() - t0
        try:
            claimed = self._claim(path, digest, force, job_id)
        except IntegrityError:  # another process inserted the same path a moment earlier
            return Outcome(str(path), "skipped", None, "being indexed by another process")
        if isinstance(claimed, Outcome):
            return claimed
        video_id = claimed
        try:
            self._report(path, "probe", 0.0, job_id)
            t0 = time.perf_counter()
            info = probe(path)
            stages["probe"] = time.perf_counter() - t0
            visual, audio, thumbnails = self._analyse(path, info, stages, job_id)
            self._check_unchanged(path, info)
            texts = self._text(path, info, audio, stages)
            t0 = time.perf_counter()
            video_tags = self._tags(video_id, info, visual, audio, texts)
            stages["tags"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            self._commit(video_id, path, digest, info, visual, audio, texts, thumbnails, video_tags)
            stages["write"] = time.perf_counter() - t0
            old = self._replaced_hash.pop(video_id, None)
            if old:
                remove_unused_thumbnails(self.settings, self.catalog, old)
        except MediaError as exc:
            self._fail(video_id, str(exc))
            return Outcome(str(path), "failed", video_id, str(exc), stages=stages)
        except _Superseded:
            return Outcome(str(path), "skipped", video_id, "removed or taken over by another worker meanwhile; "
                                                            "nothing written", stages=stages)
        except (Cancelled, KeyboardInterrupt):
            self._release(video_id)
            raise
        except Exception as exc:  # a bug or a model failure: record it, keep the batch going
            if self.raise_database_errors and isinstance(exc, DBAPIError):
                try:
                    self._release(video_id)
                except DBAPIError:
                    pass  # still gone: the claim is this live process's own, so a retry here resumes it
                raise
            if path.exists():
                log.error("indexing %s failed:\n%s", path, traceback.format_exc())
                message = f"internal error: {type(exc).__name__}: {exc}"
            else:
                message = "file vanished while it was being indexed"
            self._fail(video_id, message)
            return Outcome(str(path), "failed", video_id, message, stages=stages)
        notes = [n for n in (self._notes(info, audio, texts, video_tags)) if n]
        return Outcome(str(path), "indexed", video_id, "; ".join(notes), stages=stages)

    # -- claiming ---------------------------------------------------------------------------------

    def _claim(self, path: Path, digest: str, force: bool, job_id: int | None) -> int | Outcome:
        key = str(path)
        with self.catalog.session() as s, s.begin():
            video = s.scalar(select(Video).where(Video.path == key).with_for_update())
            if video is not None and video.status == VideoStatus.INDEXING and video.claimed_by != self.worker \
                    and claim_is_alive(video.claimed_by, video.claimed_at):
                return Outcome(key, "skipped", video.id, f"being indexed by {video.claimed_by}")
            if not force and video is not None and video.status == VideoStatus.INDEXED and video.content_hash == digest:
                return Outcome(key, "skipped", video.id, "already indexed")
            if not force:
                twin = s.scalar(select(Video).where(Video.content_hash == digest, Video.path != key,
                                                    Video.status == VideoStatus.INDEXED))
                if twin is not None:
                    if not Path(twin.path).exists():
                        # the same bytes under a new name: a move, not a new video
                        old = twin.path
                        if video is not None:
                            record_change(s, video.id)
                            s.delete(video)
                            s.flush()
                        twin.path, twin.title = key, title_from_path(path)
                        return Outcome(key, "skipped", twin.id, f"moved from {old}; index entry updated")
                    return Outcome(key, "skipped", twin.id, f"same content as video {twin.id} ({twin.path})")
            if video is None:
                video = Video(path=key, title=title_from_path(path), model_versions={})
                s.add(video)
            elif video.content_hash and video.content_hash != digest:
                self._replaced_hash[video.id] = video.content_hash  # its thumbnails go once the new ones are in
            video.status = VideoStatus.INDEXING
            video.claimed_by, video.claimed_at = self.worker, utcnow()
            video.content_hash = digest
            video.error = None
            s.flush()
            if job_id is not None:
                job = s.get(Job, job_id)
                job.video_id, job.status, job.started_at = video.id, "running", utcnow()
                job.attempts += 1
            return video.id

    def _fail_without_hash(self, path: Path, message: str) -> Outcome:
        """A file we cannot even read: record it so `index status` lists it with its reason."""
        with self.catalog.session() as s, s.begin():
            video = s.scalar(select(Video).where(Video.path == str(path)))
            if video is None:
                video = Video(path=str(path), title=title_from_path(path), model_versions={})
                s.add(video)
            else:
                _drop_results(s, video.id)
            video.status, video.error = VideoStatus.FAILED, message
            video.claimed_by = video.claimed_at = None
            s.flush()
            return Outcome(str(path), "failed", video.id, message)

    def _fail(self, video_id: int, message: str) -> None:
        with self.catalog.session() as s, s.begin():
            video = s.get(Video, video_id)
            if video is None or video.claimed_by != self.worker:
                return  # removed or taken over meanwhile: not ours to mark
            _drop_results(s, video_id)
            video.status, video.error = VideoStatus.FAILED, message
            video.claimed_by = video.claimed_at = None

    def _release(self, video_id: int) -> None:
        """Interrupted: hand the video back as pending so the next run picks it up."""
        with self.catalog.session() as s, s.begin():
            video = s.get(Video, video_id)
            if video is not None and video.claimed_by == self.worker:
                _drop_results(s, video_id)
                video.status, video.error = VideoStatus.PENDING, "interrupted; run `index add` again to resume"
                video.claimed_by = video.claimed_at = None

    # -- analysis ---------------------------------------------------------------------------------

    def _analyse(self, path: Path, info: MediaInfo, stages: dict, job_id: int | None):
        local_cancel = threading.Event()
        fractions = {"visual": 0.0 if info.has_video else 1.0, "audio": 0.0 if info.has_audio else 1.0}

        def progress(part: str, stage: str):
            def report(fraction: float):
                if self.cancel.is_set() or local_cancel.is_set():
                    raise Cancelled()
                fractions[part] = fraction
                self._report(path, stage, (fractions["visual"] + fractions["audio"]) / 2, job_id)
            return report

        def watch_cancel():
            while not local_cancel.wait(0.2):
                if self.cancel.is_set():
                    local_cancel.set()

        watcher = threading.Thread(target=watch_cancel, daemon=True)
        watcher.start()
        # PyAV, CTranslate2 and torch release the GIL: decoding and speech run truly side by side.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="index") as pool:
            visual_job = pool.submit(self._visual, path, info, stages, progress("visual", "pictures"), local_cancel) \
                if info.has_video else None
            audio_job = pool.submit(self._audio, path, info, stages, progress("audio", "speech"), local_cancel) \
                if info.has_audio else None
            try:
                visual, thumbnails = visual_job.result() if visual_job else (None, [])
                audio = audio_job.result() if audio_job else _AudioResult(note="no audio track")
            except BaseException:
                local_cancel.set()
                raise
            finally:
                local_cancel.set()
        return visual, audio, thumbnails

    def _timed(self, stages: dict, name: str, started: float) -> None:
        with self._stage_lock:
            stages[name] = stages.get(name, 0.0) + time.perf_counter() - started

    def _visual(self, path: Path, info: MediaInfo, stages: dict, report, cancel):
        t0 = time.perf_counter()
        visual = analyse_video(path, info.duration, info.fps, self.settings.keyframe_interval,
                               progress=lambda f: report(0.8 * f), cancel=cancel)
        self._timed(stages, "shots", t0)
        t0 = time.perf_counter()
        thumbnails = [_jpeg(sample.image) for sample in visual.keyframes]
        self._timed(stages, "thumbnails", t0)
        clip = self.clip()
        visual.stats["clip_vectors"] = None
        if clip is not None and visual.keyframes:
            t0 = time.perf_counter()
            frames = visual.keyframes
            visual.stats["clip_vectors"] = np.concatenate(
                [clip.encode_images([k.image for k in frames[i:i + CLIP_BATCH]])
                 for i in range(0, len(frames), CLIP_BATCH)])
            self._timed(stages, "clip", t0)
        visual.stats["findings"] = None
        if visual.keyframes:
            t0 = time.perf_counter()
            report(0.9)
            visual.stats["findings"] = tagging.frame_findings(
                path, [tagging.KeyframeInput(k.time, k.shot_index) for k in visual.keyframes], cancel,
                read_text=self.settings.read_screen_text, progress=lambda f: report(0.9 + 0.1 * f))
            self._timed(stages, "faces_text", t0)
        report(1.0)
        return visual, thumbnails

    def _audio(self, path: Path, info: MediaInfo, stages: dict, report, cancel) -> _AudioResult:
        t0 = time.perf_counter()
        audio = decode_audio(path, work_folder(self.settings.data_dir), self.settings.audio_language, cancel)
        self._timed(stages, "audio", t0)
        try:
            result = _AudioResult(track=audio.track, duration=audio.duration, warning=audio.warning)
            if audio.samples == 0:
                result.note = "no audio decoded: nothing to transcribe"
            elif is_silent(audio):
                result.note = "audio is silent: nothing to transcribe"
            else:
                t0 = time.perf_counter()
                transcript = transcribe(audio, self.speech(), cancel=cancel,
                                        progress=lambda seconds: report(0.9 * min(1.0, seconds / audio.duration)))
                self._timed(stages, "asr", t0)
                result.language, result.segments = transcript.language, transcript.segments
                if not transcript.segments:
                    result.note = "no speech found"
                else:
                    t0 = time.perf_counter()
                    result.voice_priors = tagging.voice_priors(audio, _segment_inputs(transcript.segments))
                    self._timed(stages, "emotion", t0)
            if not info.has_video:
                t0 = time.perf_counter()
                result.cover = _jpeg(audio_thumbnail(path, audio))
                self._timed(stages, "thumbnails", t0)
        finally:
            audio.remove()
        report(1.0)
        return result

    def _text(self, path: Path, info: MediaInfo, audio: _AudioResult, stages: dict) -> _TextTracks:
        """The transcript tracks (speech, then each subtitle track) with their text vectors and emotions."""
        t0 = time.perf_counter()
        tracks = [_TextTrack(SegmentSource.SPEECH, None, audio.language, audio.segments)] if audio.segments else []
        found, skipped = find_subtitles(path, fps=info.fps, cancel=self.cancel)
        tracks += [_TextTrack(SegmentSource.SUBTITLES, sub, sub.language,
                              [Segment(c.start, c.end, c.text) for c in sub.cues]) for sub in found]
        self._timed(stages, "subtitles", t0)
        sentences = [seg.text for track in tracks for seg in track.segments]
        if sentences:
            t0 = time.perf_counter()
            vectors = self.text().encode(sentences)
            self._timed(stages, "text_embed", t0)
            at = 0
            for track in tracks:
                track.vectors = vectors[at:at + len(track.segments)]
                at += len(track.segments)
            # tags read the primary track only: speech where there is any, else the first subtitles
            t0 = time.perf_counter()
            tracks[0].emotions = tagging.text_emotions([seg.text for seg in tracks[0].segments], tracks[0].vectors)
            self._timed(stages, "emotion", t0)
        return _TextTracks(tracks, skipped)

    def _tags(self, video_id: int, info: MediaInfo, visual: VisualAnalysis | None, audio: _AudioResult,
              texts: _TextTracks) -> tagging.VideoTags:
        primary = texts.tracks[0] if texts.tracks else None
        segments = _segment_inputs(primary.segments) if primary else []
        speech = primary is not None and primary.source == SegmentSource.SPEECH
        keyframes = [tagging.KeyframeInput(k.time, k.shot_index) for k in visual.keyframes] if visual else []
        clip_vectors = visual.stats.get("clip_vectors") if visual else None
        moods, content = tagging.clip_signals(self.clip() if clip_vectors is not None else None, clip_vectors,
                                              self.settings.tag_vocabulary)
        return tagging.build_tags(
            video_id, _duration(info, audio), segments,
            primary.emotions if primary is not None and primary.emotions is not None else np.zeros((0, 7)),
            audio.voice_priors if speech and audio.voice_priors else [None] * len(segments),
            [(shot.start, shot.end) for shot in visual.shots] if visual else [], keyframes,
            visual.stats.get("findings") if visual else None, moods, content)

    @staticmethod
    def _notes(info: MediaInfo, audio: _AudioResult, texts: _TextTracks,
               video_tags: tagging.VideoTags) -> list[str]:
        subtitles = [t for t in texts.tracks if t.source == SegmentSource.SUBTITLES]
        return ["audio only: no video stream" if not info.has_video else "", audio.note,
                f"{len(subtitles)} subtitle track(s) read" if subtitles else "",
                f"audio track {audio.track.position} of {audio.track.count} heard "
                f"({audio.track.language or 'language not marked'}, {audio.track.chosen_because})"
                if audio.track is not None and audio.track.count > 1 else "",
                *_warnings(info, audio, texts.skipped),
                "" if video_tags.signals else "no speech and no faces: tagged neutral, low confidence"]

    def _check_unchanged(self, path: Path, info: MediaInfo) -> None:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise MediaError("file vanished while it was being indexed") from None
        if size != info.size_bytes:
            raise MediaError("file changed while it was being indexed; run `index add` again")

    # -- writing ----------------------------------------------------------------------------------

    def _commit(self, video_id: int, path: Path, digest: str, info: MediaInfo, visual: VisualAnalysis | None,
                audio: _AudioResult, texts: _TextTracks, thumbnails: list[bytes],
                video_tags: tagging.VideoTags) -> None:
        versions = self.model_versions()
        thumb_names = self._write_thumbnails(digest, visual, thumbnails, audio.cover)
        with self.catalog.session() as s, s.begin():
            video = s.get(Video, video_id, with_for_update=True)
            if video is None or video.claimed_by != self.worker:
                raise _Superseded()
            _drop_results(s, video_id)
            video.title = video.title or title_from_path(path)
            video.size_bytes, video.mtime = info.size_bytes, path.stat().st_mtime
            video.duration, video.fps = _duration(info, audio), info.fps
            video.width, video.height = info.width, info.height
            video.container, video.video_codec, video.audio_codec = info.container, info.video_codec, info.audio_codec
            video.has_video, video.has_audio = info.has_video, info.has_audio
            video.language = audio.language or next((t.language for t in texts.tracks if t.language), None)
            video.tracks = {
                "audio": audio.track.as_dict() if audio.track else None,
                "subtitles": [{"key": t.subtitles.key, "source": t.subtitles.source, "language": t.language,
                               "label": t.subtitles.label, "cues": len(t.segments)}
                              for t in texts.tracks if t.subtitles is not None],
                "skipped": [{"key": t.key, "language": t.language, "reason": t.reason} for t in texts.skipped]}
            video.warnings = _warnings(info, audio, texts.skipped)
            used = {"speech": versions["speech"]} if info.has_audio else {}
            if texts.tracks:
                used["text"] = versions["text"]
            shots, frames = [], []
            if visual is not None:
                shots = [Shot(video_id=video_id, index=shot.index, start=shot.start, end=shot.end)
                         for shot in visual.shots]
                s.add_all(shots)
                frames = [Keyframe(video_id=video_id, shot_index=k.shot_index, time=k.time, thumbnail=name,
                                   width=k.width, height=k.height)
                          for k, name in zip(visual.keyframes, thumb_names)]
                s.add_all(frames)
                clip_vectors = visual.stats.get("clip_vectors")
                if clip_vectors is not None:
                    clip = self.clip()
                    used["clip"] = clip.version
                    s.flush()
                    s.add_all(Embedding(video_id=video_id, owner_kind="keyframe", owner_id=f.id, model=clip.name,
                                        model_version=clip.version, dim=vec.shape[0], vector=vector_bytes(vec))
                              for f, vec in zip(frames, clip_vectors))
            elif audio.cover is not None:
                # an audio file's one picture: its cover or waveform, shown wherever a thumbnail is
                width, height = Image.open(io.BytesIO(audio.cover)).size
                s.add(Keyframe(video_id=video_id, shot_index=0, time=0.0, thumbnail=thumb_names[0],
                               width=width, height=height))
            text = self.text() if texts.tracks else None
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
                s.add_all(Embedding(video_id=video_id, owner_kind="segment", owner_id=r.id, model=text.name,
                                    model_version=text.version, dim=vec.shape[0], vector=vector_bytes(vec))
                          for track, rows in zip(texts.tracks, rows_by_track) for r, vec in zip(rows, track.vectors))
            s.flush()
            tagging.add_tag_rows(s, video_id, video_tags, rows_by_track[0] if rows_by_track else [], shots, frames,
                                 self.tagger_version())
            video.model_versions = used
            video.status, video.error = VideoStatus.INDEXED, None
            video.claimed_by = video.claimed_at = None
            video.indexed_at = utcnow()

    def _write_thumbnails(self, digest: str, visual: VisualAnalysis | None, thumbnails: list[bytes],
                          cover: bytes | None = None) -> list[str]:
        """Content-addressed files: a rerun rewrites the same names, so a crash leaves no stray versions."""
        if visual is None:
            thumbnails = [cover] if cover is not None else []
        times = [k.time for k in visual.keyframes] if visual is not None else [0.0] * len(thumbnails)
        if not thumbnails:
            return []
        folder = self.settings.thumbnails_dir / digest[:2] / digest
        folder.mkdir(parents=True, exist_ok=True)
        names = []
        for t, data in zip(times, thumbnails):
            name = f"{digest[:2]}/{digest}/{round(t * 1000):09d}.jpg"
            target = self.settings.thumbnails_dir / name
            try:
                with replaced_when_done(target) as tmp:
                    tmp.write_bytes(data)
            except OSError as exc:
                raise MediaError(f"cannot write thumbnails to {folder}: {exc.strerror}") from None
            names.append(name)
        return names

    # -- progress ---------------------------------------------------------------------------------

    def _report(self, path: Path, stage: str, fraction: float, job_id: int | None) -> None:
        if self.on_progress:
            self.on_progress(str(path), stage, fraction)
        if job_id is not None:
            self._update_job(job_id, stage, fraction)

    def _update_job(self, job_id: int, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if now - self._last_job_write < 1.0 and fraction < 1.0:
            return  # progress is for people watching; once a second is enough
        self._last_job_write = now
        with self.catalog.session() as s, s.begin():
            job = s.get(Job, job_id)
            if job is not None:
                job.stage, job.progress = stage, round(fraction, 3)
                if job.video_id is not None:  # the claim stays fresh while the work goes on
                    s.execute(update(Video).where(Video.id == job.video_id, Video.claimed_by == self.worker)
                              .values(claimed_at=utcnow()))

    def _finish_job(self, job_id: int, outcome: Outcome) -> None:
        with self.catalog.session() as s, s.begin():
            job = s.get(Job, job_id)
            if job is None:
                return
            job.status = {"indexed": "done", "skipped": "done", "failed": "failed"}[outcome.status]
            job.progress = 1.0
            job.stage = outcome.status
            job.message = outcome.message
            job.video_id = outcome.video_id
            job.finished_at = utcnow()


def _drop_results(s, video_id: int) -> None:
    for table in (Tag, ScreenText, Embedding, Keyframe, Shot, TranscriptSegment):
        s.execute(delete(table).where(table.video_id == video_id))
    record_change(s, video_id)  # search processes re-sync this video's vectors


def remove_unused_thumbnails(settings: Settings, catalog: Catalog, digest: str) -> None:
    """Delete the thumbnails made from this content unless a video in the catalog still has it."""
    with catalog.session() as s:
        if s.scalar(select(Video.id).where(Video.content_hash == digest).limit(1)) is not None:
            return
    shutil.rmtree(settings.thumbnails_dir / digest[:2] / digest, ignore_errors=True)


def _duration(info: MediaInfo, audio: _AudioResult) -> float:
    """The picture's length, or the sound's where it runs on past it (its transcript is kept)."""
    return max(info.duration or 0.0, audio.duration)


def _warnings(info: MediaInfo, audio: _AudioResult, skipped_subtitles: list) -> list[str]:
    """What was kept from damaged or odd input, for the catalog and the outcome."""
    found = [audio.warning] if audio.warning else []
    if info.has_video and audio.duration > (info.duration or 0.0) + 1.0:
        found.append(f"the sound runs {audio.duration - info.duration:.1f} s past the end of the picture: "
                     f"its transcript is kept")
    found += [f"subtitle track {t.key} skipped: {t.reason}" for t in skipped_subtitles]
    return found


def _segment_inputs(segments) -> list[tagging.SegmentInput]:
    """Whisper's segments as the tagger reads them."""
    return [tagging.SegmentInput(seg.start, seg.end, seg.text,
                                 [[w.word, w.start, w.end, w.probability] for w in seg.words]) for seg in segments]


def _jpeg(image) -> bytes:
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_WIDTH))
    buf = io.BytesIO()
    thumb.save(buf, format="JPEG", quality=82, optimize=True)
    return buf.getvalue()


def title_from_path(path: Path) -> str:
    return Path(path).stem.replace("_", " ").strip() or Path(path).name
