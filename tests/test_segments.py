"""How heard words become segments and how speech is packed into Whisper's windows (no models run)."""
from __future__ import annotations

import numpy as np

from indexer.audio import SAMPLE_RATE, ArrayAudio, choose_audio_track, is_silent
from indexer.languages import language_code
from indexer.transcribe import CLIP_SECONDS, Clip, pack_clips, segments_from_words, unheard_spans
from models.speech import Word


def _words(spec: list[tuple[str, float, float]]) -> list[Word]:
    return [Word(start, end, text, 0.9) for text, start, end in spec]


def test_a_long_pause_starts_a_new_segment_and_times_come_from_the_words():
    words = _words([(" I", 1.6, 1.8), (" said", 1.8, 2.1), (" this", 2.1, 2.4),
                    (" and", 2220.0, 2220.2), (" then", 2220.2, 2220.5), (" that", 2220.5, 2221.0)])
    segments = segments_from_words(words)
    assert [(s.start, s.end, s.text) for s in segments] == [(1.6, 2.4, "I said this"), (2220.0, 2221.0, "and then that")]
    assert segments[0].words[0].word == "I"  # stored without the model's separating space


def test_no_segment_holds_a_pause_over_one_and_a_half_seconds_or_runs_past_thirty():
    rng = np.random.default_rng(3)
    t, spec = 0.0, []
    for i in range(400):
        t += float(rng.choice([0.05, 0.2, 0.9, 1.4, 1.6, 3.0], p=[0.5, 0.25, 0.1, 0.08, 0.05, 0.02]))
        spec.append((f" w{i}" + ("," if i % 17 == 0 else ""), t, t + 0.3))
        t += 0.3
    segments = segments_from_words(_words(spec))
    assert sum(len(s.words) for s in segments) == 400  # nothing lost
    for seg in segments:
        assert seg.end - seg.start <= 30.0
        gaps = [b.start - a.end for a, b in zip(seg.words, seg.words[1:])]
        assert max(gaps, default=0.0) <= 1.5


def test_a_second_of_silence_ends_a_phrase_the_model_ran_on():
    words = _words([(" In", 32.2, 32.5), (" 1813,", 32.5, 33.8), (" eight", 35.0, 35.3), (" the", 35.3, 35.4),
                    (" press", 35.4, 35.8), (" yard.", 35.8, 36.7)])
    assert [(s.start, s.text) for s in segments_from_words(words)] == [(32.2, "In 1813,"), (35.0, "eight the press yard.")]
    short = _words([(" Oh,", 1.0, 1.3), (" well", 2.4, 2.8)])  # under a second of speech before the pause: one
    assert [s.text for s in segments_from_words(short)] == ["Oh, well"]


def test_a_sentence_end_closes_a_segment_in_english_and_chinese():
    english = segments_from_words(_words([(" It", 0.0, 0.3), (" rained.", 0.3, 1.2), (" We", 1.4, 1.6),
                                          (" stayed", 1.6, 2.0), (" in.", 2.0, 2.6)]))
    assert [s.text for s in english] == ["It rained.", "We stayed in."]
    chinese = segments_from_words(_words([("今", 0.0, 0.3), ("天", 0.3, 0.6), ("下", 0.6, 0.9), ("雨。", 0.9, 1.3),
                                          ("我", 1.5, 1.7), ("们", 1.7, 1.9), ("在", 1.9, 2.1), ("家", 2.1, 2.6)]))
    assert [s.text for s in chinese] == ["今天下雨。", "我们在家"]  # no spaces between characters
    assert chinese[1].start == 1.5  # starts at its first word, not where the one before ended


def test_speech_is_packed_into_clips_of_at_most_twenty_seconds_and_mapped_back():
    regions = [(1.0, 5.0), (8.0, 12.0), (2000.0, 2012.0), (2015.0, 2020.0)]
    clips = pack_clips(regions)
    assert all(c.seconds <= CLIP_SECONDS == 20.0 for c in clips)
    assert [c.parts for c in clips] == [[(1.0, 5.0), (8.0, 12.0), (2000.0, 2012.0)], [(2015.0, 2020.0)]]
    first = clips[0]
    assert first.word_to_recording(0.5, 0.9) == (1.5, 1.9)
    assert first.word_to_recording(6.0, 6.5) == (10.0, 10.5)  # 2 s into the second part
    start, end = first.word_to_recording(11.0, 11.5)  # silence between parts is not in the clip
    assert (round(start, 9), round(end, 9)) == (2003.0, 2003.5)


def test_clip_audio_reads_only_its_parts():
    samples = np.zeros(SAMPLE_RATE * 10, dtype=np.float32)
    samples[SAMPLE_RATE * 2: SAMPLE_RATE * 3] = 0.5
    clip = Clip([(2.0, 3.0), (6.0, 6.5)])
    audio = clip.audio(ArrayAudio(samples))
    assert audio.size == int(1.5 * SAMPLE_RATE)
    assert np.allclose(audio[:SAMPLE_RATE], 0.5) and np.allclose(audio[SAMPLE_RATE:], 0.0)


def test_heard_speech_without_words_is_found_for_a_second_listen():
    words = _words([(" a", 10.0, 10.4), (" b", 10.5, 11.0)])
    assert unheard_spans([(10.0, 11.2), (40.0, 43.0)], words) == [(40.0, 43.0)]
    # words stop early in a stretch: the rest is listened to again
    assert unheard_spans([(10.0, 16.0)], words) == [(11.0, 16.0)]
    assert unheard_spans([(10.0, 12.0)], words) == []  # a second of trailing pad and breath is normal
    # "one, two, three" cut by VAD at each comma is one stretch of unheard speech
    assert unheard_spans([(10.0, 11.2), (37.97, 39.1), (39.1, 40.1), (40.1, 40.83)], words) == [(37.97, 40.83)]


def test_silence_and_language_codes():
    assert is_silent(ArrayAudio(np.zeros(SAMPLE_RATE * 3, dtype=np.float32)))
    tone = 0.2 * np.sin(np.arange(SAMPLE_RATE) * 2 * np.pi * 220 / SAMPLE_RATE).astype(np.float32)
    assert not is_silent(ArrayAudio(np.concatenate([np.zeros(SAMPLE_RATE * 700, dtype=np.float32), tone])))
    assert [language_code(c) for c in ("eng", "en-US", "chi", "zho", "und", "", None, "fra")] == \
        ["en", "en", "zh", "zh", None, None, None, "fr"]


class _Stream:
    def __init__(self, index, language=None, default=False):
        import av

        self.index, self.metadata = index, {"language": language} if language else {}
        self.disposition = av.stream.Disposition.default if default else av.stream.Disposition(0)
        self.codec_context = None


def test_audio_track_choice_default_flag_then_language_then_first():
    flagged = choose_audio_track([_Stream(1, "eng"), _Stream(2, "chi", default=True)], "en")
    assert (flagged.index, flagged.position, flagged.count, flagged.chosen_because) == (2, 2, 2, "default-flagged")
    by_language = choose_audio_track([_Stream(1, "eng", True), _Stream(2, "chi", True)], "zh")
    assert (by_language.index, by_language.language, by_language.chosen_because) == (2, "zh", "language")
    first = choose_audio_track([_Stream(1, "eng"), _Stream(2, "chi")], "de")
    assert (first.index, first.chosen_because) == (1, "first")
    assert choose_audio_track([_Stream(3)], "en").chosen_because == "only"
    assert choose_audio_track([], "en") is None


def test_a_word_aligned_across_the_join_of_two_stretches_stays_in_one():
    clip = Clip([(1.6, 13.4), (599.6, 603.2)])
    start, end = clip.word_to_recording(11.6, 12.3)  # mostly in the second stretch (joined at 11.8)
    assert (round(start, 3), round(end, 3)) == (599.6, 600.1)
    start, end = clip.word_to_recording(11.0, 11.9)
    assert (round(start, 3), round(end, 3)) == (12.6, 13.4)


def test_voice_activity_runs_only_around_what_is_louder_than_near_silence():
    from indexer.audio import AUDIBLE_DB, audible_spans

    rng = np.random.default_rng(0)
    minute = np.zeros(60 * SAMPLE_RATE, np.float32)
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    # a quiet voice-like burst (-40 dBFS) at 30 s, and faint hiss 25 dB under the bar everywhere
    minute[30 * SAMPLE_RATE:32 * SAMPLE_RATE] = 0.014 * np.sin(2 * np.pi * 180 * t)
    minute += (10 ** ((AUDIBLE_DB - 25) / 20) * rng.standard_normal(minute.size)).astype(np.float32)
    spans = audible_spans(minute)
    assert len(spans) == 1
    start, end = (s / SAMPLE_RATE for s in spans[0])
    assert 29.4 <= start <= 30.0 and 32.0 <= end <= 32.6  # the burst, padded by half a second

    # two sounds a second apart are one stretch; a recording with a noise floor above the bar is all audible
    minute[33 * SAMPLE_RATE:34 * SAMPLE_RATE] = 0.014
    assert len(audible_spans(minute)) == 1
    noisy = (10 ** ((AUDIBLE_DB + 5) / 20) * rng.standard_normal(10 * SAMPLE_RATE)).astype(np.float32)
    assert audible_spans(noisy) == [(0, noisy.size)]
    assert audible_spans(np.zeros(5 * SAMPLE_RATE, np.float32)) == []
