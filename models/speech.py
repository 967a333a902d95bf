"""Speech to text with faster-whisper: clips of speech in, words with times out.

Which stretches of a recording are speech, how they are packed into Whisper's 30 s windows and
how words become segments is the indexer's business (indexer/transcribe.py); this adapter only
runs the model, in batches, on clips of at most 30 s.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SAMPLE_RATE = 16_000
# Part of the version written beside transcripts: bump it when the way words become segments
# changes, so `index reindex` redoes transcripts made the old way.
TRANSCRIPT_METHOD = "t2"


@dataclass
class Word:
    start: float
    end: float
    word: str  # as the model wrote it: a leading space separates words in languages that use spaces
    probability: float


@dataclass
class Segment:
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0


@dataclass
class Transcript:
    language: str | None
    language_probability: float
    segments: list[Segment]


@dataclass
class ClipText:
    """What the model heard in one clip; word times are seconds from the clip's start."""
    words: list[Word]
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


class SpeechModel:
    def __init__(self, model_dir: str, device: str, threads: int, name: str, version: str):
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        self.name = name
        self.version = version
        compute_type = "float16" if device == "cuda" else "int8"
        self._model = WhisperModel(model_dir, device=device, compute_type=compute_type, cpu_threads=threads)
        # Decoding several windows at once is ~20% faster than one after another even on 2 CPU
        # cores (bench/RESULTS.md), and far more on a GPU.
        self._batched = BatchedInferencePipeline(self._model)
        self.batch_size = 16 if device == "cuda" else 8

    def transcribe_clips(self, clips: list[np.ndarray], language: str | None = None,
                         beam_size: int = 1) -> tuple[list[ClipText], str | None, float]:
        """Each clip (float32, 16 kHz, at most 30 s) decoded as one window, all in batches.

        Returns per clip what was heard, and the language (detected on the first clip's speech
        when `language` is None) with its probability.

        Windows are decoded without timestamp tokens: with them, the batched decoder drops the
        words after the last closed timestamp pair of each window, since it never seeks back
        to decode them again (faster-whisper #1179; about 8% of the words on real speech).
        Word times come from the cross-attention alignment either way.
        """
        if not clips:
            return [], language, 0.0
        offsets = np.cumsum([0] + [c.size for c in clips])
        packed = np.concatenate(clips).astype(np.float32, copy=False)
        spans = [{"start": offsets[i] / SAMPLE_RATE, "end": offsets[i + 1] / SAMPLE_RATE} for i in range(len(clips))]
        segments, info = self._batched.transcribe(
            packed, language=language, clip_timestamps=spans, batch_size=self.batch_size, beam_size=beam_size,
            word_timestamps=True, without_timestamps=True, vad_filter=False, condition_on_previous_text=False)
        results = [ClipText([], 0.0, 1.0, 0.0) for _ in clips]
        for seg in segments:
            i = int(np.argmin(np.abs(offsets[:-1] - seg.start * SAMPLE_RATE)))  # seg.start is the clip's offset
            base = offsets[i] / SAMPLE_RATE
            limit = clips[i].size / SAMPLE_RATE
            words = [Word(min(max(float(w.start) - base, 0.0), limit), min(max(float(w.end) - base, 0.0), limit),
                          w.word, float(w.probability)) for w in (seg.words or []) if w.word.strip()]
            results[i] = ClipText(results[i].words + words, float(seg.avg_logprob), float(seg.no_speech_prob),
                                  float(seg.compression_ratio))
        return results, info.language, float(info.language_probability)

    def transcribe_long(self, audio: np.ndarray, language: str | None, beam_size: int = 1) -> ClipText:
        """One stretch decoded the careful way: sequential windows that seek to the last timestamp
        and retry at higher temperatures; slower, kept for the stretches the batched pass missed."""
        segments, _ = self._model.transcribe(
            audio, language=language, beam_size=beam_size, word_timestamps=True, vad_filter=False,
            condition_on_previous_text=False)
        words: list[Word] = []
        logprobs, no_speech, ratio = [], 1.0, 0.0
        for seg in segments:
            words += [Word(float(w.start), float(w.end), w.word, float(w.probability))
                      for w in (seg.words or []) if w.word.strip()]
            logprobs.append(float(seg.avg_logprob))
            no_speech = min(no_speech, float(seg.no_speech_prob))
            ratio = max(ratio, float(seg.compression_ratio))
        return ClipText(words, float(np.mean(logprobs)) if logprobs else 0.0, no_speech, ratio)
