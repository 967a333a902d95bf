"""What indexing finds in one file: pictures and sound analysed side by side, the transcript tracks,
and the tags assembled from every signal, as typed results that `writing` stores.

PyAV, CTranslate2 and torch release the GIL, so decoding pictures and recognising speech run truly
side by side on two threads.
"""
from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

import models
from catalog import SegmentSource
from models.speech import Segment
from people.library import FaceSeen, PeopleFound
from people.speakers import diarize
from settings import Settings

from . import tagging
from .audio import AudioTrack, decode_audio, is_silent, work_folder
from .cover import audio_thumbnail
from .errors import Cancelled
from .frames import FrameSample, Shot, analyse_video
from .probe import MediaInfo
from .subtitles import SubtitleTrack, find_subtitles
from .transcribe import transcribe

THUMBNAIL_WIDTH = 320
# CLIP encodes keyframes this many at a time, so a long video's pictures are never all decoded at once
CLIP_BATCH = 64


@dataclass
class PictureAnalysis:
    shots: list[Shot]
    keyframes: list[FrameSample]
    thumbnails: list[bytes]  # JPEG, one a keyframe
    clip_vectors: np.ndarray | None = None  # one a keyframe; None without CLIP
    findings: list[tagging.FrameFindings] | None = None  # faces and on-screen text, one a keyframe


@dataclass
class AudioAnalysis:
    language: str | None = None
    segments: list = field(default_factory=list)  # models.speech.Segment
    voice_priors: list = field(default_factory=list)
    track: AudioTrack | None = None
    duration: float = 0.0  # of the decoded sound
    warning: str = ""
    cover: bytes | None = None  # JPEG thumbnail of an audio-only file (cover art or waveform)
    note: str = ""
    speakers: object | None = None  # people.speakers.Diarization of the speech; None when people are off


@dataclass
class TextTracks:
    """The video's transcripts (speech first, then each subtitle track) and the subtitle tracks skipped."""
    tracks: list[TextTrack]
    skipped: list  # subtitles.SkippedTrack


@dataclass
class TextTrack:
    """One transcript of the video: its speech, or one subtitle track."""
    source: str  # SegmentSource
    subtitles: SubtitleTrack | None
    language: str | None
    segments: list  # models.speech.Segment
    vectors: np.ndarray | None = None
    emotions: np.ndarray | None = None  # (segments x 7) from the words; the primary track only


class IndexModels:
    """The models indexing runs, loaded on first use, once per process (`models` caches them)."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def speech(self):
        return models.load_speech(self.settings.speech_model, self.settings.models_dir, self.settings.device)

    def text(self):
        return models.load_text(self.settings.text_model, self.settings.device, models_dir=self.settings.models_dir)

    def clip(self):
        clip = models.load_clip(self.settings.clip_model, self.settings.models_dir, self.settings.device)
        if clip is not None:
            # the tag vocabulary's text vectors with the model (cached per process: seconds of CLIP text
            # encoding): the pictures thread asks first, so a first video's tags do not wait for them
            # after both threads are done
            from search.tag_vocabulary import load_vocabulary, prompt_vectors

            prompt_vectors(clip, load_vocabulary(self.settings.tag_vocabulary))
        return clip

    def versions(self) -> dict[str, str]:
        s = self.settings
        return models.model_versions(s.speech_model, s.text_model, s.clip_model, s.models_dir)

    def tagger_version(self) -> str:
        return tagging.tagger_version(self.versions().get("clip"), self.settings)


class Analyser:
    """Runs the models over one file at a time; `stages` collects seconds per stage across both threads."""

    def __init__(self, settings: Settings, index_models: IndexModels, cancel: threading.Event):
        self.settings = settings
        self.models = index_models
        self.cancel = cancel
        self._stage_lock = threading.Lock()

    def analyse(self, path: Path, info: MediaInfo, stages: dict,
                on_stage: Callable[[str, float], None]) -> tuple[PictureAnalysis | None, AudioAnalysis]:
        """Pictures and sound side by side; `on_stage(stage, fraction)` hears the progress of both."""
        local_cancel = threading.Event()
        fractions = {"visual": 0.0 if info.has_video else 1.0, "audio": 0.0 if info.has_audio else 1.0}

        def progress(part: str, stage: str):
            def report(fraction: float):
                if self.cancel.is_set() or local_cancel.is_set():
                    raise Cancelled()
                fractions[part] = fraction
                on_stage(stage, (fractions["visual"] + fractions["audio"]) / 2)
            return report

        def watch_cancel():
            while not local_cancel.wait(0.2):
                if self.cancel.is_set():
                    local_cancel.set()

        watcher = threading.Thread(target=watch_cancel, daemon=True)
        watcher.start()
        # PyAV, CTranslate2 and torch release the GIL: decoding and speech run truly side by side.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="index") as pool:
            visual_job = pool.submit(self._pictures, path, info, stages, progress("visual", "pictures"), local_cancel) \
                if info.has_video else None
            audio_job = pool.submit(self._audio, path, info, stages, progress("audio", "speech"), local_cancel) \
                if info.has_audio else None
            try:
                pictures = visual_job.result() if visual_job else None
                audio = audio_job.result() if audio_job else AudioAnalysis(note="no audio track")
            except BaseException:
                local_cancel.set()
                raise
            finally:
                local_cancel.set()
        return pictures, audio

    def _timed(self, stages: dict, name: str, started: float) -> None:
        with self._stage_lock:
            stages[name] = stages.get(name, 0.0) + time.perf_counter() - started

    def _pictures(self, path: Path, info: MediaInfo, stages: dict, report, cancel) -> PictureAnalysis:
        t0 = time.perf_counter()
        visual = analyse_video(path, info.duration, info.fps, self.settings.keyframe_interval,
                               progress=lambda f: report(0.8 * f), cancel=cancel)
        self._timed(stages, "shots", t0)
        t0 = time.perf_counter()
        pictures = PictureAnalysis(visual.shots, visual.keyframes, [_jpeg(sample.image) for sample in visual.keyframes])
        self._timed(stages, "thumbnails", t0)
        clip = self.models.clip()
        if clip is not None and pictures.keyframes:
            t0 = time.perf_counter()
            pictures.clip_vectors = _clip_vectors(clip, pictures.keyframes)
            self._timed(stages, "clip", t0)
        if pictures.keyframes:
            t0 = time.perf_counter()
            report(0.9)
            pictures.findings = tagging.frame_findings(
                path, _keyframe_inputs(pictures.keyframes), cancel,
                read_text=self.settings.read_screen_text, progress=lambda f: report(0.9 + 0.1 * f),
                identify=self.settings.people)
            self._timed(stages, "faces_text", t0)
        report(1.0)
        return pictures

    def _audio(self, path: Path, info: MediaInfo, stages: dict, report, cancel) -> AudioAnalysis:
        t0 = time.perf_counter()
        audio = decode_audio(path, work_folder(self.settings.data_dir), self.settings.audio_language, cancel)
        self._timed(stages, "audio", t0)
        try:
            result = AudioAnalysis(track=audio.track, duration=audio.duration, warning=audio.warning)
            if audio.samples == 0:
                result.note = "no audio decoded: nothing to transcribe"
            elif is_silent(audio):
                result.note = "audio is silent: nothing to transcribe"
            else:
                t0 = time.perf_counter()
                transcript = transcribe(audio, self.models.speech(), cancel=cancel,
                                        progress=lambda seconds: report(0.9 * min(1.0, seconds / audio.duration)))
                self._timed(stages, "asr", t0)
                result.language, result.segments = transcript.language, transcript.segments
                if not transcript.segments:
                    result.note = "no speech found"
                else:
                    t0 = time.perf_counter()
                    result.voice_priors = tagging.voice_priors(audio, _segment_inputs(transcript.segments))
                    self._timed(stages, "emotion", t0)
                    if self.settings.people:
                        t0 = time.perf_counter()
                        result.speakers = diarize(audio, [(seg.start, seg.end) for seg in transcript.segments])
                        self._timed(stages, "speakers", t0)
            if not info.has_video:
                t0 = time.perf_counter()
                result.cover = _jpeg(audio_thumbnail(path, audio))
                self._timed(stages, "thumbnails", t0)
        finally:
            audio.remove()
        report(1.0)
        return result

    def text_tracks(self, path: Path, info: MediaInfo, audio: AudioAnalysis, stages: dict) -> TextTracks:
        """The transcript tracks (speech, then each subtitle track) with their text vectors and emotions."""
        t0 = time.perf_counter()
        tracks = [TextTrack(SegmentSource.SPEECH, None, audio.language, audio.segments)] if audio.segments else []
        found, skipped = find_subtitles(path, fps=info.fps, cancel=self.cancel)
        tracks += [TextTrack(SegmentSource.SUBTITLES, sub, sub.language,
                              [Segment(c.start, c.end, c.text) for c in sub.cues]) for sub in found]
        self._timed(stages, "subtitles", t0)
        sentences = [seg.text for track in tracks for seg in track.segments]
        if sentences:
            t0 = time.perf_counter()
            vectors = self.models.text().encode(sentences)
            self._timed(stages, "text_embed", t0)
            at = 0
            for track in tracks:
                track.vectors = vectors[at:at + len(track.segments)]
                at += len(track.segments)
            # tags read the primary track only: speech where there is any, else the first subtitles
            t0 = time.perf_counter()
            tracks[0].emotions = tagging.text_emotions([seg.text for seg in tracks[0].segments], tracks[0].vectors,
                                                       self.models.text().version)
            self._timed(stages, "emotion", t0)
        return TextTracks(tracks, skipped)


def assemble_tags(video_id: int, info: MediaInfo, pictures: PictureAnalysis | None, audio: AudioAnalysis,
                  texts: TextTracks, clip, vocabulary) -> tagging.VideoTags:
    """The video's emotion and content tags from every signal: the primary transcript's words, the voice,
    faces and on-screen text in the keyframes, and CLIP's reading of them (`clip` None: the keyframes
    have no CLIP vectors)."""
    primary = texts.tracks[0] if texts.tracks else None
    segments = _segment_inputs(primary.segments) if primary else []
    speech = primary is not None and primary.source == SegmentSource.SPEECH
    keyframes = _keyframe_inputs(pictures.keyframes) if pictures else []
    clip_vectors = pictures.clip_vectors if pictures else None
    moods, content = tagging.clip_signals(clip, clip_vectors, vocabulary)
    return tagging.build_tags(
        video_id, video_duration(info, audio), segments,
        primary.emotions if primary is not None and primary.emotions is not None else np.zeros((0, 7)),
        audio.voice_priors if speech and audio.voice_priors else [None] * len(segments),
        [(shot.start, shot.end) for shot in pictures.shots] if pictures else [], keyframes,
        pictures.findings if pictures else None, moods, content)


def people_found(pictures: PictureAnalysis | None, audio: AudioAnalysis) -> PeopleFound | None:
    """The faces of every keyframe and the speech's speakers, as the catalog's people writer reads them;
    None when people were not looked for."""
    findings = pictures.findings if pictures is not None and pictures.findings else []
    looked = any(f.identities is not None for f in findings)
    if not looked and audio.speakers is None:
        return None
    faces = [FaceSeen(i, face.box, face.descriptor, crop)
             for i, f in enumerate(findings) for face, crop in (f.identities or [])]
    face_model = voice_model = None
    if faces:
        from models.face_identity import load_face_identity

        face_model = load_face_identity().version
    if audio.speakers is not None and audio.speakers.speakers:
        from models.voice_identity import voice_version

        voice_model = voice_version()
    return PeopleFound(faces=faces, face_model=face_model, speakers=audio.speakers, voice_model=voice_model)


def outcome_notes(info: MediaInfo, audio: AudioAnalysis, texts: TextTracks,
                  video_tags: tagging.VideoTags) -> list[str]:
    """What a person indexing the file should know: no picture, no speech, odd or skipped tracks."""
    subtitles = [t for t in texts.tracks if t.source == SegmentSource.SUBTITLES]
    return ["audio only: no video stream" if not info.has_video else "", audio.note,
            f"{len(subtitles)} subtitle track(s) read" if subtitles else "",
            f"audio track {audio.track.position} of {audio.track.count} heard "
            f"({audio.track.language or 'language not marked'}, {audio.track.chosen_because})"
            if audio.track is not None and audio.track.count > 1 else "",
            *warnings_for(info, audio, texts.skipped),
            "" if video_tags.signals else "no speech and no faces: tagged neutral, low confidence"]


def video_duration(info: MediaInfo, audio: AudioAnalysis) -> float:
    """The picture's length, or the sound's where it runs on past it (its transcript is kept)."""
    return max(info.duration or 0.0, audio.duration)


def warnings_for(info: MediaInfo, audio: AudioAnalysis, skipped_subtitles: list) -> list[str]:
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


def _keyframe_inputs(keyframes: list[FrameSample]) -> list[tagging.KeyframeInput]:
    return [tagging.KeyframeInput(k.time, k.shot_index, k.same_as) for k in keyframes]


def _clip_vectors(clip, keyframes: list[FrameSample]) -> np.ndarray:
    """One CLIP vector a keyframe; a keyframe repeating an earlier picture takes that one's, not another
    encoding (an hour of a still picture is hundreds of keyframes)."""
    distinct = [i for i, k in enumerate(keyframes) if k.same_as is None]
    vectors = np.concatenate([clip.encode_images([keyframes[i].image for i in distinct[at:at + CLIP_BATCH]])
                              for at in range(0, len(distinct), CLIP_BATCH)])
    row = {i: r for r, i in enumerate(distinct)}
    return vectors[[row[i if k.same_as is None else k.same_as] for i, k in enumerate(keyframes)]]


def _jpeg(image) -> bytes:
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_WIDTH))
    buf = io.BytesIO()
    thumb.save(buf, format="JPEG", quality=82, optimize=True)
    return buf.getvalue()
