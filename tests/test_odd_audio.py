"""Unusual sound in real files: several tracks, telephone rates, 5.1, sound past the picture, breaks
and empty tracks. Each keeps what it can, says why, and the speech in it is found at its time."""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from indexer.audio import SAMPLE_RATE, decode_audio
from indexer.pipeline import Indexer
from catalog import Video
from tests.real_media import read_clip, speech_clips

pytestmark = pytest.mark.slow


def _clip(language: str, needle: str) -> tuple[np.ndarray, str]:
    entry = next(e for e in speech_clips((language,)) if needle in e["path"])
    return read_clip(entry), entry["reference"]["text"]


def _placed(samples: np.ndarray, at: float, seconds: float) -> np.ndarray:
    track = np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)
    start = int(at * SAMPLE_RATE)
    track[start:start + samples.size] = samples[: track.size - start]
    return track


def _write(path: Path, audio_tracks: list[dict], video_seconds: float | None = 3.0) -> Path:
    """A file with a small still picture (unless video_seconds is None) and the given audio tracks:
    each {"samples" (16 kHz mono float32), "rate", "layout", "language", "default", "codec"}."""
    # moov first, as web-served files have it: a truncated copy still opens, then breaks part-way
    options = {"movflags": "+faststart"} if path.suffix in (".mp4", ".m4a") else {}
    with av.open(str(path), "w", container_options=options) as container:
        video = None
        if video_seconds is not None:
            video = container.add_stream("mpeg4", rate=5)
            video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        streams = []
        for spec in audio_tracks:
            stream = container.add_stream(spec.get("codec", "aac"), rate=spec.get("rate", SAMPLE_RATE),
                                          layout=spec.get("layout", "mono"))
            if spec.get("language"):
                stream.metadata["language"] = spec["language"]
            stream.disposition = av.stream.Disposition.default if spec.get("default") else av.stream.Disposition(0)
            streams.append(stream)
        if video is not None:
            picture = np.full((120, 160, 3), 90, dtype=np.uint8)
            for i in range(int(video_seconds * 5)):
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
                frame.pts = i
                for packet in video.encode(frame):
                    container.mux(packet)
            for packet in video.encode(None):
                container.mux(packet)
        for spec, stream in zip(audio_tracks, streams):
            rate, layout = spec.get("rate", SAMPLE_RATE), spec.get("layout", "mono")
            mono = spec["samples"]
            if rate != SAMPLE_RATE:
                mono = np.interp(np.arange(0, mono.size, SAMPLE_RATE / rate), np.arange(mono.size), mono)
            channels = av.AudioLayout(layout).nb_channels
            planes = np.zeros((channels, mono.size), dtype=np.float32)
            planes[spec.get("speech_channel", 0)] = mono
            size = stream.codec_context.frame_size or 1024
            for pos in range(0, mono.size, size):
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planes[:, pos:pos + size]), format="fltp",
                                                   layout=layout)
                frame.sample_rate, frame.pts, frame.time_base = rate, pos, Fraction(1, rate)
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
    return path


@pytest.fixture(scope="module")
def indexer(module_indexer):
    return module_indexer


def _index(indexer: Indexer, path: Path, **settings):
    if settings:
        indexer = Indexer(replace(indexer.settings, **settings), indexer.catalog)
    outcome = indexer.index_path(path, force=True)
    assert outcome.status == "indexed", outcome.message
    with indexer.catalog.session() as s:
        video = s.get(Video, outcome.video_id)
        return outcome, video, [(seg.start, seg.end, seg.text.lower()) for seg in video.segments]


def test_the_default_flagged_audio_track_is_heard_and_recorded(indexer, tmp_path):
    english, _ = _clip("en", "new-home")
    chinese, _ = _clip("zh", "funasr_asr_example")
    path = _write(tmp_path / "two tracks.mkv", [
        {"samples": _placed(english, 1.0, 8.0), "language": "eng"},
        {"samples": _placed(chinese, 1.0, 8.0), "language": "chi", "default": True}], video_seconds=8.0)
    outcome, video, segments = _index(indexer, path)
    assert video.tracks["audio"]["position"] == 2 and video.tracks["audio"]["chosen_because"] == "default-flagged"
    assert video.language == "zh" and "欢迎" in segments[0][2]
    assert "audio track 2 of 2" in outcome.message


def test_without_a_default_the_preferred_language_then_the_first_track_is_heard(indexer, tmp_path):
    english, _ = _clip("en", "new-home")
    chinese, _ = _clip("zh", "funasr_asr_example")
    path = _write(tmp_path / "no default.mkv", [
        {"samples": _placed(english, 1.0, 8.0), "language": "eng"},
        {"samples": _placed(chinese, 1.0, 8.0), "language": "chi"}], video_seconds=8.0)
    # matroska flags the first track default when none is: the muxer's flag singles out nothing
    _, video, segments = _index(indexer, path, audio_language="zh")
    assert video.tracks["audio"]["chosen_because"] == "language" and video.language == "zh"
    _, video, segments = _index(indexer, path, audio_language="")
    assert video.tracks["audio"]["position"] == 1 and "home in the stars" in " ".join(s[2] for s in segments)


def test_telephone_rate_and_surround_speech_are_heard_at_their_time(indexer, tmp_path):
    speech, _ = _clip("en", "new-home")
    phone = _write(tmp_path / "phone.mkv", [{"samples": _placed(speech, 2.0, 9.0), "rate": 8000}], 9.0)
    _, video, segments = _index(indexer, phone)
    assert video.tracks["audio"]["sample_rate"] == 8000
    assert "home in the stars" in segments[0][2] and abs(segments[0][0] - 2.0) < 0.6
    # 5.1 with the voice in the centre channel only, as films mix dialogue
    surround = _write(tmp_path / "surround.mkv", [{"samples": _placed(speech, 2.0, 9.0), "rate": 48000,
                                                   "layout": "5.1", "speech_channel": 2}], 9.0)
    _, video, segments = _index(indexer, surround)
    assert video.tracks["audio"]["channels"] == 6
    assert "home in the stars" in segments[0][2] and abs(segments[0][0] - 2.0) < 0.6


def test_sound_running_past_the_picture_keeps_its_transcript(indexer, tmp_path):
    speech, _ = _clip("en", "new-home")
    path = _write(tmp_path / "long sound.mp4", [{"samples": _placed(speech, 9.0, 14.0)}], video_seconds=3.0)
    outcome, video, segments = _index(indexer, path)
    assert video.duration >= 13.5
    assert segments and abs(segments[0][0] - 9.0) < 0.6
    assert any("past the end of the picture" in w for w in video.warnings)
    assert "past the end of the picture" in outcome.message


def test_an_empty_audio_track_indexes_the_picture_and_says_so(indexer, tmp_path):
    path = _write(tmp_path / "empty sound.mkv", [{"samples": np.zeros(0, dtype=np.float32)}], video_seconds=3.0)
    outcome, video, segments = _index(indexer, path)
    assert segments == [] and video.has_video
    assert "nothing to transcribe" in outcome.message


def test_audio_that_breaks_part_way_keeps_what_came_before(indexer, tmp_path):
    first, _ = _clip("en", "new-home")
    second, _ = _clip("en", "ljspeech_LJ050")
    track = _placed(first, 1.0, 40.0) + _placed(second, 30.0, 40.0)
    whole = _write(tmp_path / "whole.m4a", [{"samples": track}], video_seconds=None)
    broken = tmp_path / "broken.m4a"
    data = whole.read_bytes()
    broken.write_bytes(data[: int(len(data) * 0.6)])
    decoded = decode_audio(broken, tmp_path)
    try:
        assert 5.0 < decoded.duration < 38.0  # the first sentence whole, the file 40 s long
        assert "stops" in decoded.warning and "kept what came before" in decoded.warning
    finally:
        decoded.remove()
    outcome, video, segments = _index(indexer, broken)
    assert "home in the stars" in " ".join(s[2] for s in segments)
    assert any("kept what came before" in w for w in video.warnings)
