"""Shot boundaries and keyframes on real encoded video, whatever the encoder's keyframe layout."""
from __future__ import annotations

import pytest

import samples
from indexer.frames import analyse_video
from indexer.probe import probe

SCENES = [samples.Scene(2.4, photo="astronaut"), samples.Scene(3.0, photo="coffee"),
          samples.Scene(0.6, colour=(30, 60, 200)),  # a short shot that holds no keyframe of its own
          samples.Scene(13.0, photo="chelsea"),      # a long shot: needs keyframes inside it
          samples.Scene(2.0, colour=(40, 160, 60))]


@pytest.mark.parametrize("suffix,gop", [
    (".mp4", None),  # encoder default: keyframes at cuts
    (".mp4", 12),    # fixed short GOP: cuts fall between keyframes
    (".mp4", 1),     # all-intra
    (".mp4", 500),   # one keyframe for the whole file
    (".webm", None),  # VP9
])
def test_planted_cuts_found_within_one_frame(tmp_path, suffix, gop):
    fps = 25
    video = samples.make_video(tmp_path / f"cuts{suffix}", SCENES, fps=fps, audio=False, gop=gop)
    info = probe(video.path)
    result = analyse_video(video.path, info.duration, info.fps, interval=5.0)
    found = [shot.start for shot in result.shots[1:]]
    assert len(found) == len(video.cuts), f"planted {video.cuts}, found {found}"
    for planted, detected in zip(video.cuts, found):
        assert abs(planted - detected) <= 1 / fps + 1e-6, f"planted {video.cuts}, found {found}"
    assert result.shots[-1].end == pytest.approx(info.duration, abs=0.1)

    # every shot has a keyframe, and no stretch of a shot longer than the interval goes unsampled
    times_by_shot: dict[int, list[float]] = {}
    for frame in result.keyframes:
        shot = result.shots[frame.shot_index]
        assert shot.start - 1e-6 <= frame.time < shot.end
        times_by_shot.setdefault(frame.shot_index, []).append(frame.time)
    for shot in result.shots:
        times = times_by_shot.get(shot.index)
        assert times, f"shot {shot} has no keyframe"
        edges = [shot.start, *times, shot.end]
        assert max(b - a for a, b in zip(edges, edges[1:])) <= 5.0 * 1.5 + 1 / fps, (shot, times)
    assert all(frame.image.width >= 256 or frame.image.height >= 256 for frame in result.keyframes)


@pytest.mark.parametrize("gop", [None, 250, 12])
def test_keyframes_are_spread_over_each_shot_without_doubles_at_cuts(tmp_path, gop):
    """Cuts one frame before or after a multiple of the interval, and one after the last keyframe of
    a fixed 10 s GOP: no shot shows twice beside a cut in the shot strip, and no cut is missed."""
    fps, interval = 25, 10.0
    lengths = [9.96, 10.08, 20.04, 4.0, 8.0, 4.0]  # cuts at 9.96, 20.04, 40.08, 44.08 and 52.08
    scenes = [samples.Scene(seconds, photo=photo) for seconds, photo in
              zip(lengths, ["astronaut", "coffee", "chelsea", "rocket", "moon", "coins"])]
    video = samples.make_video(tmp_path / "near-cuts.mp4", scenes, fps=fps, audio=False, gop=gop)
    info = probe(video.path)
    result = analyse_video(video.path, info.duration, info.fps, interval=interval)
    found = [shot.start for shot in result.shots[1:]]
    assert found == pytest.approx(video.cuts, abs=1 / fps + 1e-6), f"planted {video.cuts}, found {found}"
    for shot in result.shots:
        times = [k.time for k in result.keyframes if k.shot_index == shot.index]
        assert times and times[0] == pytest.approx(shot.start, abs=1e-6), (shot, times)
        assert all(b - a >= interval / 2 for a, b in zip(times, times[1:])), (shot, times)
        assert all(shot.end - t >= interval / 2 for t in times[1:]), (shot, times)  # none just before the cut
        edges = [*times, shot.end]
        assert max(b - a for a, b in zip(edges, edges[1:])) <= 1.5 * interval + 1 / fps, (shot, times)


def test_keyframe_decoding_skips_most_frames_when_keyframes_are_sparse(tmp_path):
    """Stretches between two alike keyframes are not decoded frame by frame."""
    scenes = [samples.Scene(8.0, photo="astronaut"), samples.Scene(8.0, photo="coffee")]
    video = samples.make_video(tmp_path / "sparse.mp4", scenes, fps=25, audio=False, gop=50)
    info = probe(video.path)
    result = analyse_video(video.path, info.duration, info.fps, interval=5.0)
    assert [round(s.start, 2) for s in result.shots] == [0.0, 8.0]
    assert result.frames_decoded < 0.5 * info.frame_count, result.frames_decoded


def test_a_still_picture_is_analysed_once_and_a_moving_one_every_time(tmp_path):
    """Keyframes of a shot that shows one still picture (a slide left on screen) say which earlier
    keyframe they repeat, so CLIP, faces and text run once for it; a panning photo repeats nothing."""
    slide = samples.make_video(tmp_path / "slide.mp4", [samples.Scene(42.0, colour=(20, 40, 90), caption="Quarter results"),
                                                        samples.Scene(12.0, photo="coffee")],
                               fps=10, audio=False, motion=False)
    info = probe(slide.path)
    result = analyse_video(slide.path, info.duration, info.fps, interval=10.0)
    first_shot = [k for k in result.keyframes if k.shot_index == 0]
    assert len(first_shot) >= 4
    assert first_shot[0].same_as is None and all(k.same_as == 0 for k in first_shot[1:])
    assert all(k.same_as is None for k in result.keyframes if k.shot_index == 1)  # another picture
    assert all(k.signature is None for k in result.keyframes)  # the signatures are not kept

    panning = samples.make_video(tmp_path / "pan.mp4", [samples.Scene(42.0, photo="chelsea")], fps=10, audio=False)
    info = probe(panning.path)
    moving = analyse_video(panning.path, info.duration, info.fps, interval=10.0).keyframes
    assert len(moving) >= 4 and all(k.same_as is None for k in moving)


def test_cuts_at_keyframes_are_placed_from_the_reference_frames_alone(tmp_path):
    """x264 puts a keyframe at each cut and makes the frame before it a reference frame, so placing
    those cuts exactly needs only the reference frames: about half of the stream is decoded."""
    fps = 25
    scenes = [samples.Scene(4.0, photo=p) for p in ("astronaut", "coffee", "chelsea", "rocket", "moon")]
    video = samples.make_video(tmp_path / "cuts.mp4", scenes, fps=fps, audio=False)
    info = probe(video.path)
    result = analyse_video(video.path, info.duration, info.fps, interval=5.0)
    assert [s.start for s in result.shots[1:]] == pytest.approx(video.cuts, abs=1 / fps + 1e-6)
    total = round(info.duration * fps)
    assert result.frames_decoded <= 0.65 * total, (result.frames_decoded, total)
