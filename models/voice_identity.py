"""Whose voice: resemblyzer's GE2E voice encoder, 16 kHz audio in, 256-d unit vectors out.

Same voice: cosine 0.92-0.95 between utterances; different voices 0.59-0.62 (models.md). Windows of
1.6 s (the encoder's own partial length) are what diarization compares: shorter ones say little
about who speaks.

The encoder's input is a plain (not log) mel spectrogram, so loudness goes straight into it; each
window is brought to the level the model was trained at (-30 dBFS, as resemblyzer.preprocess_wav
does for a whole utterance). Silence is not trimmed here (preprocess_wav's webrtcvad trimming moves
times): callers pass speech, and windows keep their place in the recording.

    encoder = load_voice_encoder()
    starts, vectors = encoder.embed_windows(samples, hop=0.4)   # starts in seconds from samples[0]
    vectors = encoder.embed_clips([clip_a, clip_b])             # one vector per clip
"""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from .cache import once
from .device import choose_device

SAMPLE_RATE = 16_000
DIM = 256
WINDOW_SECONDS = 1.6  # 160 mel frames of 10 ms: resemblyzer's partial utterance
FRAME_SAMPLES = 160  # 10 ms mel hop
WINDOW_FRAMES = 160
TARGET_DBFS = -30.0  # resemblyzer's audio_norm_target_dBFS
# A window quieter than this (dBFS) is not brought up to TARGET_DBFS all the way: its noise would
# be made as loud as speech.
MAX_GAIN_DB = 40.0
BATCH = 64  # windows per forward pass: 64 x 160 x 40 floats in, bounded memory
MIN_CLIP_SECONDS = 0.2  # shorter clips give no vector (NaN row)
SILENT_DBFS = -60.0  # a window quieter than this holds no voice: its row is NaN


class VoiceModelMissing(RuntimeError):
    """resemblyzer (or its weights) is not installed: speaker turns and voice grouping are off."""


def _package():
    try:
        import resemblyzer  # noqa: F401
        from resemblyzer import audio as rz_audio
        from resemblyzer.voice_encoder import VoiceEncoder as RzEncoder
    except ImportError as exc:  # also librosa / webrtcvad missing beneath it
        raise VoiceModelMissing(
            f"voice encoder unavailable: {exc}; install `resemblyzer==0.1.4 --no-deps` with librosa "
            f"and webrtcvad-wheels") from exc
    weights = Path(resemblyzer.__file__).resolve().parent / "pretrained.pt"
    if not weights.exists():
        raise VoiceModelMissing(f"voice encoder weights missing: {weights}")
    return rz_audio, RzEncoder, weights


def voice_version() -> str:
    """'resemblyzer-ge2e@' + 12 hex of the sha1 of pretrained.pt: written beside stored voices."""
    _, _, weights = _package()
    return _weights_version(str(weights))


_versions: dict[str, str] = {}


def _weights_version(path: str) -> str:
    if path not in _versions:
        digest = hashlib.sha1(Path(path).read_bytes()).hexdigest()
        _versions[path] = "resemblyzer-ge2e@" + digest[:12]
    return _versions[path]


class VoiceEncoder:
    def __init__(self, device: str):
        rz_audio, RzEncoder, weights = _package()
        import torch

        self._torch = torch
        self._mel = rz_audio.wav_to_mel_spectrogram
        self.device = device
        self._model = RzEncoder(device=device, verbose=False, weights_fpath=weights)
        self._model.eval()
        self.version = _weights_version(str(weights))
        self._lock = threading.Lock()  # one forward pass at a time (torch modules are not re-entrant safe)
        # the first mel spectrogram and forward pass cost ~2.5 s (librosa's and torch's first-call set-up):
        # paid here, with the load, not by the first video's speech
        self.embed_windows(np.random.default_rng(0).normal(0, 0.1, 2 * SAMPLE_RATE).astype(np.float32))

    # ------------------------------------------------------------------ embedding

    def _forward(self, mels: np.ndarray) -> np.ndarray:
        torch = self._torch
        with self._lock, torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(mels, dtype=np.float32)).to(self._model.device)
            return self._model(x).cpu().numpy().astype(np.float32)

    def embed_windows(self, samples: np.ndarray, hop: float = 0.4,
                      window: float = WINDOW_SECONDS) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of `window`-second windows every `hop` seconds over `samples` (float32, 16 kHz).

        Returns (starts, vectors): starts in seconds from samples[0] (n,), vectors (n, 256) unit
        rows. The last window ends at the end of `samples`; a clip shorter than `window` is one
        window of its own length; under MIN_CLIP_SECONDS gives none. A window quieter than
        SILENT_DBFS (no voice in it) has a row of NaN.
        """
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        if x.size < MIN_CLIP_SECONDS * SAMPLE_RATE:
            return np.zeros(0), np.zeros((0, DIM), np.float32)
        win = max(1, int(round(window * SAMPLE_RATE / FRAME_SAMPLES)))
        step = max(1, int(round(hop * SAMPLE_RATE / FRAME_SAMPLES)))
        mel = self._mel(x)  # (frames, 40), power
        n_frames = mel.shape[0]
        if n_frames <= win:
            return np.zeros(1), self._embed_mels([(mel, x)])
        starts = list(range(0, n_frames - win + 1, step))
        if starts[-1] + win < n_frames:
            starts.append(n_frames - win)
        # frame-level power for per-window gain: mean square of the samples in each window
        sq = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
        out = np.zeros((len(starts), DIM), np.float32)
        for b in range(0, len(starts), BATCH):
            chunk = starts[b:b + BATCH]
            mels = np.stack([mel[s:s + win] for s in chunk])
            levels = []
            for s in chunk:
                a, e = s * FRAME_SAMPLES, min(x.size, (s + win) * FRAME_SAMPLES)
                levels.append(float((sq[e] - sq[a]) / max(1, e - a)))
            mels = mels * np.asarray([_gain(v) for v in levels], np.float32)[:, None, None]
            out[b:b + len(chunk)] = self._forward(mels)
            silent = 10 * np.log10(np.asarray(levels) + 1e-12) < SILENT_DBFS
            out[b:b + len(chunk)][silent] = np.nan
        return np.asarray(starts, dtype=np.float64) * FRAME_SAMPLES / SAMPLE_RATE, out

    def _embed_mels(self, items: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        out = []
        for mel, x in items:
            level = float(np.mean(x.astype(np.float64) ** 2))
            if 10 * np.log10(level + 1e-12) < SILENT_DBFS:
                out.append(np.full(DIM, np.nan, np.float32))
                continue
            out.append(self._forward((mel * _gain(level))[None])[0])
        return np.stack(out)

    def embed_clips(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        """One unit vector per clip: the normalised mean of its 1.6 s windows (hop 0.8 s).
        A clip under MIN_CLIP_SECONDS gives a row of NaN."""
        rows = []
        for clip in clips:
            _, vectors = self.embed_windows(clip, hop=0.8)
            vectors = vectors[~np.isnan(vectors).any(axis=1)]
            if len(vectors) == 0:
                rows.append(np.full(DIM, np.nan, np.float32))
                continue
            mean = vectors.mean(axis=0)
            rows.append((mean / max(np.linalg.norm(mean), 1e-12)).astype(np.float32))
        return np.stack(rows) if rows else np.zeros((0, DIM), np.float32)


def _gain(mean_square: float) -> float:
    """Factor on mel power that brings a window of this mean square to TARGET_DBFS (power gain)."""
    level_db = 10 * np.log10(mean_square + 1e-12)
    gain_db = min(TARGET_DBFS - level_db, MAX_GAIN_DB)
    return float(10 ** (gain_db / 10))


def load_voice_encoder(device: str = "auto") -> VoiceEncoder:
    """The voice encoder, loaded once per process (CUDA when models/device.py picks it).
    Raises VoiceModelMissing when resemblyzer is not installed."""
    _package()
    dev = choose_device(device)
    return once(("voice", "resemblyzer-ge2e", dev), lambda: VoiceEncoder(dev))
