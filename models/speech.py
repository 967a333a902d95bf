"""Speech to text with faster-whisper: language detection, VAD, word timestamps."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

SAMPLE_RATE = 16_000


@dataclass
class Word:
    start: float
    end: float
    word: str
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


class SpeechModel:
    def __init__(self, model_dir: str, device: str, threads: int, name: str, version: str):
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        self.name = name
        self.version = version
        compute_type = "float16" if device == "cuda" else "int8"
        self._model = WhisperModel(model_dir, device=device, compute_type=compute_type, cpu_threads=threads)
        # Batching the speech stretches VAD finds is ~20% faster than one window after another,
        # even on 2 CPU cores (bench/RESULTS.md), and far more on a GPU.
        self._batched = BatchedInferencePipeline(self._model)
        self.batch_size = 16 if device == "cuda" else 8

    def transcribe(self, audio: np.ndarray, beam_size: int = 1,
                   progress: Callable[[float], None] | None = None) -> Transcript:
        """`audio`: float32 mono at 16 kHz. Silence gives an empty transcript, not an error.

        `progress` gets the seconds transcribed so far; an exception it raises stops the work.
        """
        if audio.size < SAMPLE_RATE // 10:
            return Transcript(language=None, language_probability=0.0, segments=[])
        segments_iter, info = self._batched.transcribe(
            audio,
            batch_size=self.batch_size,
            beam_size=beam_size,
            vad_filter=True,
            word_timestamps=True,
            # Whisper's own segment boundaries (sentences, pauses) rather than one per 30 s window
            without_timestamps=False,
            condition_on_previous_text=False,
        )
        segments = []
        for seg in segments_iter:
            if progress:
                progress(float(seg.end))
            text = seg.text.strip()
            if not text:
                continue
            words = [Word(float(w.start), float(w.end), w.word.strip(), float(w.probability)) for w in (seg.words or [])]
            segments.append(Segment(float(seg.start), float(seg.end), text, words,
                                    float(seg.avg_logprob), float(seg.no_speech_prob)))
        language = info.language if segments else None
        return Transcript(language=language, language_probability=float(info.language_probability), segments=segments)
