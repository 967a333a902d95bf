"""Speech with known words and times, from espeak-ng: the sample media's voice.

Everything is deterministic for a given espeak-ng build, so the times returned can be asserted on.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import shutil
import subprocess
import wave
from dataclasses import dataclass
from typing import Iterable

import numpy as np

SPEECH_RATE = 16_000  # what speak() returns: the rate speech models expect
AUDIO_RATE = 48_000  # what goes into the files, as most real footage has

# Real "silence" is never all zeros; about -80 dBFS keeps it inaudible while
# making sure nothing downstream special-cases digital zero.
_NOISE_FLOOR = 1e-4



@dataclass(frozen=True)
class Utterance:
    """Text spoken starting at `start` seconds; `end` is filled in by make_video."""

    start: float
    text: str
    end: float = 0.0



def speak(text: str, voice: str = "en-us", speed: int = 160, pitch: int = 50) -> np.ndarray:
    """Speech for `text` as float32 mono at 16 kHz in [-1, 1], silence trimmed."""
    return _speech(text, voice, speed, pitch, SPEECH_RATE).copy()


@functools.lru_cache(maxsize=512)
def _speech(text: str, voice: str, speed: int, pitch: int, rate: int) -> np.ndarray:
    # Cached because the talk video cycles a few dozen sentences hundreds of
    # times and planning needs each length before rendering; read-only so a
    # caller cannot corrupt the cache.
    samples, source_rate = _espeak(text, voice, speed, pitch)
    loud = np.flatnonzero(np.abs(samples) > 0.02 * np.abs(samples).max())
    if loud.size == 0:
        raise RuntimeError(f"espeak-ng produced no audible speech for {text!r}")
    # espeak-ng pads ~0.35 s of silence after the speech; trimming it makes
    # Utterance.end the end of the voice, not of the padding.
    pad = source_rate // 100
    samples = samples[max(loud[0] - pad, 0) : loud[-1] + pad]
    samples = _resample(samples, source_rate, rate)
    samples *= 0.8 / max(float(np.abs(samples).max()), 1e-9)  # same loudness for every voice
    out = np.clip(samples, -1.0, 1.0).astype(np.float32)
    out.setflags(write=False)
    return out


def _espeak(text: str, voice: str, speed: int, pitch: int) -> tuple[np.ndarray, int]:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError(
            "espeak-ng is not installed; it is needed to synthesise speech "
            "(Debian/Ubuntu: apt-get install espeak-ng, macOS: brew install espeak-ng)"
        )
    # Text goes through stdin so that text starting with '-' is not read as an option.
    text = " ".join(text.split())
    proc = subprocess.run(
        [exe, "-v", voice, "-s", str(int(speed)), "-p", str(int(pitch)), "-b", "1", "--stdout", "--stdin"],
        input=text.encode("utf-8"),
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0 or len(proc.stdout) <= 44:
        err = proc.stderr.decode("utf-8", "replace").strip() or f"exit status {proc.returncode}"
        raise RuntimeError(f"espeak-ng failed for voice {voice!r}: {err}")
    # Writing to a pipe, espeak-ng cannot seek back to fix the header, so the
    # frame count in it is bogus (~2**30); readframes() stops at the real end.
    with wave.open(io.BytesIO(proc.stdout)) as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise RuntimeError("unexpected WAV format from espeak-ng")
        rate = wav.getframerate()
        data = wav.readframes(wav.getnframes())
    return np.frombuffer(data, "<i2").astype(np.float32) / 32768.0, rate


def _resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    # An FFT resample is exact band-limiting and cheap for a few seconds of
    # audio, and avoids importing scipy.signal (about half a second).
    if src == dst:
        return x.astype(np.float32)
    n_out = max(1, round(len(x) * dst / src))
    spectrum = np.fft.rfft(x.astype(np.float64))
    keep = min(len(spectrum), n_out // 2 + 1)
    out = np.fft.irfft(spectrum[:keep], n_out) * (n_out / len(x))
    return out.astype(np.float32)


def speech_track(
    utterances: Iterable[Utterance], seconds: float, rate: int = AUDIO_RATE, voice: str = "en-us"
) -> tuple[np.ndarray, list[Utterance]]:
    """A mono float32 track of `seconds` with each utterance spoken at its start.

    Returns the track and the utterances (sorted by start) with real end times.
    Raises ValueError when utterances overlap or one runs past the end.
    """
    n = round(seconds * rate)
    rng = np.random.default_rng(1234)
    track = (rng.standard_normal(n) * _NOISE_FLOOR).astype(np.float32)
    placed: list[Utterance] = []
    for u in sorted(utterances, key=lambda u: u.start):
        if u.start < 0:
            raise ValueError(f"utterance starts before 0 s: {u.text!r}")
        if placed and u.start < placed[-1].end:
            raise ValueError(
                f"utterance {u.text!r} at {u.start:.2f} s overlaps {placed[-1].text!r}, "
                f"which is spoken until {placed[-1].end:.2f} s"
            )
        clip = _speech(u.text, voice, 160, 50, rate)
        end = u.start + len(clip) / rate
        if end > seconds + 1e-6:
            raise ValueError(
                f"utterance {u.text!r} runs until {end:.2f} s, past the end ({seconds:.2f} s)"
            )
        first = round(u.start * rate)
        clip = clip[: n - first]
        track[first : first + len(clip)] += clip
        placed.append(dataclasses.replace(u, end=end))
    return track, placed



def speech_seconds(text: str, voice: str = "en-us") -> float:
    """How long `text` takes to say: what planning a timeline of utterances needs."""
    return len(_speech(text, voice, 160, 50, AUDIO_RATE)) / AUDIO_RATE
