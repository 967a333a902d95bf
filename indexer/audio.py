"""The sound of a media file as 16 kHz mono, the form Whisper and the voice features listen to.

A 3-hour track is 690 MB as float32, so it is never held whole: it is decoded once, in order, into a
16-bit PCM file in the data dir's work folder (not /tmp, often RAM), and every later stage reads the
stretch it needs from there. Which audio track is heard, and what was kept from a damaged one, is
part of the result.
"""
from __future__ import annotations

import os
import threading
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from .errors import Cancelled, MediaError
from .languages import language_code

SAMPLE_RATE = 16_000
# Later stages read at most this much at once (19 MB as float32): what bounds their memory.
PIECE_SECONDS = 300.0
# Nothing louder than faint noise (dBFS) anywhere: no point running speech recognition.
SILENCE_DB = -50.0
# Within a track, 100 ms windows quieter than this (dBFS) hold no speech worth finding: voice activity
# detection runs only around louder ones. 10 dB under SILENCE_DB, so that quiet speech in a loud
# recording still reaches it; an hour of digital or near silence then costs one RMS pass.
AUDIBLE_DB = -60.0
AUDIBLE_JOIN_WINDOWS = 20   # louder windows up to 2 s apart are one stretch...
AUDIBLE_PAD_WINDOWS = 5     # ...padded by 0.5 s each side (speech fades in and out below the bar)

@dataclass
class AudioTrack:
    """The audio stream that was listened to, and why that one."""
    index: int  # the stream's index in the container
    position: int  # 1-based among the file's audio streams, as players number them
    count: int  # how many audio streams the file has
    language: str | None
    codec: str | None
    channels: int | None
    sample_rate: int | None
    chosen_because: str  # "default-flagged" | "language" | "first" | "only"

    def as_dict(self) -> dict:
        return asdict(self)


def choose_audio_track(streams, preferred_language: str | None = None) -> AudioTrack | None:
    """The default-flagged stream, else the one in `preferred_language`, else the first."""
    streams = list(streams)
    if not streams:
        return None
    preferred = language_code(preferred_language)

    def describe(position: int, reason: str) -> AudioTrack:
        stream = streams[position]
        cc = stream.codec_context
        return AudioTrack(index=stream.index, position=position + 1, count=len(streams),
                          language=language_code(stream.metadata.get("language")),
                          codec=cc.name if cc is not None else None, channels=getattr(cc, "channels", None),
                          sample_rate=getattr(cc, "sample_rate", None) or None, chosen_because=reason)

    if len(streams) == 1:
        return describe(0, "only")
    flagged = [i for i, s in enumerate(streams) if s.disposition & av.stream.Disposition.default]
    # muxers flag the first stream default on their own; a flag only chooses when it singles one out
    if len(flagged) == 1:
        return describe(flagged[0], "default-flagged")
    if preferred:
        for i, s in enumerate(streams):
            if language_code(s.metadata.get("language")) == preferred:
                return describe(i, "language")
    return describe(0, "first")


class ArrayAudio:
    """Audio already in memory (tests, short clips) behind the same reads as DecodedAudio."""

    def __init__(self, samples: np.ndarray):
        self.samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self.duration = self.samples.size / SAMPLE_RATE

    def read(self, start: float, end: float) -> np.ndarray:
        a, b = _sample_range(start, end, self.samples.size)
        return self.samples[a:b]

    def pieces(self, seconds: float = PIECE_SECONDS) -> Iterator[tuple[float, np.ndarray]]:
        yield from _pieces(self, seconds)


@dataclass
class DecodedAudio:
    """A decoded track on disk: int16 PCM, 16 kHz mono. Delete with `remove()` when done."""
    path: Path | None
    samples: int
    track: AudioTrack | None
    warning: str = ""

    @property
    def duration(self) -> float:
        return self.samples / SAMPLE_RATE

    def read(self, start: float, end: float) -> np.ndarray:
        """float32 samples of [start, end) seconds, clipped to the track."""
        a, b = _sample_range(start, end, self.samples)
        if b <= a or self.path is None:
            return np.zeros(0, dtype=np.float32)
        pcm = np.fromfile(self.path, dtype=np.int16, count=b - a, offset=2 * a)
        return pcm.astype(np.float32) / 32768.0

    def pieces(self, seconds: float = PIECE_SECONDS) -> Iterator[tuple[float, np.ndarray]]:
        """(start time, samples) of consecutive pieces of at most `seconds`."""
        yield from _pieces(self, seconds)

    def remove(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _sample_range(start: float, end: float, total: int) -> tuple[int, int]:
    return max(0, int(round(start * SAMPLE_RATE))), min(total, int(round(end * SAMPLE_RATE)))


def _pieces(audio, seconds: float):
    t = 0.0
    while t < audio.duration:
        yield t, audio.read(t, t + seconds)
        t += seconds


def is_silent(audio, threshold_db: float = SILENCE_DB) -> bool:
    """True when nothing in the track is louder than faint noise (saves running ASR on silence)."""
    window = SAMPLE_RATE // 10
    loudest = 0.0
    for _, x in audio.pieces():
        usable = x[: x.size - x.size % window] if x.size >= window else x
        if usable.size == 0:
            continue
        frames = usable.reshape(-1, min(window, usable.size))
        loudest = max(loudest, float(np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)).max()))
    return bool(20 * np.log10(loudest + 1e-12) < threshold_db)


def audible_spans(x: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) sample ranges of `x` (16 kHz) around every 100 ms window louder than AUDIBLE_DB."""
    window = SAMPLE_RATE // 10
    n = -(-x.size // window)
    if n == 0:
        return []
    padded = np.zeros(n * window, np.float32)
    padded[:x.size] = x
    db = 10 * np.log10(np.mean(padded.reshape(n, window).astype(np.float64) ** 2, axis=1) + 1e-20)
    loud = np.flatnonzero(db > AUDIBLE_DB)
    if not len(loud):
        return []
    breaks = np.flatnonzero(np.diff(loud) > AUDIBLE_JOIN_WINDOWS)
    firsts, lasts = np.concatenate([loud[:1], loud[breaks + 1]]), np.concatenate([loud[breaks], loud[-1:]])
    return [(max(0, int(a - AUDIBLE_PAD_WINDOWS) * window), min(x.size, int(b + 1 + AUDIBLE_PAD_WINDOWS) * window))
            for a, b in zip(firsts, lasts)]


def work_folder(data_dir: Path) -> Path:
    """Where decoded tracks are written; files left by a process that died are removed here."""
    folder = Path(data_dir) / "work"
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("audio-*.pcm"):
        pid = leftover.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _declared_seconds(container, stream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return container.duration / av.time_base if container.duration else None


def decode_audio(path: Path, folder: Path, preferred_language: str | None = None,
                 cancel: threading.Event | None = None) -> DecodedAudio:
    """Decode the chosen audio track into a PCM file in `folder`.

    A track that breaks part-way keeps what came before, with a warning; one that cannot be
    decoded at all gives an empty track with a warning. Neither is an error: the picture, and
    any subtitles, are still worth indexing.
    """
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot open audio: {exc}") from None
    target = Path(folder) / f"audio-{os.getpid()}-{uuid.uuid4().hex[:8]}.pcm"
    with container:
        track = choose_audio_track(container.streams.audio, preferred_language)
        if track is None:
            return DecodedAudio(None, 0, None)
        stream = next(s for s in container.streams.audio if s.index == track.index)
        stream.thread_type = "AUTO"
        # FFmpeg's downmix keeps every channel's voice (5.1's centre channel included)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        written, warning = 0, ""
        with open(target, "wb") as out:
            def write(frames) -> int:
                n = 0
                for frame in frames:
                    pcm = frame.to_ndarray().reshape(-1)
                    out.write(pcm.tobytes())
                    n += pcm.size
                return n
            try:
                for packet in container.demux(stream):
                    if cancel is not None and cancel.is_set():
                        raise Cancelled()
                    for frame in packet.decode():
                        written += write(resampler.resample(frame))
                written += write(resampler.resample(None))
            except av.error.EOFError:
                pass
            except (av.error.FFmpegError, ValueError) as exc:
                reason = getattr(exc, "strerror", None) or str(exc)
                warning = (f"audio stops decoding at {written / SAMPLE_RATE:.1f} s ({reason}): kept what came before"
                           if written else f"audio track cannot be decoded ({reason}): indexed without sound")
            except BaseException:
                out.close()
                target.unlink(missing_ok=True)
                raise
        declared = _declared_seconds(container, stream)
        if not warning and written and declared and written / SAMPLE_RATE < declared - 1.0:
            warning = (f"audio stops at {written / SAMPLE_RATE:.1f} s of the {declared:.1f} s declared "
                       f"(truncated?): kept what came before")
    if written == 0:
        target.unlink(missing_ok=True)
        return DecodedAudio(None, 0, track, warning)
    return DecodedAudio(target, written, track, warning)
