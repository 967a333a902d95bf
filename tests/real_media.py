"""Recordings with known sentence times, built from the real speech clips in shared/real-media.

Tests and benches share this: a clip's reference text is known, and where the builder puts the clip
is known to the sample, so word times and completeness can be checked against real voices rather
than synthetic speech.

    entries = speech_clips(("en",))
    placed = build_recording(tmp / "talk.mp4", entries, gaps=1.5, place={3: 28.0})
    # placed[i].start/.end: where utterance i's speech starts and ends in talk.mp4

Times are those of the speech itself, not of the clip: each clip's leading and trailing silence is
measured (or taken from the manifest's segments) and trimmed, so `gaps` is the silence between
one sentence's last sound and the next one's first, and `place` puts the first sound at the time
given.
"""
from __future__ import annotations

import functools
import json
import math
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Sequence

import av
import numpy as np

from indexer.audio import decode_audio

ROOT = Path(__file__).resolve().parent.parent
REAL_MEDIA = Path(os.environ.get("REELSCOPE_REAL_MEDIA", ROOT.parent / "shared" / "real-media"))
SAMPLE_RATE = 16_000

# Speech span detection: 10 ms frames, power smoothed over 50 ms so a click or a breath is not a
# word, and the span is where it stays within 35 dB of the clip's loudest moment. Onsets and
# word-final fricatives of these clips sit between -20 and -35 dB; their noise floors at -40 or below.
FRAME_SECONDS = 0.01
SMOOTH_FRAMES = 5
SPEECH_BELOW_PEAK_DB = 35.0
# Kept around the speech when trimming: the quiet start of a consonant lies there, and the fade
# that avoids a click at the cut.
TRIM_MARGIN = 0.1
FADE_SECONDS = 0.01
# Silence is made and encoded one piece at a time, so an hour costs what a second costs.
CHUNK_SAMPLES = SAMPLE_RATE

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")
# suffix -> (audio codec, bit rate or None)
AUDIO_ONLY = {
    ".flac": ("flac", None),
    ".wav": ("pcm_s16le", None),
    ".m4a": ("aac", 48_000),
    ".mp3": ("libmp3lame", 48_000),
    ".ogg": ("libopus", 32_000),
    ".opus": ("libopus", 32_000),
}


@dataclass
class PlacedUtterance:
    start: float  # first sound of the utterance in the built file, seconds
    end: float  # its last sound; the file's very end when tail=0 and it comes last
    text: str  # the manifest's reference text
    language: str
    source: str  # manifest path


# --------------------------------------------------------------------------- the clips


def load_manifest() -> list[dict]:
    """Every entry of manifest.json (speech, speaker turns, face photos), as stored."""
    data = json.loads((REAL_MEDIA / "manifest.json").read_text(encoding="utf-8"))
    # The file holds {"name", "version", "note", "files": [...]}; accept a bare list too.
    return data["files"] if isinstance(data, dict) else data


def speech_clips(languages: Sequence[str] | None = ("en", "zh"), *, exchanges: bool = False) -> list[dict]:
    """Speech entries with reference text in `languages` (None: every language), manifest order.

    An entry whose reference lists several turns by different speakers (the AMI excerpt) is an
    exchange, not one utterance: left out unless `exchanges`, because its speech has a pause that
    is not a sentence gap and its first turn starts late in the clip.
    """
    clips = []
    for entry in load_manifest():
        reference = entry.get("reference") or {}
        if entry.get("kind") != "speech" or not reference.get("text"):
            continue
        if languages is not None and entry.get("language") not in languages:
            continue
        if not exchanges and len(reference.get("segments") or []) > 1:
            continue
        clips.append(entry)
    return clips


def read_clip(entry: dict) -> np.ndarray:
    """The clip's samples: float32, mono, 16 kHz (read-only: the array is shared by every caller)."""
    return _decoded(str(REAL_MEDIA / entry["path"]))


def read_audio(path: Path) -> np.ndarray:
    """Any file's audio as float32 mono 16 kHz, whole (for clips and checks, not hours), decoded as
    the indexer decodes it."""
    with tempfile.TemporaryDirectory(prefix="reelscope-clip-") as folder:
        audio = decode_audio(Path(path), Path(folder))
        try:
            return audio.read(0.0, audio.duration)
        finally:
            audio.remove()


@functools.lru_cache(maxsize=64)
def _decoded(path: str) -> np.ndarray:
    samples = read_audio(Path(path))
    samples.flags.writeable = False
    return samples


def speech_span(entry: dict) -> tuple[float, float]:
    """(first sound, last sound) of the clip's speech, seconds from the clip's start.

    The manifest's turn times where it has them (the AMI excerpt has crosstalk in its silence that
    an energy threshold would take for speech); else measured.
    """
    segments = (entry.get("reference") or {}).get("segments") or []
    if segments:
        return float(segments[0]["start"]), float(segments[-1]["end"])
    return _loud_span(read_clip(entry))


def _loud_span(samples: np.ndarray) -> tuple[float, float]:
    hop = round(FRAME_SECONDS * SAMPLE_RATE)
    n = len(samples) // hop
    if n == 0:
        return 0.0, len(samples) / SAMPLE_RATE
    power = (samples[: n * hop].astype(np.float64).reshape(n, hop) ** 2).mean(axis=1)
    smoothed = np.convolve(power, np.ones(SMOOTH_FRAMES) / SMOOTH_FRAMES, mode="same")
    level = 10 * np.log10(smoothed + 1e-12)
    loud = np.nonzero(level > level.max() - SPEECH_BELOW_PEAK_DB)[0]
    return loud[0] * FRAME_SECONDS, min((loud[-1] + 1) * FRAME_SECONDS, len(samples) / SAMPLE_RATE)


# --------------------------------------------------------------------------- building a recording


def across_boundary(entries: list[dict], *, boundary: float = 30.0, before: float = 2.0, lead: float = 1.0,
                    gap: float = 1.5) -> tuple[list[dict], dict[int, float]]:
    """An order of `entries` and a `place` for build_recording such that one utterance (the one
    nearest 3.5 s long, of those at least 2 s) starts `before` seconds ahead of `boundary` and runs
    across it, as many others as fit come ahead of it and the rest after it.

    Whisper hears 30 s windows: a sentence cut by a window's edge is where words go missing.
    """
    lengths = [speech_span(e)[1] - speech_span(e)[0] for e in entries]
    long_enough = [i for i, n in enumerate(lengths) if n >= 2.0] or list(range(len(entries)))
    straddler = min(long_enough, key=lambda i: abs(lengths[i] - 3.5))
    start = boundary - before
    ahead, after, t = [], [], lead
    for i in range(len(entries)):
        if i == straddler:
            continue
        if t + lengths[i] + gap <= start:
            ahead.append(i)
            t += lengths[i] + gap
        else:
            after.append(i)
    order = ahead + [straddler] + after
    return [entries[i] for i in order], {len(ahead): start}


@dataclass
class _Piece:
    at: int  # first sample in the file
    samples: np.ndarray


def build_recording(path: Path, entries: list[dict], *, gaps: float | list[float] = 1.5, lead: float = 1.0,
                    tail: float = 0.0, video: bool = True, total: float | None = None,
                    place: dict[int, float] | None = None, width: int = 160, height: int = 120,
                    fps: int = 1, trim: bool = True, sample_rate: int = SAMPLE_RATE,
                    channels: int = 1) -> list[PlacedUtterance]:
    """Write `entries`' clips one after another into `path`; returns where each one's speech lies.

    `lead`: silence before the first sound; `gaps`: silence between one utterance's last sound and
    the next one's first (one value, or one per pair); `place={i: seconds}`: utterance i's first
    sound at that time instead, silence filling up to it; `tail`: silence after the last sound
    (0: the file ends with it, a recording cut right after the last word); `total`: the file's
    length, silence filling the rest. `trim=False` keeps each clip's own silence and noise around
    its speech. `video`: an H.264 (else MPEG-4) picture that never changes, at `fps`, with AAC
    sound; else the audio-only format `path`'s suffix names. `sample_rate`/`channels`: the
    stored track's (the clips are 16 kHz mono; the encoder converts).
    """
    path = Path(path)
    place = place or {}
    gap_list = [float(gaps)] * max(len(entries) - 1, 0) if isinstance(gaps, (int, float)) else list(gaps)
    if len(gap_list) != max(len(entries) - 1, 0):
        raise ValueError(f"{len(entries)} utterances need {len(entries) - 1} gaps, got {len(gap_list)}")
    if set(place) - set(range(len(entries))):
        raise ValueError(f"place names utterances {sorted(set(place) - set(range(len(entries))))} "
                         f"of only {len(entries)}")
    if not video and path.suffix.lower() not in AUDIO_ONLY:
        raise ValueError(f"no audio-only format for {path.suffix!r}: use one of {', '.join(AUDIO_ONLY)}")
    if video and path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"a video needs one of {', '.join(VIDEO_SUFFIXES)}, not {path.suffix!r}")

    placed: list[PlacedUtterance] = []
    pieces: list[_Piece] = []
    end_sample = 0
    for i, entry in enumerate(entries):
        samples = read_clip(entry)
        onset, offset = (round(t * SAMPLE_RATE) for t in speech_span(entry))
        wanted = place.get(i, lead if i == 0 else placed[-1].end + gap_list[i - 1])
        start = round(wanted * SAMPLE_RATE)
        if placed and start < end_sample:
            raise ValueError(f"utterance {i} ({entry['path']}) would start at {start / SAMPLE_RATE:.3f} s, "
                             f"before utterance {i - 1} ends at {end_sample / SAMPLE_RATE:.3f} s")
        keep_from, keep_to = 0, len(samples)
        if trim:
            margin = round(TRIM_MARGIN * SAMPLE_RATE)
            keep_from, keep_to = max(onset - margin, 0), min(offset + margin, len(samples))
        kept = _faded(samples[keep_from:keep_to], fade_in=keep_from > 0, fade_out=keep_to < len(samples))
        pieces.append(_Piece(start - (onset - keep_from), kept))
        end_sample = start + (offset - onset)
        placed.append(PlacedUtterance(start / SAMPLE_RATE, end_sample / SAMPLE_RATE,
                                      entry["reference"]["text"], entry.get("language") or "", entry["path"]))

    n_samples = end_sample + round(tail * SAMPLE_RATE)
    if total is not None:
        if round(total * SAMPLE_RATE) < n_samples:
            raise ValueError(f"total {total} s is shorter than the utterances and tail ({n_samples / SAMPLE_RATE:.3f} s)")
        n_samples = round(total * SAMPLE_RATE)

    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _write(tmp, _chunks(pieces, n_samples), n_samples, video=video, width=width, height=height, fps=fps,
               sample_rate=sample_rate, channels=channels)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return placed


def _faded(samples: np.ndarray, fade_in: bool, fade_out: bool) -> np.ndarray:
    # A cut through a noise floor into digital silence clicks; a 10 ms ramp inside the margin does not.
    out = samples.astype(np.float32, copy=True)
    n = min(round(FADE_SECONDS * SAMPLE_RATE), len(out) // 2)
    ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n))).astype(np.float32)
    if fade_in and n:
        out[:n] *= ramp
    if fade_out and n:
        out[-n:] *= ramp[::-1]
    return out


def _chunks(pieces: list[_Piece], n_samples: int) -> Iterator[np.ndarray]:
    """The file's samples, CHUNK_SAMPLES at a time: silence with the clips added where they fall.
    A clip cut by the file's start or end simply loses what lies outside."""
    for chunk_start in range(0, n_samples, CHUNK_SAMPLES):
        chunk_end = min(chunk_start + CHUNK_SAMPLES, n_samples)
        chunk = np.zeros(chunk_end - chunk_start, dtype=np.float32)
        for piece in pieces:
            lo, hi = max(piece.at, chunk_start), min(piece.at + len(piece.samples), chunk_end)
            if lo < hi:
                chunk[lo - chunk_start:hi - chunk_start] += piece.samples[lo - piece.at:hi - piece.at]
        yield chunk


def _picture(width: int, height: int) -> np.ndarray:
    # A gradient with a block: something an encoder and a frame reader treat as a picture, not a
    # blank that some code paths might special-case.
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([(x * 255 // max(width - 1, 1)), (y * 255 // max(height - 1, 1)),
                    np.full_like(x, 96)], axis=-1).astype(np.uint8)
    rgb[height // 4: height // 2, width // 4: width // 2] = (230, 200, 40)
    return rgb


def _write(path: Path, chunks: Iterator[np.ndarray], n_samples: int, *, video: bool, width: int, height: int,
           fps: int, sample_rate: int, channels: int) -> None:
    suffix = path.suffix.lower()
    options = {"movflags": "+faststart"} if suffix in (".mp4", ".m4v", ".mov", ".m4a") else {}
    with av.open(str(path), "w", container_options=options) as container:
        codec, bit_rate = ("aac", 64_000) if video else AUDIO_ONLY[suffix]
        layout = "mono" if channels == 1 else "stereo"
        astream = container.add_stream(codec, rate=sample_rate, layout=layout)
        if bit_rate:
            astream.bit_rate = bit_rate
        if codec == "aac":
            # the default "twoloop" coder costs twice the time and buys nothing a test can hear
            astream.options = {"aac_coder": "fast"}
        vstream, frame, frames_total = None, None, 0
        if video:
            vstream, frame = _video_stream(container, width, height, fps)
            # one frame per 1/fps, the last one shortened so the video ends with the sound (the
            # indexer takes a file's length from its video stream)
            frames_total = max(math.ceil(n_samples * fps / SAMPLE_RATE), 1)
        frames_sent = 0
        written = 0
        for chunk in chunks:
            written += len(chunk)
            # pictures first, up to where this piece of sound ends: the muxer then sees both streams
            # in time order and holds nothing back
            while vstream is not None and frames_sent < frames_total and frames_sent * SAMPLE_RATE < written * fps:
                _mux_video(container, vstream, frame, frames_sent, frames_total, n_samples, fps)
                frames_sent += 1
            audio_frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
            audio_frame.sample_rate = SAMPLE_RATE
            audio_frame.pts = written - len(chunk)
            audio_frame.time_base = Fraction(1, SAMPLE_RATE)
            for packet in astream.encode(audio_frame):
                container.mux(packet)
        while vstream is not None and frames_sent < frames_total:
            _mux_video(container, vstream, frame, frames_sent, frames_total, n_samples, fps)
            frames_sent += 1
        for packet in astream.encode(None):
            container.mux(packet)
        if vstream is not None:
            _mux_video(container, vstream, None, frames_total, frames_total, n_samples, fps)


def _video_stream(container, width: int, height: int, fps: int):
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    stream = container.add_stream(codec, rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    # milliseconds, so the last frame can be shorter than the others
    stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
    stream.codec_context.gop_size = 10 * fps  # a keyframe every 10 s: seeking stays cheap
    if codec == "libx264":
        stream.options = {"preset": "ultrafast", "tune": "stillimage"}
    else:
        stream.bit_rate = 50_000
    frame = av.VideoFrame.from_ndarray(_picture(width, height), format="rgb24").reformat(format="yuv420p")
    frame.time_base = stream.time_base
    return stream, frame


def _mux_video(container, stream, frame, index: int, frames_total: int, n_samples: int, fps: int) -> None:
    """Encode picture `index` (None: flush), muxing what comes out; the last picture lasts only to
    the end of the sound."""
    end = Fraction(n_samples, SAMPLE_RATE)
    if frame is not None:
        frame.pts = round(index * 1000 / fps)
    for packet in stream.encode(frame):
        # the encoder may hand packets back in its own time base, not the stream's
        tb = packet.time_base
        start = (packet.pts or 0) * tb
        packet.duration = max(round(min(Fraction(1, fps), end - start) / tb), 1)
        container.mux(packet)


# --------------------------------------------------------------------------- scoring text

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_HAN_CHAR = re.compile(f"[{_HAN}]")
_APOSTROPHES = "'\u2019\u02bc`"


def reference_words(text: str, language: str) -> list[str]:
    """Tokens to score: lower case, no punctuation, numbers as words. Chinese and Japanese: one
    token per Han character, other runs as words.

    The references spell numbers out ("IN EIGHTEEN THIRTEEN"); Whisper writes digits ("In 1813").
    In English, digits become the words a reader says (years in pairs, ordinals, decimals), else
    every such number would count as a missing word. Other languages keep digits as written.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    if language == "en":
        text = _ENGLISH_NUMBER.sub(lambda m: f" {' '.join(_english_number(m))} ", text)
    # "I'M" and "c'est" stay one word either way they are typed
    text = "".join("" if ch in _APOSTROPHES else ch for ch in text)
    # every other punctuation mark or symbol separates words (hyphens included: "there-under")
    text = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)
    if language in ("zh", "yue"):
        # the references are simplified; Whisper often writes the same words in traditional characters
        text = _simplified(text)
    if language in ("zh", "ja", "yue"):
        text = _HAN_CHAR.sub(lambda m: f" {m.group(0)} ", text)
    return text.split()


@functools.lru_cache(maxsize=1)
def _to_simplified():
    import opencc

    return opencc.OpenCC("t2s")


def _simplified(text: str) -> str:
    return _to_simplified().convert(text)


_ENGLISH_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(st|nd|rd|th)?(\s*%)?")
_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
            "nine": "ninth", "twelve": "twelfth"}


def _english_number(match: re.Match) -> list[str]:
    digits, decimals, ordinal, percent = match.groups()
    n = int(digits.replace(",", ""))
    if len(digits) == 4 and not (decimals or ordinal or percent) and (1100 <= n <= 1999 or 2010 <= n <= 2099):
        # a year, said in pairs: "eighteen thirteen", "nineteen hundred", "twenty twenty"
        words = _cardinal(n // 100) + (["hundred"] if n % 100 == 0 else
                                       ["oh", *_cardinal(n % 100)] if n % 100 < 10 else _cardinal(n % 100))
    else:
        words = _cardinal(n)
    if decimals:
        words += ["point", *(_ONES[int(d)] for d in decimals[1:])]
    if ordinal:
        last = words[-1]
        words[-1] = _ORDINAL.get(last) or (last[:-1] + "ieth" if last.endswith("y") else last + "th")
    if percent:
        words.append("percent")
    return words


def _cardinal(n: int) -> list[str]:
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        return [_ONES[n // 100], "hundred"] + (_cardinal(n % 100) if n % 100 else [])
    for scale, name in _SCALES:
        if n >= scale:
            return _cardinal(n // scale) + [name] + (_cardinal(n % scale) if n % scale else [])
    return [str(n)]


def word_error_rate(ref_tokens: Sequence[str], hyp_tokens: Sequence[str]) -> tuple[int, int, int]:
    """(errors, reference length, deletions) of the Levenshtein alignment: errors = substitutions +
    deletions + insertions; deletions alone are the reference words the hypothesis lacks."""
    n, m = len(ref_tokens), len(hyp_tokens)
    cost = np.zeros((n + 1, m + 1), dtype=np.int32)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            same = ref_tokens[i - 1] == hyp_tokens[j - 1]
            cost[i, j] = min(cost[i - 1, j - 1] + (0 if same else 1), cost[i - 1, j] + 1, cost[i, j - 1] + 1)
    # walk back one optimal alignment, preferring a substitution to a deletion plus an insertion
    deletions, i, j = 0, n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i, j] == cost[i - 1, j - 1] + (ref_tokens[i - 1] != hyp_tokens[j - 1]):
            i, j = i - 1, j - 1
        elif i > 0 and cost[i, j] == cost[i - 1, j] + 1:
            deletions += 1
            i -= 1
        else:
            j -= 1
    return int(cost[n, m]), n, deletions
