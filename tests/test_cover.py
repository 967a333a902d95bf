"""The picture of an audio-only file: cover art read from real files PyAV muxed, else a waveform."""
from __future__ import annotations

import io
import tracemalloc

import av
import numpy as np
import pytest
from PIL import Image

from indexer.cover import audio_thumbnail, cover_art, waveform_picture

SR = 16_000
RED, BLUE = (220, 30, 30), (30, 60, 220)


class Audio:
    """indexer.audio's reading interface over an array, in pieces of `piece` seconds."""

    def __init__(self, samples: np.ndarray, piece: float = 3.7):
        self.samples = np.asarray(samples, dtype=np.float32)
        self.duration = self.samples.size / SR
        self.piece = piece

    def pieces(self):
        step = int(self.piece * SR)
        for a in range(0, self.samples.size, step):
            yield a / SR, self.samples[a:a + step]


def _tone(seconds: float, silent_first: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * 330 * t) * (t >= silent_first)).astype(np.float32)


def _picture_bytes(colour, codec: str, size=(96, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG" if codec == "png" else "JPEG", quality=95)
    return buf.getvalue()


def _audio_file(path, pictures=(), seconds: float = 1.0):
    """An audio file with `pictures` [(bytes, codec, comment)] attached, muxed by PyAV as ffmpeg does."""
    fmt, codec = {".mp3": ("mp3", "libmp3lame"), ".m4a": ("mp4", "aac"), ".flac": ("flac", "flac")}[path.suffix]
    with av.open(str(path), "w", format=fmt) as container:
        audio = container.add_stream(codec, rate=44100)
        audio.layout = "mono"
        streams = []
        for data, picture_codec, comment in pictures:
            stream = container.add_stream(picture_codec)
            stream.width, stream.height = 96, 64
            stream.pix_fmt = "rgb24" if picture_codec == "png" else "yuvj420p"
            stream.disposition = av.stream.Disposition.attached_pic
            if comment:
                stream.metadata["comment"] = comment
            streams.append((stream, data))
        for stream, data in streams:
            packet = av.Packet(data)
            packet.stream, packet.pts, packet.dts = stream, 0, 0
            container.mux(packet)
        t = np.arange(int(seconds * 44100)) / 44100
        frame = av.AudioFrame.from_ndarray((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None],
                                           format="fltp", layout="mono")
        frame.sample_rate = 44100
        for packet in audio.encode(frame):
            container.mux(packet)
        for packet in audio.encode(None):
            container.mux(packet)
    return path


def _mean_colour(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float32).reshape(-1, 3).mean(axis=0)


@pytest.mark.parametrize("name,codec", [("song.mp3", "mjpeg"), ("song.mp3", "png"), ("book.m4a", "mjpeg"),
                                        ("book.m4a", "png"), ("take.flac", "png")])
def test_the_attached_picture_is_the_cover(tmp_path, name, codec):
    path = _audio_file(tmp_path / name, [(_picture_bytes(RED, codec), codec, None)])
    with av.open(str(path)) as container:  # PyAV really muxed it as an attached picture
        assert any(s.disposition & av.stream.Disposition.attached_pic for s in container.streams.video)
    cover = cover_art(path)
    assert cover is not None and cover.mode == "RGB" and cover.size == (96, 64)
    assert np.abs(_mean_colour(cover) - RED).max() < 12


def test_the_front_cover_wins_over_other_pictures(tmp_path):
    path = _audio_file(tmp_path / "album.mp3", [(_picture_bytes(BLUE, "png"), "png", "Cover (back)"),
                                                (_picture_bytes(RED, "png"), "png", "Cover (front)")])
    assert np.abs(_mean_colour(cover_art(path)) - RED).max() < 12


def test_no_cover_or_a_broken_one_is_none_never_an_error(tmp_path):
    assert cover_art(_audio_file(tmp_path / "plain.mp3")) is None
    assert cover_art(_audio_file(tmp_path / "plain.m4a")) is None
    broken = _audio_file(tmp_path / "broken.mp3", [(b"\xff\xd8\xff\xe0 this is not a jpeg" * 4, "mjpeg", None)])
    assert cover_art(broken) is None
    (tmp_path / "junk.mp3").write_bytes(b"\x00\x01 not audio at all" * 100)
    assert cover_art(tmp_path / "junk.mp3") is None
    (tmp_path / "empty.m4a").write_bytes(b"")
    assert cover_art(tmp_path / "empty.m4a") is None
    assert cover_art(tmp_path / "missing.flac") is None


def test_the_waveform_is_blank_where_silent_and_drawn_where_the_tone_plays(tmp_path):
    picture = waveform_picture(Audio(_tone(20.0, silent_first=10.0)))
    assert picture.size == (640, 360) and picture.mode == "RGB"
    pixels = np.asarray(picture, dtype=np.float32)
    background = pixels[:20, :20].reshape(-1, 3).mean(axis=0)
    assert background.max() < 60  # dark

    def lit(region) -> float:
        """Share of pixels that stand out from the background."""
        return float((np.abs(region - background).max(axis=2) > 40).mean())

    margin = 40  # clear of the left and right insets
    silent, loud = pixels[:, margin:320 - 8], pixels[:, 320 + 8:640 - margin]
    centre = 180
    # silence: only the thin baseline, a couple of rows at the centre
    assert lit(silent) < 0.01
    rows_lit = np.where((np.abs(silent - background).max(axis=2) > 40).mean(axis=1) > 0.9)[0]
    assert 1 <= rows_lit.size <= 2 and np.all(np.abs(rows_lit - centre) <= 1), rows_lit
    # the tone: tall bars, centred on the same line
    assert lit(loud) > 0.3
    column = loud[:, (np.abs(loud - background).max(axis=2) > 40).sum(axis=0).argmax()]  # a bar's middle
    drawn = np.where(np.abs(column - background).max(axis=1) > 40)[0]
    assert drawn.max() - drawn.min() > 180
    assert abs((drawn.max() + drawn.min()) / 2 - centre) <= 3
    picture.save(tmp_path / "waveform.png")


def test_the_waveform_reads_pieces_in_order_whatever_their_size():
    signal = _tone(12.0, silent_first=6.0)
    pictures = [np.asarray(waveform_picture(Audio(signal, piece=p), 320, 180), dtype=np.int16)
                for p in (0.013, 1.0, 5.5, 300.0)]
    for other in pictures[1:]:
        assert np.abs(pictures[0] - other).max() <= 2


def test_edge_cases_still_give_a_picture():
    assert waveform_picture(Audio(np.zeros(0))).size == (640, 360)  # nothing decoded
    assert waveform_picture(Audio(np.zeros(SR * 3))).size == (640, 360)  # all silence
    assert waveform_picture(Audio(_tone(0.002, 0.0))).size == (640, 360)  # fewer samples than bars
    assert waveform_picture(Audio(np.full(SR, np.nan, dtype=np.float32))).size == (640, 360)
    assert waveform_picture(Audio(_tone(1.0, 0.0)), 200, 100).size == (200, 100)

    class Broken:
        duration = 10.0

        def pieces(self):
            yield 0.0, np.zeros(SR, dtype=np.float32)
            raise OSError("the work file went away")

    assert waveform_picture(Broken()).size == (640, 360)


def test_a_three_hour_track_is_never_held_whole():
    class ThreeHours:
        """Pieces made on demand, as DecodedAudio reads them from its file."""

        duration = 3 * 3600.0

        def pieces(self):
            for i in range(int(self.duration // 300)):
                x = np.zeros(300 * SR, dtype=np.float32)
                x[:: 97] = 0.4 if i % 2 else 0.0
                yield i * 300.0, x

    tracemalloc.start()
    try:
        picture = waveform_picture(ThreeHours())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # a whole 3-hour track is 690 MB as float32; one piece and its |x| and x² are ~60 MB
    assert peak < 120 * 1024 * 1024, peak / 1e6
    pixels = np.asarray(picture, dtype=np.float32)
    assert np.abs(pixels - pixels[:20, :20].reshape(-1, 3).mean(axis=0)).max() > 40  # loud pieces drawn


def test_the_thumbnail_is_the_cover_when_there_is_one_else_the_waveform(tmp_path):
    audio = Audio(_tone(4.0, silent_first=1.0))
    with_cover = _audio_file(tmp_path / "with.m4a", [(_picture_bytes(RED, "mjpeg"), "mjpeg", None)])
    assert np.abs(_mean_colour(audio_thumbnail(with_cover, audio)) - RED).max() < 12
    plain = audio_thumbnail(_audio_file(tmp_path / "plain.mp3"), audio)
    assert plain.size == (640, 360)
    assert np.asarray(waveform_picture(audio)).tobytes() == np.asarray(plain).tobytes()


def test_a_file_whose_only_picture_is_its_cover_is_audio_only(tmp_path):
    from indexer.probe import probe

    info = probe(_audio_file(tmp_path / "song.mp3", [(_picture_bytes(RED, "mjpeg"), "mjpeg", None)], seconds=2.0))
    assert not info.has_video and info.has_audio and info.video_codec is None and info.fps is None
    assert abs(info.duration - 2.0) < 0.2
