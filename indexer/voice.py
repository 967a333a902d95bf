"""How aroused a voice sounds, relative to the same speaker: a tilt between excited and subdued emotions.

Words alone often cannot tell anger from sadness ("I can't believe you did that"); the voice can.
Loud, high, wide-ranging, fast speech goes with high arousal (anger, fear, surprise, joy); quiet,
low, flat, slow speech with low arousal (sadness, a calm neutral). Voices differ far more between
people than between one person's moods, so every cue is measured against the video's own
baseline (its speaker's typical level), never against a fixed norm.

The result is a multiplicative prior: all ones where the span sounds like the speaker's norm or
cannot be measured (silence, too little voice), at most about 2x up or down for one label at the
extremes. Multiply it into an emotion distribution and renormalise.

Everything is plain numpy on the 16 kHz mono float32 track indexer/audio.py decodes.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from models.emotions import EMOTIONS

SAMPLE_RATE = 16_000
HOP = 160  # 10 ms
WINDOW = 480  # 30 ms: YIN's integration window must hold the longest period tracked (50 Hz = 320)
MIN_PITCH, MAX_PITCH = 60.0, 500.0  # adult and child speech, low male voice to shouted soprano
# YIN's aperiodicity threshold (de Cheveigne & Kawahara 2002 use 0.1-0.15): below it a frame is voiced
YIN_THRESHOLD = 0.15
# A frame is "active" (speech, not the pause between words) when within 35 dB of the span's loudest
# frame and above -55 dBFS; the loudest frame sets the bar so that level changes don't.
ACTIVE_BELOW_PEAK_DB = 35.0
SILENCE_DB = -55.0
# Fewer voiced frames than this (0.2 s) and pitch statistics are noise.
MIN_VOICED_FRAMES = 20

# Where each emotion sits on the arousal axis (Russell's circumplex, coarsely): the prior moves
# probability along it. Disgust sits in the middle and is left alone.
AROUSAL = {"joy": 0.6, "sadness": -1.0, "anger": 1.0, "fear": 0.8, "surprise": 0.8, "disgust": 0.0,
           "neutral": -0.5}
_AROUSAL = np.array([AROUSAL[e] for e in EMOTIONS])
# Prior = exp(STRENGTH * arousal * position): at the extreme (arousal = +-1) anger and sadness move
# by e^0.7 = 2x each way, a 4x swing between them. A tilt, not a vote: clear words still win.
STRENGTH = 0.7
# How much each cue counts towards arousal; loudness and pitch are the most reliable in the
# literature (Scherer 2003; Juslin & Laukka 2003), range and rate add less.
CUE_WEIGHTS = {"energy_db": 0.3, "pitch_st": 0.3, "pitch_range_st": 0.2, "speaking_rate": 0.2}
# Smallest spread assumed per cue, so a speaker who is very steady in one video does not turn
# a tiny difference into a big z-score: 3 dB, 1.5 semitones, 2 semitones of range, 0.4 words/s.
MIN_SPREAD = {"energy_db": 3.0, "pitch_st": 1.5, "pitch_range_st": 2.0, "speaking_rate": 0.4}
# z-scores are clipped here, then mapped to [-1, 1]: one shouted word is not infinitely angry
Z_CLIP = 2.5
# A span with less voice than this counts in proportion (half a second of voice, half the tilt).
FULL_VOICE_SECONDS = 1.0


def _frames(x: np.ndarray, length: int) -> np.ndarray:
    if x.size < length:
        return np.zeros((0, length), dtype=np.float32)
    count = 1 + (x.size - length) // HOP
    return np.lib.stride_tricks.as_strided(x, shape=(count, length), strides=(x.strides[0] * HOP, x.strides[0]))


def pitch_track(x: np.ndarray, active: np.ndarray | None = None) -> np.ndarray:
    """Per 10 ms frame, the fundamental frequency in Hz (YIN), or 0 where unvoiced."""
    min_lag = int(SAMPLE_RATE / MAX_PITCH)
    max_lag = int(SAMPLE_RATE / MIN_PITCH)
    frames = _frames(np.ascontiguousarray(x, dtype=np.float32), WINDOW + max_lag).astype(np.float64)
    if not len(frames):
        return np.zeros(0)
    # YIN's difference d(tau) = sum_j (x_j - x_{j+tau})^2 over the window, as energy terms minus
    # twice the cross-correlation, the latter by FFT for all lags at once
    n = frames.shape[1]
    nfft = 1 << int(np.ceil(np.log2(n + WINDOW)))
    spectrum = np.fft.rfft(frames, nfft)
    head = np.fft.rfft(frames[:, :WINDOW], nfft)
    cross = np.fft.irfft(spectrum * np.conj(head), nfft)[:, :max_lag + 1]
    squares = np.cumsum(np.concatenate([np.zeros((len(frames), 1)), frames ** 2], axis=1), axis=1)
    lags = np.arange(max_lag + 1)
    energy_at = squares[:, lags + WINDOW] - squares[:, lags]
    diff = np.maximum(energy_at[:, :1] + energy_at - 2 * cross, 0.0)
    # cumulative mean normalised difference: 1 at lag 0, dips towards 0 at the period
    running = np.cumsum(diff[:, 1:], axis=1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] * lags[1:] / np.maximum(running, 1e-12)
    search = cmnd[:, min_lag:max_lag + 1]
    below = search < YIN_THRESHOLD
    has = below.any(axis=1)
    first = np.argmax(below, axis=1)
    f0 = np.zeros(len(frames))
    for i in np.flatnonzero(has):
        # from the first dip under the threshold, walk down to its bottom (the period, not a
        # shoulder of it), then refine between samples with a parabola
        k = first[i]
        while k + 1 < search.shape[1] and search[i, k + 1] < search[i, k]:
            k += 1
        tau = float(k + min_lag)
        if 0 < k < search.shape[1] - 1:
            a, b, c = search[i, k - 1], search[i, k], search[i, k + 1]
            denom = a - 2 * b + c
            if denom > 0:
                tau += 0.5 * (a - c) / denom
        f0[i] = SAMPLE_RATE / tau
    if active is not None:
        f0[~active[:len(f0)]] = 0.0
    return f0


def _word_count_and_span(words: Sequence, start: float, end: float) -> tuple[int, float | None]:
    """Words inside [start, end] and the time they take, from whatever form the caller has:
    [word, start, end, prob] lists (the catalog's), objects with .start/.end (models.speech.Word),
    dicts, or bare strings (no times)."""
    count, first, last = 0, None, None
    for w in words:
        if isinstance(w, str):
            count += 1
            continue
        if isinstance(w, dict):
            ws, we = w.get("start"), w.get("end")
        elif hasattr(w, "start") and hasattr(w, "end"):
            ws, we = w.start, w.end
        else:
            ws, we = w[1], w[2]
        ws, we = float(ws), float(we)
        if (ws + we) / 2 < start or (ws + we) / 2 > end:
            continue
        count += 1
        first = ws if first is None else min(first, ws)
        last = we if last is None else max(last, we)
    span = (last - first) if first is not None and last > first else None
    return count, span


def voice_features(audio_16k: np.ndarray, start: float, end: float, words: list | None = None) -> dict:
    """Cues of one span of speech. Missing cues are None (silence, no pitch found, no words given).

    energy_db: mean loudness of the active frames (dBFS); pitch_hz: median F0 of voiced frames;
    pitch_st: the same in semitones above 55 Hz (so differences are musical intervals);
    pitch_range_st: 10th to 90th percentile of F0 in semitones; speaking_rate: words per second
    of speech; voiced_fraction: share of the span's frames with a pitch; voiced_seconds."""
    audio = np.asarray(audio_16k, dtype=np.float32).reshape(-1)
    if not end > start:
        raise ValueError(f"span must end after it starts, got {start}..{end}")
    a = max(0, int(round(start * SAMPLE_RATE)))
    b = min(audio.size, int(round(end * SAMPLE_RATE)))
    x = audio[a:b] if b > a else np.zeros(0, dtype=np.float32)
    features = {"start": float(start), "end": float(end), "energy_db": None, "pitch_hz": None, "pitch_st": None,
                "pitch_range_st": None, "speaking_rate": None, "voiced_fraction": 0.0, "voiced_seconds": 0.0}
    frames = _frames(x, WINDOW)
    if not len(frames):
        return features
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    db = 20 * np.log10(rms + 1e-10)
    active = (db > SILENCE_DB) & (db > db.max() - ACTIVE_BELOW_PEAK_DB)
    if not active.any():
        return features
    features["energy_db"] = float(10 * np.log10(np.mean(rms[active] ** 2) + 1e-20))

    f0 = pitch_track(x, active)
    voiced = f0[f0 > 0]
    features["voiced_fraction"] = float(voiced.size / len(frames))
    features["voiced_seconds"] = float(voiced.size * HOP / SAMPLE_RATE)
    if voiced.size >= MIN_VOICED_FRAMES:
        semitones = 12 * np.log2(voiced / 55.0)
        features["pitch_hz"] = float(np.median(voiced))
        features["pitch_st"] = float(np.median(semitones))
        lo, hi = np.percentile(semitones, [10, 90])
        features["pitch_range_st"] = float(hi - lo)

    if words:
        count, span = _word_count_and_span(words, start, end)
        if span is None:  # no word times: the words over the time the voice is active
            span = float(active.sum() * HOP / SAMPLE_RATE)
        if count and span > 0.2:
            features["speaking_rate"] = float(count / span)
    return features


def speaker_baseline(list_of_features: Iterable[dict]) -> dict:
    """How this video's speaker usually sounds: per cue, the median over its spans and a robust
    spread (1.4826 x median absolute deviation, at least MIN_SPREAD). Cues no span has are left out."""
    features = list(list_of_features)
    baseline: dict = {"spans": len(features)}
    for cue, floor in MIN_SPREAD.items():
        values = np.array([f[cue] for f in features if f.get(cue) is not None], dtype=np.float64)
        if values.size == 0:
            continue
        median = float(np.median(values))
        spread = float(1.4826 * np.median(np.abs(values - median))) if values.size > 2 else 0.0
        baseline[cue] = (median, max(spread, floor))
    return baseline


def arousal(features: dict, baseline: dict) -> float:
    """-1 (much calmer than this speaker's norm) .. 0 (as usual, or unknown) .. +1 (much more excited)."""
    total, weight = 0.0, 0.0
    for cue, w in CUE_WEIGHTS.items():
        value = features.get(cue)
        if value is None or cue not in baseline:
            continue
        median, spread = baseline[cue]
        total += w * float(np.clip((value - median) / spread, -Z_CLIP, Z_CLIP)) / Z_CLIP
        weight += w
    if weight == 0:
        return 0.0
    # shrink towards "as usual" when only a little voice was heard
    certainty = min(1.0, float(features.get("voiced_seconds") or 0.0) / FULL_VOICE_SECONDS)
    return float(np.clip(total / weight, -1.0, 1.0) * certainty)


def arousal_emotion_prior(features: dict, speaker_baseline: dict) -> np.ndarray:
    """(7,) multiplicative weights in EMOTIONS order; all ones where the voice says nothing."""
    return np.exp(STRENGTH * arousal(features, speaker_baseline) * _AROUSAL)


def apply_prior(probs: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """An emotion distribution tilted by a voice prior, renormalised."""
    tilted = np.asarray(probs, dtype=np.float64) * np.asarray(prior, dtype=np.float64)
    return tilted / tilted.sum()
