"""The synthetic media must really have the properties the ground truth claims."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest

import samples
from samples import Scene, Utterance, make_audio_only, make_bad_files, make_video, speak

SCENES = [
    Scene(2.0, photo="astronaut"),
    Scene(1.2, colour=(200, 40, 40)),
    Scene(2.0, photo="coffee"),
    Scene(1.8, photo="camera"),
]
SPEECH = [
    Utterance(0.4, "The quick brown fox jumps over the lazy dog."),
    Utterance(4.5, "Bread needs flour and water."),
]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("v") / "clip.mp4", SCENES, SPEECH, size=(320, 180))


def _gray_thumbnails(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([
            f.reformat(width=64, height=36, format="gray").to_ndarray().astype(np.float32)
            for f in container.decode(video=0)
        ])


def _decode_audio(path: Path) -> tuple[np.ndarray, int]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.rate
        chunks = []
        for frame in container.decode(stream):
            data = frame.to_ndarray()
            data = data.mean(axis=0) if data.ndim == 2 and frame.format.is_planar else data.reshape(-1)
            if data.dtype.kind == "i":
                data = data / float(np.iinfo(data.dtype).max)
            chunks.append((round(frame.time * rate), data.astype(np.float32)))
    total = max(start + len(d) for start, d in chunks)
    out = np.zeros(total, np.float32)
    for start, data in chunks:
        out[max(start, 0) : start + len(data)] = data[max(-start, 0) :]
    return out, rate


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_container_properties_match_ground_truth(video):
    assert video.fps == 25
    assert video.duration == pytest.approx(7.0)
    assert video.cuts == pytest.approx([2.0, 3.2, 5.2])
    assert video.has_audio
    with av.open(str(video.path)) as container:
        vs = container.streams.video[0]
        assert vs.codec_context.name == "h264"
        assert vs.average_rate == 25
        assert (vs.width, vs.height) == (320, 180)
        assert container.duration / av.time_base == pytest.approx(7.0, abs=0.05)
        assert len(container.streams.audio) == 1
        assert container.streams.audio[0].codec_context.name == "aac"
        assert container.streams.audio[0].rate == 48_000
        keyframes = [i for i, f in enumerate(container.decode(video=0)) if f.key_frame]
    # Without a fixed GOP, every cut starts a keyframe, like scene-detecting encoders do.
    assert keyframes == [0, 50, 80, 130]


def test_frames_change_hard_at_cuts_and_slowly_within_shots(video):
    thumbs = _gray_thumbnails(video.path)
    assert len(thumbs) == 175
    diffs = np.abs(np.diff(thumbs, axis=0)).mean(axis=(1, 2))
    cut_frames = [round(c * video.fps) for c in video.cuts]
    at_cuts = diffs[[f - 1 for f in cut_frames]]
    elsewhere = np.delete(diffs, [f - 1 for f in cut_frames])
    assert at_cuts.min() > 20, at_cuts
    assert elsewhere.max() < 8, elsewhere.max()
    # Photos pan (like real footage), so frames within a photo shot are not all identical.
    assert (diffs[: cut_frames[0] - 1] > 0).mean() > 0.8


def test_speech_where_planted_and_quiet_elsewhere(video):
    audio, rate = _decode_audio(video.path)
    assert len(audio) / rate == pytest.approx(video.duration, abs=0.05)
    first, second = video.utterances
    assert first.end > first.start + 1.0 and second.end > second.start + 0.8
    assert second.end <= video.duration

    def window(a, b):
        return audio[int(a * rate) : int(b * rate)]

    for u in video.utterances:
        assert _rms(window(u.start, u.end)) > 0.03, u
    assert _rms(window(0.0, first.start - 0.05)) < 0.003
    assert _rms(window(first.end + 0.1, second.start - 0.1)) < 0.003
    assert _rms(window(second.end + 0.1, video.duration)) < 0.003


def test_fixed_gop_no_audio_and_static_frames(tmp_path):
    v = make_video(tmp_path / "gop.mp4", SCENES[:2], fps=10, size=(160, 90), audio=False, gop=7, motion=False)
    assert not v.has_audio and v.utterances == []
    with av.open(str(v.path)) as container:
        assert not container.streams.audio
        keyframes = [i for i, f in enumerate(container.decode(video=0)) if f.key_frame]
    assert keyframes == list(range(0, 32, 7))
    diffs = np.abs(np.diff(_gray_thumbnails(v.path), axis=0)).mean(axis=(1, 2))
    assert np.count_nonzero(diffs > 20) == 1  # only the cut; no pan without motion
    assert diffs[:19].max() < 2  # only compression noise at keyframes


def test_webm_and_mkv(tmp_path):
    for name, vcodec, acodec in (("a.webm", "vp9", "opus"), ("b.mkv", "h264", "aac")):
        v = make_video(tmp_path / name, SCENES[:2], [Utterance(0.3, "Hello there.")], size=(160, 90))
        with av.open(str(v.path)) as container:
            assert container.streams.video[0].codec_context.name == vcodec
            assert container.streams.audio[0].codec_context.name == acodec
            assert sum(1 for _ in container.decode(video=0)) == 80


def test_invalid_plans_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="overlaps"):
        make_video(tmp_path / "x.mp4", SCENES, [Utterance(0.5, "A long sentence that takes a while."),
                                                  Utterance(1.0, "Another one.")])
    with pytest.raises(ValueError, match="past the end"):
        make_video(tmp_path / "x.mp4", SCENES, [Utterance(6.5, "This will not fit in the video.")])
    with pytest.raises(ValueError):
        Scene(1.0)
    with pytest.raises(ValueError):
        Scene(1.0, photo="no such photo")
    assert not list(tmp_path.iterdir())  # nothing half-written left behind


def test_speak():
    clip = speak("Testing one two three.")
    assert clip.dtype == np.float32 and clip.ndim == 1
    assert 0.5 < len(clip) / samples.SPEECH_RATE < 3.0
    assert np.abs(clip).max() <= 1.0 and _rms(clip) > 0.05
    assert len(speak("Testing one two three.", speed=260)) < len(clip)
    with pytest.raises(RuntimeError, match="voice"):
        speak("hello", voice="nosuchvoice")


def test_speak_without_espeak(monkeypatch):
    monkeypatch.setattr(samples.speech.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="espeak-ng is not installed"):
        speak("A sentence that has never been cached before.")


def test_audio_only(tmp_path):
    for name in ("speech.m4a", "speech.wav"):
        path = make_audio_only(tmp_path / name, [Utterance(0.5, "Hello from the audio file.")], 3.0)
        with av.open(str(path)) as container:
            assert not container.streams.video
            assert len(container.streams.audio) == 1
        audio, rate = _decode_audio(path)
        assert len(audio) / rate == pytest.approx(3.0, abs=0.05)
        assert _rms(audio[int(0.7 * rate) : int(1.5 * rate)]) > 0.03
        assert _rms(audio[: int(0.4 * rate)]) < 0.003


def test_bad_files(tmp_path):
    files = make_bad_files(tmp_path)
    assert set(files) == {"truncated", "not_video", "zero_length", "no_audio", "silent", "audio_only", "odd_name"}
    assert all(p.exists() and p.parent == tmp_path for p in files.values())

    assert files["zero_length"].stat().st_size == 0
    for key in ("not_video", "zero_length"):
        with pytest.raises(av.FFmpegError):
            av.open(str(files[key])).close()

    # Truncated: the index is intact (faststart) but the data stops early.
    decoded = 0
    try:
        with av.open(str(files["truncated"])) as container:
            for _ in container.decode(video=0):
                decoded += 1
    except av.FFmpegError:
        pass
    assert decoded < 150 * 0.6

    with av.open(str(files["no_audio"])) as container:
        assert container.streams.video and not container.streams.audio
    with av.open(str(files["silent"])) as container:
        assert container.streams.video and container.streams.audio
    silent, _ = _decode_audio(files["silent"])
    assert 0 < _rms(silent) < 0.001  # faint noise, not digital zero
    with av.open(str(files["audio_only"])) as container:
        assert container.streams.audio and not container.streams.video

    odd = files["odd_name"]
    assert " " in odd.name and not odd.name.isascii()
    with av.open(str(odd)) as container:
        assert container.streams.video and container.streams.audio
    speech, rate = _decode_audio(odd)
    assert _rms(speech) > 0.01
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_sample_library_is_varied_and_idempotent(tmp_path):
    videos = samples.make_sample_library(tmp_path)
    assert len(videos) == 4
    names = [v.path.name for v in videos]
    assert len(set(names)) == 4 and all(" " in n for n in names)
    assert any(not n.isascii() for n in names)
    for v in videos:
        assert 20 <= v.duration <= 40
        assert 2 <= len(v.utterances) <= 4 and 2 <= len(v.cuts) <= 4
        assert all(u.end > u.start for u in v.utterances)
        with av.open(str(v.path)) as container:
            assert container.duration / av.time_base == pytest.approx(v.duration, abs=0.1)
            assert (container.streams.video[0].width, container.streams.video[0].height) == (640, 360)
    mtimes = [os.stat(v.path).st_mtime_ns for v in videos]

    again = samples.make_sample_library(tmp_path)
    assert [os.stat(v.path).st_mtime_ns for v in again] == mtimes  # not re-encoded
    assert again == videos


def test_talk_video_has_speech_throughout(tmp_path):
    v = samples.make_talk_video(tmp_path / "talk.mp4", minutes=0.5, size=(320, 180), cut_every=4.0)
    assert v.duration == pytest.approx(30.0)
    assert v.cuts == pytest.approx([4.0 * i for i in range(1, 8)])
    assert len({u.text for u in v.utterances}) == len(v.utterances) >= 5
    gaps = [b.start - a.end for a, b in zip(v.utterances, v.utterances[1:])]
    assert all(0.5 <= g <= 1.5 + 1e-6 for g in gaps)
    assert v.utterances[0].start < 1.5 and v.duration - v.utterances[-1].end < 6
