"""Synthetic but real media with known ground truth.

Used by ``reelscope demo`` (a small library to search), by test fixtures and by
the indexing benchmark.  Videos are genuine H.264/AAC (or VP9/Opus) files built
from real photographs bundled with scikit-image and from solid colours, with
hard cuts at known frames; speech is real synthetic speech from espeak-ng,
placed at known times.  Everything is deterministic for a given espeak-ng and
FFmpeg build, so the ground truth returned with each file can be asserted on.

Heavy imports (PyAV, scikit-image) happen inside functions: the CLI imports
this module even when it never generates anything.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import textwrap
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

SPEECH_RATE = 16_000  # what speak() returns: the rate speech models expect
AUDIO_RATE = 48_000  # what goes into the files, as most real footage has

# Photos in skimage.data that ship with the wheel; others (eagle, lily, ...)
# need a network download through pooch, which the demo must never depend on.
PHOTOS = (
    "astronaut", "brick", "camera", "cat", "chelsea", "clock", "coffee", "coins",
    "colorwheel", "grass", "gravel", "horse", "hubble_deep_field",
    "immunohistochemistry", "logo", "moon", "page", "retina", "rocket", "text",
)

# Bumped whenever the bytes generated for the same plan change, so that
# make_sample_library re-encodes files made by an older version.
_GENERATOR_VERSION = 1

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

# Real "silence" is never all zeros; about -80 dBFS keeps it inaudible while
# making sure nothing downstream special-cases digital zero.
_NOISE_FLOOR = 1e-4

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
    """One shot: a photo name from skimage.data or an RGB colour, shown for `seconds`; a colour
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
        if self.photo is not None and self.photo not in PHOTOS:
            raise ValueError(f"unknown photo {self.photo!r}; choose from {', '.join(PHOTOS)}")
        if self.colour is not None and (
            len(self.colour) != 3 or not all(0 <= int(c) <= 255 for c in self.colour)
        ):
            raise ValueError(f"colour must be three values in 0..255, got {self.colour!r}")
        if self.caption is not None and self.colour is None:
            raise ValueError("a caption goes on a colour scene")


@dataclass(frozen=True)
class Utterance:
    """Text spoken starting at `start` seconds; `end` is filled in by make_video."""

    start: float
    text: str
    end: float = 0.0


@dataclass
class SampleVideo:
    path: Path
    duration: float
    fps: int
    cuts: list[float]  # start time of every scene after the first
    utterances: list[Utterance]  # with real end times
    has_audio: bool


# --------------------------------------------------------------------------- speech


def speak(text: str, voice: str = "en-us", speed: int = 160, pitch: int = 50) -> np.ndarray:
    """Speech for `text` as float32 mono at 16 kHz in [-1, 1], silence trimmed."""
    return _speech(text, voice, speed, pitch, SPEECH_RATE).copy()


@functools.lru_cache(maxsize=512)
def _speech(text: str, voice: str, speed: int, pitch: int, rate: int) -> np.ndarray:
    # Cached because the talk video cycles a few dozen sentences hundreds of
    # times and planning needs each length before rendering; read-only so a
    # caller cannot corrupt the cache.
    samples, source_rate = _espeak(text, voice, speed, pitch)
    loud = np.flatnonzero(np.abs(samples) > 0.02 * np.abs(samples).max())
    if loud.size == 0:
        raise RuntimeError(f"espeak-ng produced no audible speech for {text!r}")
    # espeak-ng pads ~0.35 s of silence after the speech; trimming it makes
    # Utterance.end the end of the voice, not of the padding.
    pad = source_rate // 100
    samples = samples[max(loud[0] - pad, 0) : loud[-1] + pad]
    samples = _resample(samples, source_rate, rate)
    samples *= 0.8 / max(float(np.abs(samples).max()), 1e-9)  # same loudness for every voice
    out = np.clip(samples, -1.0, 1.0).astype(np.float32)
    out.setflags(write=False)
    return out


def _espeak(text: str, voice: str, speed: int, pitch: int) -> tuple[np.ndarray, int]:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError(
            "espeak-ng is not installed; it is needed to synthesise speech "
            "(Debian/Ubuntu: apt-get install espeak-ng, macOS: brew install espeak-ng)"
        )
    # Text goes through stdin so that text starting with '-' is not read as an option.
    text = " ".join(text.split())
    proc = subprocess.run(
        [exe, "-v", voice, "-s", str(int(speed)), "-p", str(int(pitch)), "-b", "1", "--stdout", "--stdin"],
        input=text.encode("utf-8"),
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0 or len(proc.stdout) <= 44:
        err = proc.stderr.decode("utf-8", "replace").strip() or f"exit status {proc.returncode}"
        raise RuntimeError(f"espeak-ng failed for voice {voice!r}: {err}")
    # Writing to a pipe, espeak-ng cannot seek back to fix the header, so the
    # frame count in it is bogus (~2**30); readframes() stops at the real end.
    with wave.open(io.BytesIO(proc.stdout)) as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise RuntimeError("unexpected WAV format from espeak-ng")
        rate = wav.getframerate()
        data = wav.readframes(wav.getnframes())
    return np.frombuffer(data, "<i2").astype(np.float32) / 32768.0, rate


def _resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    # An FFT resample is exact band-limiting and cheap for a few seconds of
    # audio, and avoids importing scipy.signal (about half a second).
    if src == dst:
        return x.astype(np.float32)
    n_out = max(1, round(len(x) * dst / src))
    spectrum = np.fft.rfft(x.astype(np.float64))
    keep = min(len(spectrum), n_out // 2 + 1)
    out = np.fft.irfft(spectrum[:keep], n_out) * (n_out / len(x))
    return out.astype(np.float32)


def speech_track(
    utterances: Iterable[Utterance], seconds: float, rate: int = AUDIO_RATE, voice: str = "en-us"
) -> tuple[np.ndarray, list[Utterance]]:
    """A mono float32 track of `seconds` with each utterance spoken at its start.

    Returns the track and the utterances (sorted by start) with real end times.
    Raises ValueError when utterances overlap or one runs past the end.
    """
    n = round(seconds * rate)
    rng = np.random.default_rng(1234)
    track = (rng.standard_normal(n) * _NOISE_FLOOR).astype(np.float32)
    placed: list[Utterance] = []
    for u in sorted(utterances, key=lambda u: u.start):
        if u.start < 0:
            raise ValueError(f"utterance starts before 0 s: {u.text!r}")
        if placed and u.start < placed[-1].end:
            raise ValueError(
                f"utterance {u.text!r} at {u.start:.2f} s overlaps {placed[-1].text!r}, "
                f"which is spoken until {placed[-1].end:.2f} s"
            )
        clip = _speech(u.text, voice, 160, 50, rate)
        end = u.start + len(clip) / rate
        if end > seconds + 1e-6:
            raise ValueError(
                f"utterance {u.text!r} runs until {end:.2f} s, past the end ({seconds:.2f} s)"
            )
        first = round(u.start * rate)
        clip = clip[: n - first]
        track[first : first + len(clip)] += clip
        placed.append(dataclasses.replace(u, end=end))
    return track, placed


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


# --------------------------------------------------------------------------- ready-made media


# Everyday sentences for the talk video: varied vocabulary so transcripts and
# text search have something to discriminate on.
TALK_SENTENCES = (
    "Good morning, and thank you all for coming along today.",
    "The weather this week has been surprisingly warm for the time of year.",
    "If you water tomato plants in the evening, the leaves stay healthy for longer.",
    "A good night's sleep does more for your memory than an extra hour of study.",
    "Our train was delayed by twenty minutes because of a signal failure near the bridge.",
    "The library on the high street now opens on Sunday afternoons.",
    "Remember to check the tyre pressure before a long drive on the motorway.",
    "She learned to play the violin at the age of forty, and now plays in a small orchestra.",
    "Fresh basil keeps better in a glass of water than in the fridge.",
    "The children built a tree house out of old pallets and a blue tarpaulin.",
    "Most coffee tastes best when the water is just below boiling.",
    "We walked along the coast path and watched the seals on the rocks.",
    "Paying off the credit card each month avoids a surprising amount of interest.",
    "The new bicycle lane has made the school run much safer.",
    "A spoonful of honey in hot water with lemon helps a sore throat.",
    "The museum has a new exhibition about ancient Egyptian jewellery.",
    "My grandmother always said that a tidy kitchen makes for a tidy mind.",
    "Please switch off the lights and close the windows when you leave the office.",
    "The football match went to penalties after a goalless draw.",
    "Mountain hikers should always carry a map, water and a warm jacket.",
    "Our neighbours adopted a rescue dog called Biscuit last spring.",
    "Online banking makes it easy to set up a monthly savings transfer.",
    "The recipe calls for two eggs, a cup of sugar and a pinch of cinnamon.",
    "Traffic in the city centre is much lighter during the school holidays.",
    "He repaired the old radio with a soldering iron and a lot of patience.",
    "The farmers market sells cheese, bread and apples from local orchards.",
    "Stretching for five minutes after running helps prevent sore muscles.",
    "The concert in the park was cancelled because of the thunderstorm.",
    "Learning a few words of the local language makes travelling more fun.",
    "At the end of the day, a short walk outside clears the head.",
)

# Cycled by make_talk_video: alternating colour and grey, bright and dark, so
# every cut changes the picture a lot.
_TALK_PHOTOS = (
    "astronaut", "camera", "coffee", "moon", "chelsea", "gravel", "rocket", "page",
    "hubble_deep_field", "coins", "immunohistochemistry", "brick", "colorwheel",
    "clock", "retina", "grass",
)


def make_talk_video(
    path, minutes: float = 10, size: tuple[int, int] = (1280, 720), cut_every: float = 10.0, fps: int = 25
) -> SampleVideo:
    """A talk-like video: speech throughout and a hard cut every `cut_every` seconds."""
    total = float(minutes) * 60.0
    if total <= 0 or cut_every <= 0:
        raise ValueError("minutes and cut_every must be positive")
    scenes = []
    t = 0.0
    while total - t > 1e-9:
        length = min(cut_every, total - t)
        # A sliver of a shot at the end would be a cut no real editor makes.
        if scenes and length < min(1.0, cut_every / 2):
            scenes[-1] = Scene(scenes[-1].seconds + length, photo=scenes[-1].photo)
        else:
            scenes.append(Scene(length, photo=_TALK_PHOTOS[len(scenes) % len(_TALK_PHOTOS)]))
        t += length
    duration = round(total * fps) / fps

    rng = random.Random(7)
    utterances = []
    t = 0.8
    i = 0
    while True:
        text = TALK_SENTENCES[i % len(TALK_SENTENCES)]
        length = len(_speech(text, "en-us", 160, 50, AUDIO_RATE)) / AUDIO_RATE
        if t + length > duration - 0.3:
            break
        utterances.append(Utterance(round(t, 3), text))
        t += length + rng.uniform(0.5, 1.5)
        i += 1
    return make_video(path, scenes, utterances, fps=fps, size=size)


def _lay_out(sentences: Sequence[str], voice: str, first: float = 1.0, pause: float = 1.0) -> list[Utterance]:
    out = []
    t = first
    for text in sentences:
        out.append(Utterance(round(t, 3), text))
        t += len(_speech(text, voice, 160, 50, AUDIO_RATE)) / AUDIO_RATE + pause
    return out


# The demo library: distinct topics a person might search for, with photos
# that fit as well as skimage.data allows.
_LIBRARY = (
    (
        "Kneading dough for bread.mp4", "en-us",
        (("coffee",), ((236, 224, 196),), ("brick",), ("gravel",)),
        (
            "Today we are baking a simple loaf of bread at home.",
            "Mix the flour, water, salt and yeast, then knead the dough for ten minutes until it feels smooth.",
            "Let it rise somewhere warm for an hour, and bake it in a hot oven until the crust is golden brown.",
        ),
    ),
    (
        "Saving money on groceries.mp4", "en-gb",
        (("coins",), ("page",), ((46, 125, 50),), ("text",)),
        (
            "Here are three easy ways to spend less at the supermarket.",
            "Write a shopping list before you leave home, and stick to it.",
            "Buy vegetables that are in season, and compare the price per kilo, not the price per pack.",
            "Cooking a big batch on Sunday saves both time and money during the week.",
        ),
    ),
    (
        "Our cat Chelsea.mp4", "en-us",
        (("chelsea",), ("grass",), ((92, 64, 140),), ("cat",)),
        (
            "This is our cat Chelsea, a tabby who loves sleeping in the sun.",
            "Every morning she waits by the kitchen door for her breakfast.",
            "In the afternoon she chases leaves in the garden, and then naps on the sofa.",
        ),
    ),
    (
        "Fusée – a rocket launch.mp4", "en-us",
        (("rocket",), ("moon",), ("hubble_deep_field",), ("astronaut",), ((12, 16, 40),)),
        (
            "The rocket lifted off right on time, just after sunrise.",
            "Within two minutes the boosters separated and fell back towards the ocean.",
            "Later tonight the astronauts will dock with the space station.",
        ),
    ),
)


def _library_plan(entry) -> tuple[str, list[Scene], list[Utterance], str]:
    name, voice, looks, sentences = entry
    utterances = _lay_out(sentences, voice, first=1.5, pause=1.2)
    last_end = utterances[-1].start + len(_speech(sentences[-1], voice, 160, 50, AUDIO_RATE)) / AUDIO_RATE
    # Lengths follow the speech (so they differ, as real clips do), within 20-40 s.
    total = min(max(20.0, round(last_end + 2.5, 1)), 40.0)
    per_scene = round(total / len(looks), 2)
    scenes = []
    for i, look in enumerate(looks):
        seconds = per_scene if i < len(looks) - 1 else round(total - per_scene * (len(looks) - 1), 2)
        if isinstance(look[0], str):
            scenes.append(Scene(seconds, photo=look[0]))
        else:
            scenes.append(Scene(seconds, colour=look[0]))
    return name, scenes, utterances, voice


def _plan_key(scenes, utterances, **settings) -> str:
    plan = {
        "version": _GENERATOR_VERSION,
        "scenes": [dataclasses.astuple(s) for s in scenes],
        "utterances": [(u.start, u.text) for u in utterances],
        **settings,
    }
    return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()[:16]


def _stored_comment(path: Path) -> dict | None:
    import av

    try:
        with av.open(str(path)) as container:
            return json.loads(container.metadata.get("comment", ""))
    except (av.FFmpegError, ValueError, OSError):
        return None


def make_sample_library(folder) -> list[SampleVideo]:
    """The demo library: four short 640x360 videos on distinct topics, with speech.

    Idempotent: a file whose stored plan matches is kept, not re-encoded.
    """
    folder = Path(folder)
    fps, size = 25, (640, 360)
    videos = []
    for entry in _LIBRARY:
        name, scenes, utterances, voice = _library_plan(entry)
        path = folder / name
        key = _plan_key(scenes, utterances, fps=fps, size=size, voice=voice)
        stored = _stored_comment(path) if path.exists() else None
        if stored and stored.get("reelscope_sample") == key and len(stored.get("ends", ())) == len(utterances):
            bounds = np.cumsum([0.0] + [s.seconds for s in scenes])
            frames = [round(b * fps) for b in bounds]
            videos.append(SampleVideo(
                path=path,
                duration=frames[-1] / fps,
                fps=fps,
                cuts=[f / fps for f in frames[1:-1]],
                utterances=[dataclasses.replace(u, end=e) for u, e in zip(utterances, stored["ends"])],
                has_audio=True,
            ))
            continue
        # The ends are only known after synthesis, and belong with the file:
        # encode once to learn them, then store them in the comment tag.
        ends = [u.start + len(_speech(u.text, voice, 160, 50, AUDIO_RATE)) / AUDIO_RATE for u in utterances]
        comment = json.dumps({"reelscope_sample": key, "ends": ends})
        videos.append(make_video(path, scenes, utterances, fps=fps, size=size, voice=voice, comment=comment))
    return videos


def make_bad_files(folder) -> dict[str, Path]:
    """Small files that break in the ways real libraries do, keyed by what is wrong."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    size = (320, 180)
    speech = [Utterance(0.5, "This recording is only a short test.")]
    scenes = [Scene(2.0, photo="astronaut"), Scene(2.0, photo="coffee"), Scene(2.0, colour=(30, 60, 150))]
    files: dict[str, Path] = {}

    truncated = folder / "truncated.mp4"
    make_video(truncated, scenes, speech, size=size)
    data = truncated.read_bytes()
    truncated.write_bytes(data[: int(len(data) * 0.4)])
    files["truncated"] = truncated

    files["not_video"] = folder / "not_video.mp4"
    files["not_video"].write_text("This is a text file pretending to be a video.\n", encoding="utf-8")

    files["zero_length"] = folder / "zero_length.mp4"
    files["zero_length"].write_bytes(b"")

    files["no_audio"] = make_video(folder / "no_audio.mp4", scenes, size=size, audio=False).path
    files["silent"] = make_video(folder / "silent.mp4", scenes, size=size).path
    files["audio_only"] = make_audio_only(folder / "audio_only.m4a", speech, 4.0)
    files["odd_name"] = make_video(folder / "Réunion d'équipe – 2026 (1).mp4", scenes, speech, size=size).path
    return files
