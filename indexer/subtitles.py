"""Text subtitles of a media file, from sidecar files beside it and streams inside it, as timed plain-text cues.

The indexer stores them as transcript segments (source "subtitles"). Bad subtitle data never fails indexing:
a track that cannot be read becomes a SkippedTrack whose reason is meant for the person who owns the file.
"""
from __future__ import annotations

import codecs
import contextlib
import html
import re
import threading
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

import av
import charset_normalizer
import pysubs2
from av.subtitles.subtitle import AssSubtitle

from .errors import Cancelled
from .languages import LANGUAGE_NAMES, language_code

# extension -> (pysubs2 format, what the track menu calls it)
FORMATS = {".srt": ("srt", "SubRip file"), ".vtt": ("vtt", "WebVTT file"), ".ass": ("ass", "ASS file"),
           ".ssa": ("ssa", "SSA file"), ".sub": ("microdvd", "MicroDVD file")}
# Codec descriptor names, plus the decoder names FFmpeg gives the same codecs.
TEXT_CODECS = {"mov_text", "subrip", "srt", "ass", "ssa", "webvtt", "text"}
BITMAP_CODECS = {"hdmv_pgs_subtitle", "pgssub", "dvd_subtitle", "dvdsub", "dvb_subtitle", "dvbsub", "xsub",
                 "dvb_teletext"}
FLAGS = {"forced", "sdh", "cc", "hi", "default"}
# MicroDVD counts frames; a file that does not declare its rate is read at the video's, else at this one.
DEFAULT_FPS = 25.0
# A feature film's SRT is ~100 KB; anything this large is a mis-named video, not subtitles.
MAX_SIDECAR_BYTES = 20 * 1024 * 1024

# Latin-1 and cp1252 letters and punctuation of Western European text. Left out on purpose: Š š Ž ž ð þ ý,
# which Czech (cp1250) and Turkish (cp1254) text turns into when read as cp1252.
_WESTERN = set("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜßàáâãäåæçèéêëìíîïñòóôõöøùúûüÿŒœŸ"
               "‘’‚“”„«»‹›–—…€£¥°·•¡¿©®™§ªº´¨\xa0")
_ASS_BLOCK = re.compile(r"\{[^{}]*\}")
_ASS_DRAWING = re.compile(r"\{[^{}]*\\p[1-9]")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<\d[\d:.]*>")  # <i>, <font ...>, WebVTT <c.x> <v Bob> and <00:01.000>
# a cue's time line, as pysubs2 reads it ("00:00:01,000 --> 00:00:02,000"; WebVTT may leave out the hours)
_TIMING = {fmt: re.compile(rf"\s*{time}\s*-->\s*{time}") for fmt, time in [
    ("srt", r"\d{1,2}:\d{1,2}:\d{1,2}[.,]\d{1,3}"), ("vtt", r"(?:\d{1,4}:)?\d{2}:\d{2}\.\d{2,3}")]}


class SubtitleError(ValueError):
    """A subtitle file that cannot be read; the message says why."""


@dataclass
class Cue:
    start: float  # seconds
    end: float    # always after start
    text: str     # plain text on one line, never empty


@dataclass
class SubtitleTrack:
    key: str                # "embedded:<stream index>" or "sidecar:<file name>", stable within the media file
    source: str             # "embedded" | "sidecar"
    language: str | None    # ISO 639-1
    label: str              # for a track menu: "English (SubRip file)"
    cues: list[Cue]         # sorted by start
    encoding: str | None = None  # what a sidecar was read as
    note: str = ""          # what went less than well: "read as GB18030 (not UTF-8)"


@dataclass
class SkippedTrack:
    key: str
    language: str | None
    reason: str


def find_subtitles(path: Path, cancel: threading.Event | None = None,
                   fps: float | None = None) -> tuple[list[SubtitleTrack], list[SkippedTrack]]:
    """Sidecar files beside `path` (by name), then the text subtitle streams inside it (by stream index)."""
    path = Path(path)
    tracks: list[SubtitleTrack] = []
    skipped: list[SkippedTrack] = []
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError):
        container = None  # probe() tells the owner what is wrong with the file; its sidecars still count
    with container if container is not None else contextlib.nullcontext():
        if fps is None and container is not None and container.streams.video:
            rate = container.streams.video[0].average_rate
            fps = float(rate) if rate else None
        for sidecar, tags in _sidecars(path):
            _check(cancel)
            try:
                tracks.append(_read_sidecar(sidecar, tags, fps))
            except SubtitleError as exc:
                skipped.append(SkippedTrack(f"sidecar:{sidecar.name}", _read_tags(tags)[0], str(exc)))
        if container is not None:
            _read_embedded(container, cancel, tracks, skipped)
    return tracks, skipped


def read_subtitle_file(path: Path, fps: float | None = None) -> SubtitleTrack:
    """One subtitle file; its language comes from the tags that end its name ("movie.en.forced.srt")."""
    path = Path(path)
    parts = path.name[:len(path.name) - len(path.suffix)].split(".")
    tags: list[str] = []
    while len(parts) > 1 and (language_code(parts[-1]) or parts[-1].lower() in FLAGS):
        tags.insert(0, parts.pop())
    return _read_sidecar(path, tags, fps)


def clean_text(text: str) -> str:
    text = html.unescape(_TAG.sub("", re.sub(r"\\[Nnh]", " ", _ASS_BLOCK.sub("", text))))
    return " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in text).split())


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def _read_tags(tags: list[str]) -> tuple[str | None, list[str]]:
    """(language, what else the menu shows) from a sidecar's name tags; "hi" is Hindi first, hearing impaired
    after a language ("movie.en.hi.srt")."""
    first = next((i for i, tag in enumerate(tags) if language_code(tag)), None)
    flags = {tag.lower() for i, tag in enumerate(tags) if i != first}
    extras = ["forced"] * ("forced" in flags) + ["SDH"] * bool(flags & {"sdh", "cc", "hi"})
    return (language_code(tags[first]) if first is not None else None), extras


def _label(language: str | None, extras: list[str], kind: str, key: str) -> str:
    names = ([LANGUAGE_NAMES[language]] if language else []) + extras
    return f"{', '.join(names)} ({kind})" if names else key


def _sidecars(media: Path) -> list[tuple[Path, list[str]]]:
    # NFC on both sides: names copied from macOS come decomposed
    stem = unicodedata.normalize("NFC", media.stem) + "."
    try:
        entries = sorted(media.parent.iterdir())
    except OSError:
        return []
    found = []
    for entry in entries:
        name = unicodedata.normalize("NFC", entry.name)
        if entry.suffix.lower() not in FORMATS or not name.startswith(stem):
            continue
        middle = name[len(stem):len(name) - len(entry.suffix)]
        tags = middle.split(".") if middle else []
        # only known tags, so "movie.part2.srt" (the subtitles of movie.part2.mp4) is not taken for movie.mp4
        if all(language_code(tag) or tag.lower() in FLAGS for tag in tags) and entry.is_file():
            found.append((entry, tags))
    return found


def _read_sidecar(path: Path, tags: list[str], fps: float | None) -> SubtitleTrack:
    fmt, kind = FORMATS.get(path.suffix.lower(), (None, "subtitle file"))
    try:
        size = path.stat().st_size
        if size > MAX_SIDECAR_BYTES:
            raise SubtitleError(f"too large for a subtitle file ({size // 2**20} MiB)")
        data = path.read_bytes()
    except OSError as exc:
        raise SubtitleError(f"cannot read the file: {exc.strerror or exc}") from None
    if data.startswith(b"\x00\x00\x01\xba"):
        raise SubtitleError("bitmap subtitles (VobSub .sub) cannot be read as text")
    text, encoding, note = _decode(data)
    if not text.strip():
        raise SubtitleError("empty: no cues")
    cues, dropped = _parse(text, fmt, fps)
    if dropped:
        note = "; ".join(filter(None, [note, f"{dropped} malformed block{'s' * (dropped > 1)} skipped"]))
    key = f"sidecar:{path.name}"
    language, extras = _read_tags(tags)
    return SubtitleTrack(key, "sidecar", language, _label(language, extras, kind, key), cues, encoding, note)


def _decode(data: bytes) -> tuple[str, str, str]:
    """(text, encoding, note) of a subtitle file's bytes."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace"), "utf-8", ""
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return data.decode("utf-16", "replace"), "utf-16", ""
    try:
        return data.decode("utf-8"), "utf-8", ""
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    encoding = {"gb2312": "gb18030", "gbk": "gb18030", "latin_1": "cp1252"}.get(best.encoding, best.encoding) \
        if best else None
    # charset_normalizer cannot tell the Latin code pages apart in a few lines (it reads French cp1252 as
    # cp1257 or mac_iceland); cp1252 is by far the commonest, so it wins when its reading is Western text.
    letters = [c for c in data.decode(encoding or "cp1252", "replace") if ord(c) > 127 and c.isalpha()]
    if encoding is None or sum("LATIN" in unicodedata.name(c, "") for c in letters) * 2 >= len(letters):
        try:
            if set(c for c in data.decode("cp1252") if ord(c) > 127) <= _WESTERN:
                encoding = "cp1252"
        except UnicodeDecodeError:
            pass
    if encoding is None:
        return data.decode("utf-8", "replace"), "utf-8", "not text in any known encoding; bad bytes replaced"
    return data.decode(encoding, "replace"), encoding, f"read as {encoding.upper()} (not UTF-8)"


def _parse(text: str, fmt: str | None, fps: float | None) -> tuple[list[Cue], int]:
    """Cues and the number of malformed blocks left out."""
    error, events, dropped = None, [], 0
    for guess in (False, True):
        try:
            # a mislabelled file (WebVTT named .srt...): pysubs2 guesses the format from the text
            attempt = pysubs2.formats.autodetect_format(text) if guess else fmt
            kept, dropped = _drop_malformed_blocks(text, attempt) if attempt in _TIMING else (text, 0)
            events = _load(kept, attempt, fps) if attempt else []
        except Exception as exc:  # pysubs2 on untrusted files: whatever it raises means the file is malformed
            error = error or (None if guess else exc)
        if events:
            break
    if not events:
        raise SubtitleError(f"malformed subtitle file: {error}" if error else
                            "malformed subtitle file: no cue with a valid time line")
    cues = _tidy([Cue(event.start / 1000, event.end / 1000, clean_text(event.text)) for event in events
                  if not event.is_comment and not _ASS_DRAWING.search(event.text)])
    if not cues:
        raise SubtitleError("empty: no cues")
    return cues, dropped


def _load(text: str, fmt: str, fps: float | None) -> list:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pysubs2 warns about each bad ASS field, and then reads on
        if fmt == "microdvd":
            try:  # the rate a MicroDVD file declares in its first line ("{1}{1}23.976") is the one it was made at
                return pysubs2.SSAFile.from_string(text, format_=fmt).events
            except pysubs2.exceptions.UnknownFPSError:
                pass
        return pysubs2.SSAFile.from_string(text, format_=fmt, fps=fps or DEFAULT_FPS).events


def _drop_malformed_blocks(text: str, fmt: str) -> tuple[str, int]:
    """pysubs2 appends every line that is not a time line to the cue before it, so one garbled block would
    end up inside the previous cue; keep only blocks with a time line, from that line on, numbered afresh
    (pysubs2 strips a number that ends a cue as the next cue's number)."""
    kept, dropped = [], 0
    for block in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = block.strip("\n").split("\n")
        at = next((i for i, line in enumerate(lines) if _TIMING[fmt].match(line)), None)
        if at is not None:
            kept.append("\n".join([str(len(kept) + 1), *lines[at:]]))
        vtt_header = fmt == "vtt" and block.lstrip().startswith(("WEBVTT", "NOTE", "STYLE", "REGION"))
        dropped += (at is None or at > 1) and bool(block.strip()) and not vtt_header
    return ("WEBVTT\n\n" if fmt == "vtt" else "") + "\n\n".join(kept) + "\n", dropped


def _tidy(cues: list[Cue]) -> list[Cue]:
    cues = sorted((cue for cue in cues if cue.text), key=lambda cue: cue.start)
    for i, cue in enumerate(cues):
        if cue.end <= cue.start:
            later = next((other.start for other in cues[i + 1:] if other.start > cue.start), None)
            cue.end = min(cue.start + 1.0, later) if later is not None else cue.start + 1.0
    return cues


def _read_embedded(container, cancel: threading.Event | None, tracks: list[SubtitleTrack],
                   skipped: list[SkippedTrack]) -> None:
    streams = {}  # index -> (stream, codec, language)
    for stream in container.streams.subtitles:
        key, language = f"embedded:{stream.index}", language_code(stream.metadata.get("language"))
        context = stream.codec_context
        codec = context.codec.canonical_name if context is not None else "unknown"
        if codec in BITMAP_CODECS or (context is not None and context.name in BITMAP_CODECS):
            skipped.append(SkippedTrack(key, language, f"bitmap subtitles ({codec}) cannot be read as text"))
        elif codec not in TEXT_CODECS:
            skipped.append(SkippedTrack(key, language, f"subtitle codec {codec} is not supported"))
        else:
            streams[stream.index] = (stream, codec, language)
    cues: dict[int, list[Cue]] = {index: [] for index in streams}
    failures: dict[int, list[str]] = {index: [] for index in streams}
    damage = ""
    try:
        # only the subtitle streams' packets are read out; audio and video are never decoded
        for packet in container.demux(*(stream for stream, _, _ in streams.values())) if streams else ():
            _check(cancel)
            if packet.size == 0 or packet.pts is None:
                continue
            try:
                subtitle = packet.stream.codec_context.decode2(packet)
            except (av.error.FFmpegError, ValueError) as exc:
                failures[packet.stream.index].append(str(exc))
                continue
            if subtitle is not None:
                cues[packet.stream.index] += _packet_cues(packet, subtitle)
    except av.error.FFmpegError as exc:
        damage = f"the file is damaged, reading stopped early ({exc})"
    for index, (stream, codec, language) in streams.items():
        key, track_cues, failed = f"embedded:{index}", _tidy(cues[index]), failures[index]
        if not track_cues:
            reason = f"cannot decode the subtitle stream ({failed[0]})" if failed else damage or "empty: no cues"
            skipped.append(SkippedTrack(key, language, reason))
            continue
        note = "; ".join(filter(None, [f"{len(failed)} packet(s) could not be decoded" * bool(failed), damage]))
        extras = [stream.metadata["title"]] if stream.metadata.get("title") else []
        extras += ["forced"] * bool(stream.disposition & av.stream.Disposition.forced)
        label = _label(language, extras, f"embedded, {codec}", key)
        tracks.append(SubtitleTrack(key, "embedded", language, label, track_cues, note=note))


def _packet_cues(packet, subtitle) -> list[Cue]:
    base = float(packet.pts * packet.stream.time_base)
    start = base + subtitle.start_display_time / 1000
    # end_display_time is 0 when unknown: _tidy gives such a cue a length
    end = base + (float(packet.duration * packet.stream.time_base) if packet.duration
                  else subtitle.end_display_time / 1000)
    found = []
    for rect in (rect for rect in subtitle if isinstance(rect, AssSubtitle)):
        text = (rect.text if rect.type == b"text" else rect.ass).decode("utf-8", "replace")
        if rect.type != b"text" and text.count(",") >= 8:
            text = text.split(",", 8)[8]  # "ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text"
        if not _ASS_DRAWING.search(text):
            found.append(Cue(start, end, clean_text(text)))
    return found
