"""Which files under the paths a person names are media to index."""
from __future__ import annotations

import os
from pathlib import Path

import av

from .probe import AUDIO_EXTENSIONS, VIDEO_EXTENSIONS

MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | AUDIO_EXTENSIONS

# Never worth opening with a demuxer while walking a folder.
NOT_MEDIA_EXTENSIONS = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".bmp", ".tif", ".tiff", ".txt", ".md",
                        ".pdf", ".doc", ".docx", ".json", ".xml", ".srt", ".vtt", ".nfo", ".db", ".sqlite3", ".py",
                        ".html", ".css", ".js", ".zip", ".gz", ".tar", ".7z", ".part", ".tmp", ".crdownload"}


def _has_video_stream(path: Path) -> bool:
    try:
        with av.open(str(path)) as container:
            return bool(container.streams.video)
    except (av.error.FFmpegError, OSError):
        return False


def discover(paths: list[Path]) -> list[Path]:
    """Files named directly are always taken (so a bad one gets a status); folders are walked
    recursively, taking video and audio extensions, and probing files whose extension says nothing.

    A file with an unknown extension is taken only when it has a video stream: FFmpeg's probing can
    take arbitrary binary data for MPEG audio, so sound is recognised by its file name."""
    found: dict[str, Path] = {}
    for given in paths:
        given = Path(given).expanduser()
        if not given.is_dir():
            found.setdefault(str(given.absolute()), given.absolute())
            continue
        for root, dirs, files in os.walk(given):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                path = Path(root, name).absolute()
                suffix = path.suffix.lower()
                if suffix in MEDIA_EXTENSIONS or (suffix not in NOT_MEDIA_EXTENSIONS and _has_video_stream(path)):
                    found.setdefault(str(path), path)
    return list(found.values())
