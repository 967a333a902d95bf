"""Catalog rows for the track tests (API and UI): written directly, as the pipeline would leave them.

- "film": a video with speech, two subtitle tracks (French embedded, German sidecar), a skipped
  picture-based track, the second of two audio tracks chosen, and a warning;
- "podcast": an audio-only file (has_video False) with speech and one keyframe (its waveform);
- "silent film": a video with no speech and one subtitle track (the default must be that track);
- "old": a video indexed before tracks were recorded (tracks and warnings None).

With `media` True, real files are made for the rows, so a browser can play them.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from catalog import Keyframe, SegmentSource, Shot, TranscriptSegment, Video, VideoStatus

FILM_WARNING = "audio stops decoding at 7.5 s: kept what came before"
SKIPPED_REASON = "picture-based subtitles (hdmv_pgs_subtitle) cannot be read as text"
# cue texts, per track; the German one has a line break and markup that must come out as text
FILM_SPEECH = ["Good evening and welcome to the film.", "The train leaves at noon."]
FILM_FRENCH = ["Bonsoir et bienvenue.", "Le train part à midi."]
FILM_GERMAN = ["Guten Abend\nund willkommen.", "Der Zug fährt <b>mittags</b> ab."]
PODCAST_SPEECH = ["This is the first part of the podcast.", "And this is the second part, about bread.",
                  "Thanks for listening."]
SILENT_ENGLISH = ["[a door creaks]", "[footsteps]"]


class _Tone:
    """Just enough of indexer.audio's interface for waveform_picture: a short hum in silence."""

    duration = 8.0

    def pieces(self):
        t = np.arange(int(self.duration * 16_000)) / 16_000
        x = (0.5 * np.sin(2 * np.pi * 180 * t) * (t > 2.0) * np.exp(-0.3 * (t - 2.0).clip(0))).astype(np.float32)
        yield 0.0, x


def _thumbnail(settings, name: str, image) -> str:
    folder = Path(settings.thumbnails_dir)
    folder.mkdir(parents=True, exist_ok=True)
    image.convert("RGB").save(folder / name, format="JPEG", quality=90)
    return name


def _segments(video_id: int, texts: list[str], source: str, track: str | None, language: str,
              first: float = 0.5, step: float = 2.0) -> list[TranscriptSegment]:
    return [TranscriptSegment(video_id=video_id, index=i, start=first + i * step, end=first + i * step + 1.8,
                              text=text, language=language, source=source, track=track, words=[])
            for i, text in enumerate(texts)]


def add_tracks_library(catalog, settings, media: bool = False) -> dict[str, int]:
    """Adds the four rows (and, with `media`, their files and thumbnails); returns their ids by name."""
    from PIL import Image

    from indexer.cover import waveform_picture

    folder = Path(settings.data_dir).parent / "track-media"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"film": folder / "film.mp4", "podcast": folder / "podcast.m4a",
             "silent film": folder / "silent film.mp4", "old": folder / "old.mp4"}
    if media:
        import samples

        samples.make_video(paths["film"], [samples.Scene(4.0, photo="coffee"), samples.Scene(4.0, photo="rocket")],
                           size=(320, 180))
        samples.make_video(paths["silent film"], [samples.Scene(6.0, photo="moon")], audio=False, size=(320, 180))
        samples.make_audio_only(paths["podcast"], [], 8.0)
    film_thumb = _thumbnail(settings, "tracks-film.jpg", Image.new("RGB", (256, 144), (120, 80, 40)))
    podcast_thumb = _thumbnail(settings, "tracks-podcast.jpg", waveform_picture(_Tone()))

    now = dt.datetime.now(dt.timezone.utc)
    ids: dict[str, int] = {}
    with catalog.session() as s:
        film = Video(
            path=str(paths["film"]), title="Film with subtitles", status=VideoStatus.INDEXED, duration=8.0,
            width=320, height=180, fps=25.0, has_video=True, has_audio=True, language="en", video_codec="h264",
            audio_codec="aac", added_at=now - dt.timedelta(minutes=4), indexed_at=now,
            tracks={"audio": {"index": 2, "position": 2, "count": 2, "language": "en", "codec": "aac",
                              "channels": 2, "sample_rate": 48000, "chosen_because": "default-flagged"},
                    "subtitles": [{"key": "embedded:3", "source": "embedded", "language": "fr", "label": "Français",
                                   "cues": 2},
                                  {"key": "sidecar:film.de.srt", "source": "sidecar", "language": "de",
                                   "label": "Deutsch (film.de.srt)", "cues": 2}],
                    "skipped": [{"key": "embedded:4", "language": "ja", "reason": SKIPPED_REASON}]},
            warnings=[FILM_WARNING])
        podcast = Video(
            path=str(paths["podcast"]), title="Bread podcast", status=VideoStatus.INDEXED, duration=8.0,
            has_video=False, has_audio=True, language="en", audio_codec="aac",
            added_at=now - dt.timedelta(minutes=3), indexed_at=now,
            tracks={"audio": {"index": 0, "position": 1, "count": 1, "language": None, "codec": "aac",
                              "channels": 1, "sample_rate": 48000, "chosen_because": "only"},
                    "subtitles": [], "skipped": []},
            warnings=[])
        silent = Video(
            path=str(paths["silent film"]), title="Silent film", status=VideoStatus.INDEXED, duration=6.0,
            width=320, height=180, has_video=True, has_audio=False, language=None, video_codec="h264",
            added_at=now - dt.timedelta(minutes=2), indexed_at=now,
            tracks={"audio": None, "subtitles": [{"key": "sidecar:silent film.en.srt", "source": "sidecar",
                                                  "language": "en", "label": "English (silent film.en.srt)",
                                                  "cues": 2}], "skipped": []})
        old = Video(path=str(paths["old"]), title="Old talk", status=VideoStatus.INDEXED, duration=5.0,
                    width=320, height=180, has_audio=True, language="en", added_at=now - dt.timedelta(minutes=1),
                    indexed_at=now)
        s.add_all([film, podcast, silent, old])
        s.flush()
        s.add_all(_segments(film.id, FILM_SPEECH, SegmentSource.SPEECH, None, "en"))
        s.add_all(_segments(film.id, FILM_FRENCH, SegmentSource.SUBTITLES, "embedded:3", "fr", first=0.6))
        s.add_all(_segments(film.id, FILM_GERMAN, SegmentSource.SUBTITLES, "sidecar:film.de.srt", "de", first=0.7))
        s.add_all(_segments(podcast.id, PODCAST_SPEECH, SegmentSource.SPEECH, None, "en"))
        s.add_all(_segments(silent.id, SILENT_ENGLISH, SegmentSource.SUBTITLES, "sidecar:silent film.en.srt", "en"))
        s.add_all(_segments(old.id, ["An old transcript line."], SegmentSource.SPEECH, None, "en"))
        s.add_all([Shot(video_id=film.id, index=0, start=0.0, end=4.0), Shot(video_id=film.id, index=1, start=4.0,
                                                                              end=8.0)])
        s.add(Keyframe(video_id=film.id, shot_index=0, time=1.0, thumbnail=film_thumb, width=256, height=144))
        s.add(Keyframe(video_id=podcast.id, shot_index=0, time=0.0, thumbnail=podcast_thumb, width=640, height=360))
        s.commit()
        ids = {"film": film.id, "podcast": podcast.id, "silent film": silent.id, "old": old.id}
    return ids
