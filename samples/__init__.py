"""Sample media with known ground truth, for the demo, the tests and the benchmarks.

`samples.speech` speaks (espeak-ng), `samples.media` writes video and audio files, `samples.library`
makes the demo library, talk videos and broken files; the names callers use are gathered here.
`samples.synthetic_events` (viewers) and `samples.synthetic_vectors` (clustered embeddings) feed the
tests and benches that need volume rather than media.
"""
from samples.library import DEMO_LIBRARY, TALK_SENTENCES, make_bad_files, make_sample_library, make_talk_video
from samples.media import PHOTOS, X264_PRESET, SampleVideo, Scene, make_audio_only, make_video
from samples.speech import AUDIO_RATE, SPEECH_RATE, Utterance, speak, speech_seconds, speech_track

__all__ = ["AUDIO_RATE", "DEMO_LIBRARY", "PHOTOS", "SPEECH_RATE", "TALK_SENTENCES", "X264_PRESET", "SampleVideo", "Scene", "Utterance",
           "make_audio_only", "make_bad_files", "make_sample_library", "make_talk_video", "make_video", "speak",
           "speech_seconds", "speech_track"]
