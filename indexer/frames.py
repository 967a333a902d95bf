"""Shots and keyframes from the video stream, decoding as little as possible.

Pass 1 decodes only the stream's keyframes (`skip_frame="NONKEY"`), which encoders place at
scene cuts and at least every few seconds. Only where two neighbouring keyframes differ (a cut
lies between them) or lie far apart is that stretch decoded again (pass 2, after a seek): its
reference frames first (`skip_frame="NONREF"`, about half of an x264 stream's frames), and every
frame only where a cut may lie between two of them more than a frame apart. Each cut lands on its
exact frame. An all-intra file decodes all of its frames once and never refines.
"""
from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import av
import numpy as np
from PIL import Image

from .errors import Cancelled, MediaError

SIGNATURE_SIZE = (64, 36)
# Mean absolute RGB difference (0..1) between consecutive frames that marks a hard cut...
CUT_THRESHOLD = 0.11
# ...and that must also stand out this much from the recent motion, so fast pans are not cuts.
CUT_CONTRAST = 2.5
# Two keyframes whose colour histograms differ this much (0..1) may have a cut between them, so
# what lies between is decoded. Histograms shrug off camera motion, which moves pixels a lot
# over a few seconds; a pixel difference this large still counts, for cuts between alike colours.
REFINE_HISTOGRAM = 0.15
REFINE_PIXELS = 0.30
# Two decoded frames further apart than one frame may have a cut between them when they differ by
# more than this share of CUT_THRESHOLD (less than a whole cut's: the frames on either side of a
# cut are not the very ones beside it)
CANDIDATE_SHARE = 0.7
# The short side of the images kept for CLIP and thumbnails (CLIP looks at 224).
KEEP_SHORT_SIDE = 256
# Near-lossless: CLIP resizes the kept image to 224 px, which changes it far more than this does
KEEP_JPEG_QUALITY = 92
# A keyframe whose picture differs from an earlier one of its shot by less than this (0..1, as a cut is
# measured) shows the same still picture: a slide, a paused screen, a fixed camera on an empty room.
# It keeps its own time and thumbnail, and takes that keyframe's CLIP vector, faces and text instead of
# running the models again. About one grey level: encoder noise, not a change a model could see.
REPEAT_DIFFERENCE = 0.004


@dataclass
class Shot:
    index: int
    start: float
    end: float


@dataclass
class FrameSample:
    """A keyframe kept as JPEG: a 3-hour video's thousand keyframes take ~20 MB, not ~250 MB as pixels."""
    time: float
    jpeg: bytes
    width: int
    height: int
    shot_index: int = -1
    same_as: int | None = None  # the earlier keyframe (its index) whose picture this one repeats
    signature: np.ndarray | None = field(default=None, repr=False)  # only until keyframes are chosen

    @property
    def image(self) -> Image.Image:
        return Image.open(io.BytesIO(self.jpeg)).convert("RGB")


@dataclass
class VisualAnalysis:
    shots: list[Shot]
    keyframes: list[FrameSample]
    frames_decoded: int = 0
    keyframes_decoded: int = 0


_PLANAR_YUV = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p"}


def _signature(frame: av.VideoFrame) -> np.ndarray:
    """A 3x36x64 Y/U/V thumbnail; read straight off the decoded planes, so nearly free per frame."""
    cols, rows = SIGNATURE_SIZE
    if frame.format.name not in _PLANAR_YUV:
        frame = frame.reformat(width=cols, height=rows, format="yuv444p")
    out = np.empty((3, rows, cols), dtype=np.int16)
    for i, plane in enumerate(frame.planes[:3]):
        pixels = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
        ys = np.linspace(0, plane.height - 1, rows).astype(np.intp)
        xs = np.linspace(0, plane.width - 1, cols).astype(np.intp)
        out[i] = pixels[np.ix_(ys, xs)]
    return out


def _difference(a: np.ndarray, b: np.ndarray) -> float:
    """0..1; brightness counts fully, colour half, so a cut between equally bright colours still shows."""
    delta = np.abs(a - b).reshape(3, -1).mean(axis=1)
    return float(delta[0] + 0.5 * (delta[1] + delta[2])) / 255.0


def _histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """0..1, L1 between normalised Y (32 bins) and U, V (16 bins each) histograms."""
    total = 0.0
    for plane, shift in ((0, 3), (1, 4), (2, 4)):
        bins = 256 >> shift
        ha = np.bincount((a[plane] >> shift).ravel(), minlength=bins)
        hb = np.bincount((b[plane] >> shift).ravel(), minlength=bins)
        total += np.abs(ha - hb).sum() / a[plane].size
    return total / 6.0


def _may_hide_cut(a: np.ndarray, b: np.ndarray) -> bool:
    return _histogram_distance(a, b) > REFINE_HISTOGRAM or _difference(a, b) > REFINE_PIXELS


def _keep(frame: av.VideoFrame, t: float, signature: np.ndarray) -> FrameSample:
    w, h = frame.width, frame.height
    scale = KEEP_SHORT_SIDE / min(w, h)
    if scale < 1:
        w, h = max(2, round(w * scale)), max(2, round(h * scale))
    buf = io.BytesIO()
    frame.to_image(width=w, height=h).save(buf, format="JPEG", quality=KEEP_JPEG_QUALITY)
    return FrameSample(t, buf.getvalue(), w, h, signature=signature)


def _frame_time(frame: av.VideoFrame, fallback_index: int, fps: float) -> float:
    return float(frame.time) if frame.time is not None else fallback_index / fps


class _Refiner:
    """Pass 2: decodes the frames between two keyframes through its own demuxer."""

    def __init__(self, path: Path):
        try:
            self.container = av.open(str(path))
        except av.error.FileNotFoundError:
            raise MediaError("file vanished while it was being indexed") from None
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        # only signatures and the odd 256-px sample come from these frames: deblocking them cost a
        # quarter of the decoding and changes nothing a cut test or CLIP at 224 px can see
        self.stream.codec_context.options = {"skip_loop_filter": "all"}
        self.frames_decoded = 0

    def frames_between(self, start_pts: int, end_pts: int | None, references_only: bool = False):
        """The frames from start_pts up to end_pts in display order; `references_only`: only those other
        frames are predicted from (I, P and reference B frames: about half of an x264 stream's)."""
        self.stream.codec_context.skip_frame = "NONREF" if references_only else "DEFAULT"
        self.container.seek(start_pts, stream=self.stream, backward=True, any_frame=False)
        for frame in self.container.decode(self.stream):
            if frame.pts is None or frame.pts < start_pts:
                continue
            if end_pts is not None and frame.pts >= end_pts:
                return
            self.frames_decoded += 1
            yield frame

    def close(self):
        self.container.close()


def analyse_video(path: Path, duration: float, fps: float | None, interval: float = 10.0,
                  progress: Callable[[float], None] | None = None,
                  cancel: threading.Event | None = None) -> VisualAnalysis:
    """Find shots (hard cuts) and pick keyframes: each shot's first frame, then one every `interval` s."""
    fps = fps or 25.0
    max_gap = 2 * interval
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise MediaError(f"cannot open video: {exc}") from None
    refiner: _Refiner | None = None
    cut_times: list[float] = []
    samples: list[FrameSample] = []
    keyframes_decoded = 0
    last_time = 0.0
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.skip_frame = "NONKEY"
        prev = None  # (pts, time, signature) of the previous keyframe
        last_sample_time = -1e9
        for index, frame in enumerate(_decode(container, stream, lambda: (last_time, duration))):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            keyframes_decoded += 1
            t = _frame_time(frame, index, fps)
            last_time = max(last_time, t)
            sig = _signature(frame)
            changed = prev is not None and _may_hide_cut(prev[2], sig)
            if prev is not None and frame.pts is not None and prev[0] is not None and (changed or t - prev[1] > interval * 1.05):
                refiner = refiner or _Refiner(path)
                found_cuts, found_samples, last_sample_time = _refine(
                    refiner, prev, (frame.pts, t, sig), interval, last_sample_time, fps)
                cut_times.extend(found_cuts)
                samples.extend(found_samples)
                if found_cuts and found_cuts[-1] == t:
                    last_sample_time = -1e9  # this keyframe opens a new shot
            elif changed and prev is not None:
                cut_times.append(t)  # no timestamps to refine with: the cut is at this keyframe's precision
                last_sample_time = -1e9
            # of the keyframes around the time the next sample is due, the nearest: waiting for the
            # first one past it could leave up to a GOP more than the interval unsampled
            gop = t - prev[1] if prev is not None else 0.0
            if prev is None or t - last_sample_time >= interval - gop / 2:
                samples.append(_keep(frame, t, sig))
                last_sample_time = t
            prev = (frame.pts, t, sig)
            if progress and duration:
                progress(min(1.0, t / duration))
        if prev is not None and prev[0] is not None and (duration or 0) - prev[1] > 1.5 / fps:
            # after the last keyframe there is no next one to compare with: cuts and long stretches
            # there are found only by decoding the tail frame by frame
            refiner = refiner or _Refiner(path)
            try:
                found_cuts, found_samples, _ = _refine(refiner, prev, None, interval, last_sample_time, fps)
            except av.error.FFmpegError:
                found_cuts, found_samples = [], []  # a damaged tail: the truncation check below speaks for it
            cut_times.extend(found_cuts)
            samples.extend(found_samples)
    finally:
        container.close()
        if refiner:
            refiner.close()
    if keyframes_decoded == 0:
        raise MediaError("the video stream has no decodable frames")
    if duration and last_time < duration - max(max_gap, 0.1 * duration) and keyframes_decoded > 1:
        raise MediaError(f"video stops decoding at {last_time:.1f} s of {duration:.1f} s: truncated or corrupt")
    shots = _shots_from_cuts(sorted(set(round(c, 4) for c in cut_times)), duration or last_time)
    keyframes = _assign_samples(samples, shots, interval)
    frames_decoded = keyframes_decoded + (refiner.frames_decoded if refiner else 0)
    return VisualAnalysis(shots=shots, keyframes=keyframes, frames_decoded=frames_decoded,
                          keyframes_decoded=keyframes_decoded)


def _decode(container, stream, where: Callable[[], tuple[float, float]]):
    try:
        yield from container.decode(stream)
    except av.error.EOFError:
        return
    except av.error.FFmpegError as exc:
        reached, duration = where()
        raise MediaError(f"video is truncated or corrupt: decoding stopped at {reached:.1f} s of {duration:.1f} s "
                         f"({exc.strerror})") from None


def _refine(refiner: _Refiner, prev, cur, interval: float, last_sample_time: float, fps: float):
    """Exact cuts from keyframe `prev` up to keyframe `cur` (None: to the end of the stream), plus
    samples in long stretches.

    First only the reference frames are decoded. Where two of them a frame apart straddle a cut, it
    lies exactly there; where two further apart may (their difference passes CANDIDATE_SHARE of a
    cut's), every frame is decoded to place it. x264 makes the frame before a keyframe a reference,
    so a cut at a keyframe, the usual case, needs no second pass."""
    found = _scan(refiner, prev, cur, interval, last_sample_time, fps, references_only=True)
    return found if found is not None else _scan(refiner, prev, cur, interval, last_sample_time, fps)


def _scan(refiner: _Refiner, prev, cur, interval: float, last_sample_time: float, fps: float,
          references_only: bool = False):
    """(cuts, samples, last sample time) from the frames between `prev` and `cur`; None when only the
    reference frames were decoded and a cut may hide between two of them."""
    prev_pts, prev_time, prev_sig = prev
    cur_pts, cur_time, cur_sig = cur if cur is not None else (None, None, None)
    cuts: list[float] = []
    samples: list[FrameSample] = []
    recent: list[float] = []  # per-frame differences (those of frames further apart, shared out)
    last_sig, last_t = prev_sig, prev_time
    shot_start = prev_time

    def step(d: float, t: float) -> bool | None:
        """Whether the frame at t opens a shot; None when a cut may hide among frames not decoded."""
        frames_apart = max(1.0, (t - last_t) * fps)
        if references_only and frames_apart > 1.5:
            if d > CANDIDATE_SHARE * CUT_THRESHOLD:
                return None
            recent.append(d / frames_apart)
            return False
        cut = _is_cut(d, recent)
        recent.append(d)
        return cut

    for frame in refiner.frames_between(prev_pts + 1, cur_pts, references_only):
        t = _frame_time(frame, 0, fps)
        sig = _signature(frame)
        cut = step(_difference(last_sig, sig), t)
        if cut is None:
            return None
        if cut:
            cuts.append(t)
            shot_start = t
            last_sample_time = -1e9
        if t - last_sample_time >= interval and (t - shot_start >= min(interval, 0.5) or shot_start == t):
            samples.append(_keep(frame, t, sig))
            last_sample_time = t
        last_sig, last_t = sig, t
    if cur is not None:
        cut = step(_difference(last_sig, cur_sig), cur_time)
        if cut is None:
            return None
        if cut:
            cuts.append(cur_time)
    return cuts, samples, last_sample_time


def _is_cut(d: float, recent: list[float]) -> bool:
    if d <= CUT_THRESHOLD:
        return False
    window = recent[-8:]
    motion = float(np.median(window)) if window else 0.0
    return d >= CUT_CONTRAST * max(motion, 0.01)


def _shots_from_cuts(cuts: list[float], end: float) -> list[Shot]:
    bounds = [0.0] + [c for c in cuts if 0.0 < c < end] + [end]
    return [Shot(i, bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1) if bounds[i + 1] > bounds[i]]


def _assign_samples(samples: list[FrameSample], shots: list[Shot], interval: float) -> list[FrameSample]:
    """Give each sample its shot; keep each shot's first sample and then one per `interval`, but none
    in the last half interval before the shot ends: the next shot's first frame follows within
    moments, and the shot strip would show this shot twice beside it. A kept sample that repeats
    the last distinct picture of its shot says so (`same_as`)."""
    samples.sort(key=lambda s: s.time)
    kept: list[FrameSample] = []
    starts = [s.start for s in shots]
    last_in_shot: dict[int, float] = {}
    distinct_in_shot: dict[int, int] = {}  # shot -> index in `kept` of its latest picture that repeats none
    for sample in samples:
        shot = max(0, int(np.searchsorted(starts, sample.time + 1e-6, side="right")) - 1)
        previous = last_in_shot.get(shot)
        if previous is not None and (sample.time - previous < interval * 0.5
                                     or shots[shot].end - sample.time < interval * 0.5):
            continue
        sample.shot_index = shot
        last_in_shot[shot] = sample.time
        source = distinct_in_shot.get(shot)
        if source is not None and _difference(kept[source].signature, sample.signature) < REPEAT_DIFFERENCE:
            sample.same_as = source
        else:
            distinct_in_shot[shot] = len(kept)
        kept.append(sample)
    for sample in samples:
        sample.signature = None
    return kept
