"""The audio track as 16 kHz mono float32, the form Whisper listens to."""
from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np

from .errors import Cancelled, MediaError

SAMPLE_RATE = 16_000


def load_audio(path: Path, cancel: threading.Event | None = None) -> np.ndarray:
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise MediaError(f"cannot open audio: {exc}") from None
    with container:
        if not container.streams.audio:
            return np.zeros(0, dtype=np.float32)
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.error.EOFError:
            pass
        except av.error.FFmpegError as exc:
            reached = sum(c.size for c in chunks) / SAMPLE_RATE
            raise MediaError(f"audio is truncated or corrupt: decoding stopped at {reached:.1f} s "
                             f"({exc.strerror})") from None
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def is_silent(audio: np.ndarray, threshold_db: float = -50.0) -> bool:
    """True when nothing in the track is louder than faint noise (saves running ASR on silence)."""
    if audio.size == 0:
        return True
    window = SAMPLE_RATE // 10
    usable = audio[: audio.size - audio.size % window] if audio.size >= window else audio
    frames = usable.reshape(-1, min(window, usable.size))
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    return bool(20 * np.log10(rms.max() + 1e-12) < threshold_db)
