"""Synthetic but real media files with known ground truth.

Videos are genuine H.264/AAC (or VP9/Opus) files built from real photographs bundled with
scikit-image and from solid colours, with hard cuts at known frames; speech (samples.speech) is
placed at known times.  Heavy imports (PyAV, scikit-image) happen inside functions: the CLI
imports this package even when it never generates anything.
"""

from __future__ import annotations

import functools
import os
import textwrap
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from samples.speech import AUDIO_RATE, Utterance, speech_track

# Photos in skimage.data that ship with the wheel; others (eagle, lily, ...)
# need a network download through pooch, which the demo must never depend on.
PHOTOS = (
    "astronaut", "brick", "camera", "cat", "chelsea", "clock", "coffee", "coins",
    "colorwheel", "grass", "gravel", "horse", "hubble_deep_field",
    "immunohistochemistry", "logo", "moon", "page", "retina", "rocket", "text",
)

# Photos are prepared this much larger than the frame on each side; the pan
# moves a frame-sized window across that margin.
_PAN_MARGIN = 0.10
# Fastest pan, as a fraction of the frame width per frame.  Keeps consecutive
# frames within a shot close enough that no shot detector sees a cut.
_PAN_MAX_SPEED = 0.0025
# Direction of the pan for the n-th scene; varied so successive shots of the
# same photo still look like different takes.
_PAN_DIRECTIONS = ((1.0, 0.4), (-1.0, 0.6), (0.5, -1.0), (-0.7, -0.8), (1.0, -0.3), (-0.4, 1.0))

# x264 preset for every H.264 file.  "veryfast" keeps B-frames, CABAC and
# scene-cut detection like real footage, at about 300 fps for 720p on two
# cores; "ultrafast" is ~2.5x faster but its files are ~4.5x larger.
X264_PRESET = "veryfast"


_VIDEO_CODECS = {  # suffix -> (video codec, audio codec)
    ".mp4": ("libx264", "aac"),
    ".m4v": ("libx264", "aac"),
    ".mov": ("libx264", "aac"),
    ".mkv": ("libx264", "aac"),
    ".webm": ("libvpx-vp9", "libopus"),
}
_AUDIO_CODECS = {
    ".m4a": "aac",
    ".aac": "aac",
    ".mka": "aac",
    ".wav": "pcm_s16le",
    ".flac": "flac",
    ".ogg": "libopus",
    ".opus": "libopus",
    ".mp3": "libmp3lame",
}


@dataclass(frozen=True)
class Scene:
    """One shot: a photo (a name from skimage.data, or an image file) or an RGB colour, shown for `seconds`; a colour
    shot may carry a `caption` written across it (on-screen text, like a slide or a title card)."""

    seconds: float
    photo: str | None = None
    colour: tuple[int, int, int] | None = None
    caption: str | None = None

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            raise ValueError(f"scene length must be positive, got {self.seconds}")
        if (self.photo is None) == (self.colour is None):
            raise ValueError("a scene needs exactly one of photo= or colour=")
        if self.photo is not None and self.photo not in PHOTOS and not Path(self.photo).is_file():
            raise ValueError(f"unknown photo {self.photo!r}; give an image file or one of {', '.join(PHOTOS)}")
        if self.colour is not None and (
            len(self.colour) != 3 or not all(0 <= int(c) <= 255 for c in self.colour)
        ):
            raise ValueError(f"colour must be three values in 0..255, got {self.colour!r}")
        if self.caption is not None and self.colour is None:
            raise ValueError("a caption goes on a colour scene")



@dataclass
class SampleVideo:
    path: Path
    duration: float
    fps: int
    cuts: list[float]  # start time of every scene after the first
    utterances: list[Utterance]  # with real end times
    has_audio: bool



# --------------------------------------------------------------------------- pictures


def _planes(rgb: np.ndarray, width: int, height: int) -> tuple[np.ndarray, ...]:
    """RGB image -> Y, U, V planes (yuv420p) scaled to width x height."""
    import av

    # swscale does the resize and colour conversion in one fast pass, with the
    # same BT.601 maths the encoder and decoders assume.
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    frame = frame.reformat(width=width, height=height, format="yuv420p", interpolation="BICUBIC")
    planes = tuple(
        np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : p.width].copy()
        for p in frame.planes
    )
    for plane in planes:
        plane.setflags(write=False)  # they live in caches
    return planes


def _photo_rgb(name: str) -> np.ndarray:
    if name not in PHOTOS:  # an image file (the real photos of people in tests and benches)
        from PIL import Image

        with Image.open(name) as image:
            return np.asarray(image.convert("RGB"))
    from skimage import data

    img = np.asarray(getattr(data, name)())
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    elif img.dtype != np.uint8:
        from skimage.util import img_as_ubyte

        img = img_as_ubyte(img)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.shape[2] == 4:  # logo: put it on white like a slide
        alpha = img[:, :, 3:4].astype(np.float32) / 255.0
        img = (img[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return img


@functools.lru_cache(maxsize=32)
def _photo_planes(name: str, width: int, height: int) -> tuple[np.ndarray, ...]:
    # Prepared once per photo and size, larger than the frame so each frame is
    # just a crop of it: no per-frame resizing.
    img = _photo_rgb(name)
    h, w = img.shape[:2]
    if name not in PHOTOS:
        # an image file is shown whole ("contain", grey bars): a portrait's face must not be cropped off
        side_w, side_h = max(w, h * width // height), max(h, w * height // width)
        framed = np.full((side_h, side_w, 3), 40, np.uint8)
        top, left = (side_h - h) // 2, (side_w - w) // 2
        framed[top:top + h, left:left + w] = img
        img, h, w = framed, side_h, side_w
    # Crop to the target aspect ("cover"), centred, then scale.
    if w * height > h * width:
        cw = h * width // height
        img = img[:, (w - cw) // 2 : (w - cw) // 2 + cw]
    else:
        ch = w * height // width
        img = img[(h - ch) // 2 : (h - ch) // 2 + ch]
    return _planes(img, width, height)


@functools.lru_cache(maxsize=64)
def _colour_planes(colour: tuple[int, int, int], width: int, height: int) -> tuple[np.ndarray, ...]:
    y, u, v = (int(p[0, 0]) for p in _planes(np.full((16, 16, 3), colour, np.uint8), 16, 16))
    planes = (
        np.full((height, width), y, np.uint8),
        np.full((height // 2, width // 2), u, np.uint8),
        np.full((height // 2, width // 2), v, np.uint8),
    )
    for plane in planes:
        plane.setflags(write=False)
    return planes


@functools.lru_cache(maxsize=16)
def _caption_planes(colour: tuple[int, int, int], caption: str, width: int, height: int) -> tuple[np.ndarray, ...]:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(16, height // 10))
    ink = (255, 255, 255) if sum(colour) < 384 else (0, 0, 0)
    lines = textwrap.wrap(caption, width=max(8, int(width / (height // 10) * 1.7)))
    line_height = int(height // 10 * 1.3)
    top = (height - line_height * len(lines)) // 2
    for i, line in enumerate(lines):
        left = (width - draw.textlength(line, font=font)) // 2
        draw.text((left, top + i * line_height), line, fill=ink, font=font)
    return _planes(np.asarray(image), width, height)


def _pan_big_size(width: int, height: int) -> tuple[int, int]:
    # Even margins keep the chroma planes (half size) aligned with luma.
    mx = 2 * round(width * _PAN_MARGIN / 2)
    my = 2 * round(height * _PAN_MARGIN / 2)
    return width + 2 * mx, height + 2 * my


def _pan_offsets(n_frames: int, index: int, range_x: int, range_y: int, width: int) -> list[tuple[int, int]]:
    """Top-left corner of the crop window for every frame of one shot."""
    dx, dy = _PAN_DIRECTIONS[index % len(_PAN_DIRECTIONS)]
    travel = _PAN_MAX_SPEED * width * max(n_frames - 1, 1)
    sx = dx * min(range_x, travel)
    sy = dy * min(range_y, travel * range_y / max(range_x, 1))
    cx, cy = range_x / 2, range_y / 2
    out = []
    for k in range(n_frames):
        t = k / (n_frames - 1) - 0.5 if n_frames > 1 else 0.0
        out.append((int(round(cx + sx * t)), int(round(cy + sy * t))))
    return out


# --------------------------------------------------------------------------- encoding


def _add_audio_stream(container, codec: str):
    stream = container.add_stream(codec, rate=AUDIO_RATE, layout="mono")
    if codec == "aac":
        stream.bit_rate = 96_000
        # The default "twoloop" coder costs about twice as much and buys
        # nothing audible for synthetic speech.
        stream.options = {"aac_coder": "fast"}
    return stream


def _audio_frame_size(codec: str) -> int:
    # Fixed-size codecs reject any other frame size but the last.
    return {"aac": 1024, "libopus": 960, "libmp3lame": 1152, "flac": 4608}.get(codec, 1024)


def _audio_frame(chunk: np.ndarray, fmt: str, pts: int):
    import av

    if fmt.startswith("s16"):
        data = (np.clip(chunk, -1.0, 1.0) * 32767.0).astype(np.int16)
    elif fmt.startswith("s32"):
        data = (np.clip(chunk, -1.0, 1.0) * 2147483647.0).astype(np.int32)
    else:
        data = chunk.astype(np.float32)
    frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format=fmt, layout="mono")
    frame.sample_rate = AUDIO_RATE
    frame.pts = pts
    frame.time_base = Fraction(1, AUDIO_RATE)
    return frame


def _encode_audio(container, stream, track: np.ndarray, start: int, stop: int) -> int:
    """Encode track[start:stop] in codec-sized frames; returns where it stopped."""
    size = _audio_frame_size(stream.codec_context.name)
    fmt = stream.format.name
    pos = start
    while pos < stop:
        chunk = track[pos : pos + size]
        for packet in stream.encode(_audio_frame(chunk, fmt, pos)):
            container.mux(packet)
        pos += len(chunk)
    return pos


def _container_options(suffix: str) -> dict[str, str]:
    if suffix in (".mp4", ".m4v", ".mov", ".m4a"):
        # faststart puts the index first, as web-served files have it; it is
        # also what makes a truncated file open and then fail part-way, like a
        # broken download, instead of not opening at all.
        return {"movflags": "+faststart"}
    if suffix in (".mkv", ".webm", ".mka"):
        # Matroska otherwise writes random segment UIDs, and the same plan
        # must give the same bytes.
        return {"fflags": "+bitexact"}
    return {}


def _temporary(path: Path) -> Path:
    # Same suffix so FFmpeg picks the same muxer; hidden so a half-written file
    # is never mistaken for a video by a folder scan.
    return path.with_name(f".{path.stem}.partial{path.suffix}")


def _write_atomically(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def make_video(
    path,
    scenes: Sequence[Scene],
    utterances: Iterable[Utterance] = (),
    *,
    fps: int = 25,
    size: tuple[int, int] = (640, 360),
    audio: bool = True,
    gop: int | None = None,
    motion: bool = True,
    voice: str = "en-us",
    comment: str | None = None,
) -> SampleVideo:
    """Encode `scenes` (with hard cuts between them) and speak `utterances`.

    The container follows the suffix: .mp4/.m4v/.mov/.mkv get H.264 + AAC,
    .webm gets VP9 + Opus.  `gop` fixes the keyframe interval in frames; None
    leaves the encoder default and also puts a keyframe at every cut, as
    encoders with scene detection do.  `comment` is stored in the container's
    comment tag.
    """
    import av

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _VIDEO_CODECS:
        raise ValueError(f"unsupported video suffix {path.suffix!r}; use one of {', '.join(_VIDEO_CODECS)}")
    width, height = size
    if width % 2 or height % 2 or width <= 0 or height <= 0:
        raise ValueError(f"frame size must be positive and even (yuv420p), got {size}")
    if not scenes:
        raise ValueError("need at least one scene")
    if gop is not None and gop < 1:
        raise ValueError("gop must be at least 1 frame")
    fps = int(fps)

    # Scene boundaries are rounded to whole frames from the running total so
    # rounding errors never accumulate; cuts are reported at those frames.
    bounds = [0]
    elapsed = 0.0
    for scene in scenes:
        elapsed += scene.seconds
        bounds.append(round(elapsed * fps))
        if bounds[-1] <= bounds[-2]:
            raise ValueError(f"scene {scene} is shorter than one frame at {fps} fps")
    n_frames = bounds[-1]
    duration = n_frames / fps
    cuts = [b / fps for b in bounds[1:-1]]

    utterances = list(utterances)
    if utterances and not audio:
        raise ValueError("utterances need audio=True")
    track, placed = speech_track(utterances, duration, AUDIO_RATE, voice) if audio else (None, [])

    big_w, big_h = _pan_big_size(width, height)
    video_codec, audio_codec = _VIDEO_CODECS[suffix]

    def write(tmp: Path) -> None:
        with av.open(str(tmp), "w", container_options=_container_options(suffix)) as container:
            if comment is not None:
                container.metadata["comment"] = comment
            vstream = container.add_stream(video_codec, rate=fps)
            vstream.width, vstream.height, vstream.pix_fmt = width, height, "yuv420p"
            if video_codec == "libx264":
                options = {"preset": X264_PRESET, "crf": "23", "threads": "0"}
                if gop is not None:
                    # A fixed interval means no extra keyframes at scene changes.
                    options["x264-params"] = f"keyint={gop}:min-keyint={gop}:scenecut=0"
            else:
                options = {"deadline": "realtime", "cpu-used": "8", "row-mt": "1",
                           "crf": "32", "b": "0", "threads": "0"}
                if gop is not None:
                    options["keyint_min"] = str(gop)
            if gop is not None:
                vstream.codec_context.gop_size = gop
            vstream.options = options
            astream = _add_audio_stream(container, audio_codec) if audio else None

            audio_pos = 0
            frame_index = 0
            for s, scene in enumerate(scenes):
                count = bounds[s + 1] - bounds[s]
                if scene.photo is not None:
                    source = _photo_planes(scene.photo, big_w, big_h)
                    if motion:
                        offsets = _pan_offsets(count, s, big_w - width, big_h - height, width)
                    else:
                        offsets = [((big_w - width) // 2, (big_h - height) // 2)] * count
                elif scene.caption:
                    source = _caption_planes(tuple(int(c) for c in scene.colour), scene.caption, width, height)
                    offsets = [(0, 0)] * count
                else:
                    source = _colour_planes(tuple(int(c) for c in scene.colour), width, height)
                    offsets = [(0, 0)] * count
                for k, (x, y) in enumerate(offsets):
                    frame = av.VideoFrame(width, height, "yuv420p")
                    for i, (plane, src) in enumerate(zip(frame.planes, source)):
                        # Chroma is half resolution; flooring the offset misaligns
                        # it by at most half a chroma sample, which is invisible.
                        px, py = (x, y) if i == 0 else (x // 2, y // 2)
                        dst = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
                        dst[:, : plane.width] = src[py : py + plane.height, px : px + plane.width]
                    frame.pts = frame_index
                    frame.time_base = Fraction(1, fps)
                    if gop is None and k == 0 and s > 0:
                        frame.pict_type = av.video.frame.PictureType.I
                    for packet in vstream.encode(frame):
                        container.mux(packet)
                    frame_index += 1
                    if astream is not None:
                        # Interleave: keep the audio up to date with the video so
                        # the muxer writes them side by side, as real files are.
                        due = frame_index * AUDIO_RATE // fps
                        audio_pos = _encode_audio(container, astream, track, audio_pos, due)
            for packet in vstream.encode(None):
                container.mux(packet)
            if astream is not None:
                _encode_audio(container, astream, track, audio_pos, len(track))
                for packet in astream.encode(None):
                    container.mux(packet)

    _write_atomically(path, write)
    return SampleVideo(path=path, duration=duration, fps=fps, cuts=cuts,
                       utterances=placed, has_audio=audio)


def make_audio_only(path, utterances: Iterable[Utterance], seconds: float, *, voice: str = "en-us") -> Path:
    """An audio file with speech and no video stream (.m4a AAC, .wav, .ogg/.opus, .flac, .mp3...).

    speech_track() gives the same utterances with their end times.
    """
    import av

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _AUDIO_CODECS:
        raise ValueError(f"unsupported audio suffix {path.suffix!r}; use one of {', '.join(_AUDIO_CODECS)}")
    track, _ = speech_track(utterances, seconds, AUDIO_RATE, voice)
    codec = _AUDIO_CODECS[suffix]

    def write(tmp: Path) -> None:
        with av.open(str(tmp), "w", container_options=_container_options(suffix)) as container:
            stream = _add_audio_stream(container, codec)
            _encode_audio(container, stream, track, 0, len(track))
            for packet in stream.encode(None):
                container.mux(packet)

    _write_atomically(path, write)
    return path


def patch_on_grey_frame(patch: np.ndarray, side: int = 128, size: tuple[int, int] = (640, 360)) -> np.ndarray:
    """A greyscale `patch` (a face crop, say) scaled to `side` pixels in the middle of a flat grey frame:
    what a detector meets in a real picture, without the rest of a photo to find things in."""
    import cv2

    width, height = size
    frame = np.full((height, width), 128, np.uint8)
    top, left = (height - side) // 2, (width - side) // 2
    frame[top:top + side, left:left + side] = cv2.resize(patch, (side, side), interpolation=cv2.INTER_CUBIC)
    return frame
