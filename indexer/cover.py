"""The one picture an audio-only file gets: its cover art, or else a drawing of its waveform.

It becomes the file's single keyframe thumbnail, so cards, the library and the player show something
for a podcast or a song as they do for a video.
"""
from __future__ import annotations

import io
import logging
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
# Attached pictures are queued ahead of the first audio packet; past this many packets there is none.
MAX_COVER_PACKETS = 64
# A cover is a picture a person put there; anything this large is broken or crafted.
MAX_COVER_BYTES = 32 * 1024 * 1024
MAX_COVER_PIXELS = 8192 * 8192
# Smaller than this is a placeholder some taggers write, not a picture worth showing.
MIN_COVER_SIDE = 16

BACKGROUND_TOP = (27, 29, 36)
BACKGROUND_BOTTOM = (14, 15, 20)
ACCENT = (130, 152, 255)
# Drawn at twice the size and scaled down: rounded bars and the baseline come out anti-aliased.
SUPERSAMPLE = 2
# A file whose loudest moment is quieter than this is drawn at that level, so hiss is not blown up
# to full height.
MIN_FULL_SCALE = 0.05


def cover_art(path: Path) -> Image.Image | None:
    """The file's attached picture (ID3 APIC, MP4 covr, FLAC PICTURE) as RGB, or None.

    Never raises: a missing or broken cover only means the waveform is drawn instead.
    """
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            pictures = [s for s in container.streams.video if s.disposition & av.stream.Disposition.attached_pic]
            if not pictures:
                return None
            # ID3 can hold several (front, back, artist...): the front cover first
            pictures.sort(key=lambda s: "front" not in str(s.metadata.get("comment", "")).lower())
            rank = {s.index: i for i, s in enumerate(pictures)}
            found: dict[int, Image.Image] = {}
            for n, packet in enumerate(container.demux()):
                if n >= MAX_COVER_PACKETS or len(found) == len(pictures):
                    break
                index = packet.stream.index
                if index in rank and index not in found and packet.size:
                    image = _decode_picture(packet)
                    if image is not None:
                        found[index] = image
                        if rank[index] == 0:
                            break
            return min(found.items(), key=lambda kv: rank[kv[0]])[1] if found else None
    except Exception as exc:  # noqa: BLE001 - any failure here (demuxer, decoder, Pillow) means "no cover"
        log.debug("no usable cover art in %s: %s", path, exc)
        return None


def _decode_picture(packet) -> Image.Image | None:
    if packet.size > MAX_COVER_BYTES:
        return None
    cc = packet.stream.codec_context
    if cc is not None and cc.width and cc.height and cc.width * cc.height > MAX_COVER_PIXELS:
        return None
    image = None
    try:
        frames = packet.decode()
        if frames:
            image = frames[0].to_image()
    except (av.error.FFmpegError, ValueError) as exc:
        log.debug("cover picture does not decode with FFmpeg (%s): trying Pillow", exc)
    if image is None:
        # the packet is the picture file itself (JPEG, PNG, ...): Pillow may read what this FFmpeg build cannot
        try:
            with Image.open(io.BytesIO(bytes(packet))) as opened:
                if opened.width * opened.height > MAX_COVER_PIXELS:
                    return None
                image = opened.convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError):
            return None
    if min(image.size) < MIN_COVER_SIDE or image.width * image.height > MAX_COVER_PIXELS:
        return None
    return image.convert("RGB")


def _levels(audio, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Peak and RMS of each of `bins` equal stretches of the track, reading it one piece at a time."""
    total = max(1, int(round((audio.duration or 0.0) * SAMPLE_RATE)))
    bins = max(1, min(bins, total))
    edges = (np.arange(bins + 1, dtype=np.int64) * total) // bins  # first sample of each bin, then the end
    peak = np.zeros(bins, dtype=np.float32)
    squares = np.zeros(bins, dtype=np.float64)
    counts = np.zeros(bins, dtype=np.int64)
    for start, samples in audio.pieces():
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        if x.size == 0:
            continue
        a = int(round(start * SAMPLE_RATE))
        b = a + x.size
        if b <= 0:
            continue
        if a < 0:
            x, a = x[-a:], 0
        # samples past the declared duration (it is often a little short) count in the last bin
        first = min(bins - 1, int(np.searchsorted(edges, a, side="right")) - 1)
        last = min(bins - 1, int(np.searchsorted(edges, b - 1, side="right")) - 1)
        starts = np.concatenate(([0], edges[first + 1:last + 1] - a)).astype(np.intp)
        span = slice(first, last + 1)
        np.maximum(peak[span], np.maximum.reduceat(np.abs(x), starts), out=peak[span])
        squares[span] += np.add.reduceat(np.square(x), starts, dtype=np.float64)
        counts[span] += np.diff(np.append(starts, x.size))
    rms = np.sqrt(squares / np.maximum(counts, 1)).astype(np.float32)
    return np.nan_to_num(peak), np.nan_to_num(rms)


def _blend(colour, background, amount: float) -> tuple[int, int, int]:
    return tuple(round(c * amount + g * (1 - amount)) for c, g in zip(colour, background))


def waveform_picture(audio, width: int = 640, height: int = 360) -> Image.Image:
    """The track's loudness over time as centred bars on a dark background; silence is a thin baseline.

    `audio` has `.duration` (seconds) and `.pieces()` yielding (start seconds, float32 samples at
    16 kHz) in order; only one piece is held at a time, so a 3-hour file costs what a minute does.
    """
    width, height = max(int(width), 16), max(int(height), 16)
    W, H = width * SUPERSAMPLE, height * SUPERSAMPLE
    gradient = np.linspace(0.0, 1.0, H, dtype=np.float32)[:, None]
    rows = (np.array(BACKGROUND_TOP, np.float32) * (1 - gradient) + np.array(BACKGROUND_BOTTOM, np.float32) * gradient)
    image = Image.fromarray(np.repeat(rows[:, None, :], W, axis=1).round().astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)

    margin = round(W * 0.05)
    pitch = max(2 * SUPERSAMPLE, round(W / 160))  # ~160 bars across at any size
    bar = max(SUPERSAMPLE, round(pitch * 0.7))
    centre = H / 2
    half = H * 0.36
    baseline = max(1, SUPERSAMPLE)
    mid = _blend(ACCENT, BACKGROUND_TOP, 0.35)
    draw.rectangle([margin, centre - baseline / 2, W - margin, centre + baseline / 2], fill=mid)

    bins = max(1, (W - 2 * margin) // pitch)
    try:
        peak, rms = _levels(audio, bins)
    except Exception as exc:  # noqa: BLE001 - a picture without bars beats failing the whole file
        log.warning("waveform: reading the audio failed (%s); drawing an empty one", exc)
        peak = rms = np.zeros(0, np.float32)
    if peak.size:
        scale = 1.0 / max(float(peak.max()), MIN_FULL_SCALE)
        # fewer bins than asked (a very short file): spread them over the same width
        step = (W - 2 * margin) / peak.size
        faint = _blend(ACCENT, BACKGROUND_TOP, 0.45)
        for i, (p, r) in enumerate(zip(peak, rms)):
            x0 = margin + i * step + (step - min(bar, step)) / 2
            x1 = x0 + max(min(bar, step), 1) - 1
            for level, colour in ((p, faint), (r, ACCENT)):
                h = min(float(level) * scale, 1.0) * half
                if h < baseline:  # silence: the baseline alone
                    continue
                draw.rounded_rectangle([x0, centre - h, x1, centre + h], radius=min(bar / 2, h), fill=colour)
    return image.resize((width, height), Image.LANCZOS)


def audio_thumbnail(path: Path, audio) -> Image.Image:
    """What an audio-only file shows where a video shows a keyframe: its cover, else its waveform."""
    return cover_art(path) or waveform_picture(audio)
