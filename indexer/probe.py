"""What a media file holds, read with PyAV without decoding it; clear errors for what is not a video."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from .errors import MediaError

# Checked before probing so a folder scan does not open every file; probing still decides.
VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".wmv", ".flv", ".mpg", ".mpeg", ".ts", ".mts",
                    ".m2ts", ".3gp", ".ogv", ".vob", ".mxf"}
AUDIO_EXTENSIONS = {".mp3", ".m4a", ".m4b", ".aac", ".wav", ".flac", ".ogg", ".oga", ".opus", ".wma", ".mka", ".aiff",
                    ".aif"}

# A declared size this large is a crafted or broken file, not a video a person shot.
MAX_PIXELS = 8192 * 8192


@dataclass
class MediaInfo:
    path: Path
    size_bytes: int
    container: str
    duration: float
    has_video: bool
    has_audio: bool
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    frame_count: int | None = None
    # the container's own chapters (mkv/mp4 chapter atoms): [{"start", "end", "title"}] in seconds
    chapters: list[dict] | None = None


def probe(path: Path) -> MediaInfo:
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise MediaError("file not found (moved or deleted?)") from None
    except PermissionError:
        raise MediaError("permission denied") from None
    if size == 0:
        raise MediaError("empty file (0 bytes)")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.InvalidDataError:
        raise MediaError("not a media file PyAV can read (unknown or corrupt format)") from None
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot open: {exc}") from None
    with container:
        # an attached picture (an mp3's or m4a's cover art) is a "video stream" of one frame: audio it stays
        vstream = next((s for s in container.streams.video if s.codec_context is not None
                        and not s.disposition & av.stream.Disposition.attached_pic), None)
        astream = next(iter(container.streams.audio), None)
        if vstream is None and astream is None:
            raise MediaError("no video or audio stream")
        duration = _duration(container, vstream or astream)
        info = MediaInfo(path=path, size_bytes=size, container=container.format.name.split(",")[0],
                         duration=duration, has_video=vstream is not None, has_audio=astream is not None)
        if astream is not None:
            info.audio_codec = astream.codec_context.name
        if vstream is not None:
            cc = vstream.codec_context
            info.video_codec = cc.name
            info.width, info.height = cc.width or None, cc.height or None
            rate = vstream.average_rate or vstream.guessed_rate or vstream.base_rate
            info.fps = float(rate) if rate else None
            info.frame_count = vstream.frames or (round(duration * info.fps) if info.fps and duration else None)
            if info.width and info.height and info.width * info.height > MAX_PIXELS:
                raise MediaError(f"declared frame size {info.width}x{info.height} is larger than supported "
                                 f"({MAX_PIXELS} pixels)")
        if not duration or duration <= 0:
            raise MediaError("the file declares no duration; it may be truncated or still being written")
        info.chapters = _chapters(container)
        return info


def _duration(container, stream) -> float:
    if stream is not None and stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return 0.0


def _chapters(container) -> list[dict]:
    """The chapters the file declares, in order; a chapter list that cannot be read is no chapters."""
    try:
        raw = container.chapters()
    except (av.error.FFmpegError, AttributeError, ValueError):
        return []
    chapters = []
    for c in raw:
        base = c.get("time_base")
        if not base:
            continue
        title = str((c.get("metadata") or {}).get("title") or "").strip()[:200]
        chapters.append({"start": round(float(c["start"] * base), 3), "end": round(float(c["end"] * base), 3),
                         "title": title})
    return sorted(chapters, key=lambda c: c["start"])
