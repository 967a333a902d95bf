"""A recording's speech as segments of words with times, in bounded memory.

1. Voice activity (Silero VAD, as faster-whisper bundles it) over 5-minute pieces of the decoded
   track, around whatever is louder than near silence (audio.audible_spans): silence costs one
   cheap loudness pass and nothing after.
2. The speech stretches are packed, silence left out, into clips of at most 20 s (each one
   Whisper window), and the clips are decoded in batches.
3. Where a stretch of heard speech got no words back, it is decoded again on a window of its own
   (all such stretches in one batch), then, if still unheard, the slow, careful way (sequential
   windows, temperature fallback); so is a clip whose text repeats itself.
4. Words become segments: a new one after a sentence ends, a pause of more than 1.5 s (or of 1 s
   once a segment holds a second of speech), and never longer than 30 s. A segment's times are its words' times, so a hit opens the player
   where the words are, in every language.
"""
from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from models.speech import ClipText, Segment, SpeechModel, Transcript, Word

from .audio import SAMPLE_RATE, audible_spans, decode_audio
from .errors import Cancelled

# The batched pipeline's own VAD settings: splits at pauses of 160 ms, pads speech by 400 ms.
MIN_SILENCE_MS = 160
SPEECH_PAD_MS = 400
# A clip holds whole speech stretches up to this much speech; a stretch is never longer. Whisper
# hears 30 s, but decoding without timestamps it stops early more often on a full window: on the
# real-media recordings and a 2-minute talk, 20 s clips lost fewer stretches to the second listen
# and ran 14% faster overall than 30 s ones (15 s: more windows, slower; 24 s: as fast, 3 words lost).
CLIP_SECONDS = 20.0
# Heard speech this long with no word in it means the batched pass lost words there (a stretch's
# own padding and breaths stay under it)...
UNHEARD_SECONDS = 1.2
# ...counting stretches this close together as one: VAD cuts "one, two, three" at every comma.
JOIN_STRETCHES = 0.5
# Text this repetitive (gzip ratio, Whisper's own test) is a decoding loop, not speech.
LOOPING_RATIO = 2.4
# Whisper's "this window is silence" test (transcribe.py's defaults).
NO_SPEECH_PROB, SILENT_LOGPROB = 0.6, -1.0
MAX_PAUSE = 1.5
# A pause this long also ends a segment that holds a second of speech: the words after it are where a
# hit on them should open the player (the model often writes two sentences said a second apart as one).
PHRASE_PAUSE = 1.0
MAX_SEGMENT_SECONDS = 30.0
# A sentence end closes a segment once it holds this much; shorter ones run on into the next.
MIN_SENTENCE_SECONDS = 1.0
SENTENCE_ENDS = (".", "?", "!", "。", "？", "！", "…", "؟", "।")
CLAUSE_ENDS = (",", ";", ":", "，", "；", "：", "、")
# Joining batches of this many clips bounds memory at batch x 30 s of audio.
CLIPS_PER_CALL = 16

ProgressFn = Callable[[float], None]


@dataclass
class Clip:
    """Stretches of the recording packed back to back; `parts` are (start, end) seconds in the recording."""
    parts: list[tuple[float, float]]

    @property
    def seconds(self) -> float:
        return sum(b - a for a, b in self.parts)

    def audio(self, audio) -> np.ndarray:
        return np.concatenate([audio.read(a, b) for a, b in self.parts]).astype(np.float32, copy=False)

    def word_to_recording(self, start: float, end: float) -> tuple[float, float]:
        """A word's times in the packed clip as times in the recording, both inside the one stretch
        holding most of it: alignment can start a word a little before the join of two stretches,
        which would otherwise stretch it across the silence left out between them."""
        packed, best, best_overlap = 0.0, (0.0, self.parts[0]), -1.0
        for a, b in self.parts:
            overlap = min(end, packed + b - a) - max(start, packed)
            if overlap > best_overlap or (overlap == best_overlap == 0.0 and start >= packed):
                best, best_overlap = (packed, (a, b)), overlap
            packed += b - a
        offset, (a, b) = best
        return a + min(max(start - offset, 0.0), b - a), a + min(max(end - offset, 0.0), b - a)


def speech_regions(audio, cancel: threading.Event | None = None) -> list[tuple[float, float]]:
    """Where someone speaks, in seconds; at most CLIP_SECONDS each."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(max_speech_duration_s=CLIP_SECONDS, min_silence_duration_ms=MIN_SILENCE_MS,
                         speech_pad_ms=SPEECH_PAD_MS)
    regions: list[tuple[float, float]] = []
    for piece_offset, piece in audio.pieces():
        for a, b in audible_spans(piece):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            if b - a < SAMPLE_RATE // 10:
                continue
            offset = piece_offset + a / SAMPLE_RATE
            for r in get_speech_timestamps(piece[a:b], options):
                start, end = offset + r["start"] / SAMPLE_RATE, offset + r["end"] / SAMPLE_RATE
                # speech running across a piece boundary is one stretch, cut again if too long
                if regions and start - regions[-1][1] < 0.05 and start - offset < 0.05:
                    start = regions.pop()[0]
                while end - start > CLIP_SECONDS:
                    regions.append((start, start + CLIP_SECONDS / 2))
                    start += CLIP_SECONDS / 2
                regions.append((start, end))
    return regions


def pack_clips(regions: list[tuple[float, float]]) -> list[Clip]:
    clips: list[Clip] = []
    for start, end in regions:
        if clips and clips[-1].seconds + (end - start) <= CLIP_SECONDS:
            last = clips[-1].parts[-1]
            if start <= last[1]:  # VAD padding can overlap the stretch before
                clips[-1].parts[-1] = (last[0], max(last[1], end))
            else:
                clips[-1].parts.append((start, end))
        else:
            clips.append(Clip([(start, end)]))
    return clips


def transcribe(audio, model: SpeechModel, language: str | None = None, progress: ProgressFn | None = None,
               cancel: threading.Event | None = None, beam_size: int = 1) -> Transcript:
    """Segments of everything said in `audio` (anything with `.read(start, end)`, `.pieces()`, `.duration`)."""
    regions = speech_regions(audio, cancel)
    if not regions:
        return Transcript(language=None, language_probability=0.0, segments=[])
    clips = pack_clips(regions)
    words: list[Word] = []
    silent: list[tuple[float, float]] = []  # stretches of clips Whisper judged silence: not listened to again
    # (start, end, avg_logprob, no_speech_prob) of each stretch, from its clip: a clip packs stretches
    # far apart, so its first-to-last span would claim segments of other clips
    quality: list[tuple[float, float, float, float]] = []
    language_probability = 1.0 if language else 0.0
    for first in range(0, len(clips), CLIPS_PER_CALL):
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        batch = clips[first:first + CLIPS_PER_CALL]
        heard, detected, probability = model.transcribe_clips([c.audio(audio) for c in batch], language, beam_size)
        if language is None:
            language, language_probability = detected, probability
        for clip, text in zip(batch, heard):
            if text.compression_ratio > LOOPING_RATIO:
                text = model.transcribe_long(clip.audio(audio), language, beam_size)
            if _heard_silence(text):
                silent += clip.parts  # music or noise VAD took for speech
                continue
            words += [Word(*clip.word_to_recording(w.start, w.end), w.word, w.probability) for w in text.words]
            quality += [(a, b, text.avg_logprob, text.no_speech_prob) for a, b in clip.parts]
        if progress:
            progress(batch[-1].parts[-1][1])
    heard = [r for r in regions if not any(a < r[1] and r[0] < b for a, b in silent)]
    words = _fill_unheard(audio, model, heard, words, language, beam_size, cancel)
    segments = segments_from_words(words)
    for seg in segments:
        scores = [q for q in quality if q[0] <= seg.start <= q[1]] or [(0, 0, 0.0, 0.0)]
        seg.avg_logprob, seg.no_speech_prob = scores[0][2], scores[0][3]
    return Transcript(language=language if segments else None, language_probability=language_probability,
                      segments=segments)


def _heard_silence(text: ClipText) -> bool:
    """Whisper's own "this window is silence" test (transcribe.py's defaults)."""
    return text.no_speech_prob > NO_SPEECH_PROB and text.avg_logprob < SILENT_LOGPROB


def unheard_spans(regions: list[tuple[float, float]], words: list[Word]) -> list[tuple[float, float]]:
    """Stretches of heard speech, UNHEARD_SECONDS or longer, that no word covers."""
    spans = []
    times = sorted((w.start, w.end) for w in words)
    joined: list[tuple[float, float]] = []
    for start, end in sorted(regions):
        if joined and start - joined[-1][1] <= JOIN_STRETCHES:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    for start, end in joined:
        covered = [(a, b) for a, b in times if b > start and a < end]
        cursor = start
        for a, b in covered + [(end, end)]:
            if a - cursor >= UNHEARD_SECONDS:
                spans.append((cursor, a))
            cursor = max(cursor, b)
    return spans


def _fill_unheard(audio, model: SpeechModel, regions, words: list[Word], language: str | None, beam_size: int,
                  cancel: threading.Event | None) -> list[Word]:
    """Listen again where speech was heard and no words came back: each stretch on its own window,
    all in one batch (the window that lost them held other speech), then whatever is still unheard
    one at a time the careful way."""
    words = sorted(words, key=lambda w: w.start)
    for second_try in (False, True):
        spans = unheard_spans(regions, words)
        if not spans:
            break
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        # a little context either side: a word cut at the edge is not heard at all
        clips = [Clip([(max(0.0, start - 0.3), end + 0.3)]) for start, end in spans]
        if second_try:
            heard = [model.transcribe_long(c.audio(audio), language, beam_size) for c in clips]
        else:
            heard = model.transcribe_clips([c.audio(audio) for c in clips], language, beam_size)[0]
        for clip, found in zip(clips, heard):
            if _heard_silence(found):
                continue
            taken = [(w.start, w.end) for w in words]
            (start, end), = clip.parts
            words += [w for w in (Word(*clip.word_to_recording(w.start, w.end), w.word, w.probability)
                                  for w in found.words)
                      if start <= (w.start + w.end) / 2 <= end and not any(a < w.end and w.start < b for a, b in taken)]
        words.sort(key=lambda w: w.start)
    return words


def segments_from_words(words: list[Word], max_pause: float = MAX_PAUSE,
                        max_seconds: float = MAX_SEGMENT_SECONDS) -> list[Segment]:
    """Consecutive words grouped into segments that follow the speech (see the module's docstring)."""
    segments: list[Segment] = []
    current: list[Word] = []
    for word in sorted(words, key=lambda w: w.start):
        if current:
            pause = word.start - current[-1].end
            long_enough = current[-1].end - current[0].start >= MIN_SENTENCE_SECONDS
            sentence_done = current[-1].word.rstrip().endswith(SENTENCE_ENDS) and long_enough
            if pause > max_pause or sentence_done or (pause >= PHRASE_PAUSE and long_enough):
                segments.append(_segment(current))
                current = []
            elif word.end - current[0].start > max_seconds:
                cut = _best_cut(current)
                segments.append(_segment(current[:cut]))
                current = current[cut:]
        current.append(word)
    if current:
        segments.append(_segment(current))
    return [s for s in segments if s.text]


def _best_cut(words: list[Word]) -> int:
    """Where to split a run that grew too long: after a clause, else at the widest pause, in its second half."""
    candidates = range(max(1, len(words) // 2), len(words))

    def score(i: int) -> float:
        pause = words[i].start - words[i - 1].end
        return pause + (1.0 if words[i - 1].word.rstrip().endswith(CLAUSE_ENDS) else 0.0)

    return max(candidates, key=score) if len(words) > 1 else len(words)


def _segment(words: list[Word]) -> Segment:
    text = "".join(w.word for w in words).strip()
    return Segment(start=words[0].start, end=max(w.end for w in words), text=" ".join(text.split()),
                   words=[Word(w.start, w.end, w.word.strip(), w.probability) for w in words])


def transcribe_path(path: Path, speech_model: SpeechModel, language: str | None = None) -> Transcript:
    """The speech of a media file, decoded into a temporary folder (benches and one-off use)."""
    with tempfile.TemporaryDirectory(prefix="reelscope-audio-") as folder:
        audio = decode_audio(Path(path), Path(folder))
        try:
            return transcribe(audio, speech_model, language)
        finally:
            audio.remove()
