"""Subtitles from sidecar files and embedded streams, on real files: encodings, formats, broken data."""
from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import pytest
from av.subtitles.subtitle import SubtitleSet

from indexer.errors import Cancelled
from indexer.subtitles import SkippedTrack, SubtitleError, clean_text, find_subtitles, read_subtitle_file

# The ASS header FFmpeg's text subtitle encoders need before they open (mov_text and subrip included).
ASS_HEADER = b"""[Script Info]
ScriptType: v4.00+
PlayResX: 384
PlayResY: 288

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, \
MarginV, Encoding
Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""

CUES = [(0.5, 1.5, r"Hello {\i1}world{\i0}"), (2.0, 2.8, r"{\an8}Second\Nline")]


def make_media(path: Path, subtitles=(), fps: int = 10, frames: int = 30) -> Path:
    """A small MPEG-4 video with subtitle streams: each (codec, language, cues or raw packet payloads)."""
    out = av.open(str(path), "w")
    video = out.add_stream("mpeg4", rate=fps, width=64, height=64)
    streams = []
    for codec, language, _ in subtitles:
        stream = out.add_stream(codec)
        if language:
            stream.metadata["language"] = language
        if codec not in ("dvd_subtitle", "dvb_subtitle"):
            stream.codec_context.subtitle_header = ASS_HEADER
        streams.append(stream)
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 8, np.uint8), format="rgb24")
        frame.pts = i
        out.mux(video.encode(frame))
    out.mux(video.encode())
    for stream, (_, _, items) in zip(streams, subtitles):
        time_base = stream.time_base  # known once the header is written
        for i, item in enumerate(items):
            if isinstance(item, bytes):  # a raw packet: bitmap or broken data no encoder would make
                packet = av.Packet(item)
                packet.pts = packet.dts = int(i / time_base)
                packet.duration = int(0.5 / time_base)
            else:
                start, end, text = item
                subtitle = SubtitleSet.create(f"0,0,Default,,0,0,0,,{text}".encode(), 0, int((end - start) / time_base),
                                              pts=int(start / time_base))
                packet = stream.codec_context.encode_subtitle(subtitle)
            packet.stream = stream
            packet.time_base = time_base
            out.mux(packet)
    out.close()
    return path


@pytest.fixture
def movie(tmp_path) -> Path:
    return make_media(tmp_path / "movie.mp4")


def texts(track) -> list[str]:
    return [cue.text for cue in track.cues]


def test_srt_utf8_sidecar(movie):
    (movie.parent / "movie.en.srt").write_text(
        "1\n00:00:01,000 --> 00:00:02,500\nHello <i>there</i>,\n<font color=\"#ff0000\">General</font> Kenobi\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\nTom &amp; Jerry\n", encoding="utf-8")
    tracks, skipped = find_subtitles(movie)
    assert skipped == []
    [track] = tracks
    assert (track.key, track.source, track.language, track.label) == (
        "sidecar:movie.en.srt", "sidecar", "en", "English (SubRip file)")
    assert track.encoding == "utf-8" and track.note == ""
    assert [(cue.start, cue.end, cue.text) for cue in track.cues] == [
        (1.0, 2.5, "Hello there, General Kenobi"), (3.0, 4.0, "Tom & Jerry")]


def test_bom_utf8_and_utf16(tmp_path):
    body = "1\n00:00:01,000 --> 00:00:02,000\nÜber naïve café\n"
    (tmp_path / "a.srt").write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    (tmp_path / "b.srt").write_bytes(body.encode("utf-16"))  # with BOM
    for name, encoding in [("a.srt", "utf-8"), ("b.srt", "utf-16")]:
        track = read_subtitle_file(tmp_path / name)
        assert texts(track) == ["Über naïve café"] and track.encoding == encoding


def test_gbk_chinese_sidecar(movie):
    lines = ["你好，世界。今天天气很好。", "我们去海边散步吧！", "请把那本书递给我。"]
    body = "".join(f"{i + 1}\n00:00:0{2 * i},000 --> 00:00:0{2 * i + 1},500\n{line}\n\n" for i, line in enumerate(lines))
    (movie.parent / "movie.zh.srt").write_bytes(body.encode("gbk"))
    [track], _ = find_subtitles(movie)
    assert texts(track) == lines
    assert track.language == "zh" and track.label == "Chinese (SubRip file)"
    assert track.encoding == "gb18030" and track.note == "read as GB18030 (not UTF-8)"


@pytest.mark.parametrize("lines", [
    ["café déjà vu"],
    ["Café déjà vu.", "C'était l'été à Noël, naïve façon — « très » bien."],
    ["Schöne Grüße aus München – die Straße ist schön."],
])
def test_cp1252_western_sidecar(movie, lines):
    # charset_normalizer alone reads these as cp1250, cp1257 or mac_iceland
    body = "".join(f"{i + 1}\n00:00:0{i + 1},000 --> 00:00:0{i + 2},000\n{line}\n\n" for i, line in enumerate(lines))
    (movie.parent / "movie.fr.srt").write_bytes(body.encode("cp1252"))
    [track], _ = find_subtitles(movie)
    assert texts(track) == lines
    assert track.encoding == "cp1252" and "CP1252" in track.note


@pytest.mark.parametrize("line,encoding", [
    ("Zażółć gęślą jaźń. Dzień dobry, proszę pana, miło mi.", "cp1250"),
    ("Příliš žluťoučký kůň úpěl ďábelské ódy. Dobrý den.", "cp1250"),
    ("Günaydın, nasılsınız? Şimdi gidiyoruz, İstanbul çok güzel.", "cp1254"),
    ("Привет, как дела? Сегодня хорошая погода.", "cp1251"),
    ("Καλημέρα, τι κάνεις; Σήμερα είναι ωραία μέρα.", "cp1253"),
    ("你好，世界。今天天氣很好。我們去海邊散步吧！", "big5"),
    ("こんにちは、世界。今日はいい天気ですね。", "shift_jis"),
])
def test_other_legacy_encodings_are_not_taken_for_cp1252(tmp_path, line, encoding):
    (tmp_path / "x.srt").write_bytes(f"1\n00:00:01,000 --> 00:00:03,000\n{line}\n".encode(encoding))
    assert texts(read_subtitle_file(tmp_path / "x.srt")) == [line]


def test_webvtt_sidecar(movie):
    (movie.parent / "movie.de.vtt").write_text(
        "WEBVTT - a title\n\nNOTE a comment that is\nnot a cue\n\nSTYLE\n::cue { color: yellow }\n\n"
        "intro\n00:01.000 --> 00:02.000 align:start position:10%\n<v Bob>Hi <c.yellow>there</c></v>\n\n"
        "00:00:03.000 --> 00:00:04.000\nBye &lt;3\n\n", encoding="utf-8")
    [track], _ = find_subtitles(movie)
    assert track.label == "German (WebVTT file)" and track.note == ""
    assert [(cue.start, cue.end, cue.text) for cue in track.cues] == [(1.0, 2.0, "Hi there"), (3.0, 4.0, "Bye <3")]


def test_ass_sidecar_loses_its_markup(movie):
    (movie.parent / "movie.ass").write_text(ASS_HEADER.decode() + "\n".join([
        r"Dialogue: 0,0:00:05.00,0:00:06.00,Default,,0,0,0,,Later line",
        r"Dialogue: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,{\an8}{\i1}Top{\i0} and\Nsecond\nrow",
        r"Comment: 0,0:00:02.00,0:00:03.00,Default,,0,0,0,,a note for the typesetter",
        r"Dialogue: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,{\p1}m 0 0 l 100 0 100 100 0 100{\p0}",
        r"Dialogue: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,{\fad(200,200)\c&H00FFFF&}Sign\htext"]) + "\n")
    [track], _ = find_subtitles(movie)
    assert track.language is None and track.label == "sidecar:movie.ass"
    assert [(cue.start, cue.text) for cue in track.cues] == [
        (1.0, "Top and second row"), (3.0, "Sign text"), (5.0, "Later line")]


def test_malformed_blocks_inside_a_good_srt_are_left_out(tmp_path):
    (tmp_path / "film.srt").write_text(
        "1\n00:00:01,000 --> 00:00:02,000\nFirst\n\n"
        "2\n00:00:0X,000 --> garbage\nthis block has a broken time line\n\n"
        "3\n00:00:03,000 --> 00:00:04,000\nWe met in\n1984\n\n"
        "complete nonsense\nmore nonsense\n\n"
        "4\n00:00:05,000 --> 00:00:06,000\nLast\n", encoding="utf-8")
    track = read_subtitle_file(tmp_path / "film.srt")
    assert texts(track) == ["First", "We met in 1984", "Last"]
    assert track.note == "2 malformed blocks skipped"


def test_bad_sidecars_are_skipped_with_a_reason(movie):
    folder = movie.parent
    (folder / "movie.en.srt").write_text("this is not\na subtitle file at all\n")
    (folder / "movie.fr.srt").write_bytes(b"")
    (folder / "movie.de.srt").write_text("\n  \n")
    (folder / "movie.ass").write_text("[Script Info]\nTitle: nothing here\n")
    (folder / "movie.it.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\n<i></i>\n")
    tracks, skipped = find_subtitles(movie)
    assert tracks == []
    reasons = {track.key: (track.language, track.reason) for track in skipped}
    assert reasons["sidecar:movie.en.srt"] == ("en", "malformed subtitle file: no cue with a valid time line")
    assert reasons["sidecar:movie.ass"][1].startswith("malformed subtitle file")
    for key, language in [("sidecar:movie.fr.srt", "fr"), ("sidecar:movie.de.srt", "de"), ("sidecar:movie.it.srt", "it")]:
        assert reasons[key] == (language, "empty: no cues")
    with pytest.raises(SubtitleError, match="malformed subtitle file"):
        read_subtitle_file(folder / "movie.en.srt")
    with pytest.raises(SubtitleError, match="empty: no cues"):
        read_subtitle_file(folder / "movie.fr.srt")


def test_only_this_videos_sidecars_are_picked(tmp_path):
    movie = make_media(tmp_path / "movie.mp4")
    make_media(tmp_path / "movie.part2.mp4")
    cue = "1\n00:00:01,000 --> 00:00:02,000\nText\n"
    names = ["movie.srt", "movie.SRT", "movie.en.forced.srt", "movie.eng.sdh.Srt", "movie.hi.srt", "movie.en.hi.srt",
             "other.srt", "movie.part2.srt", "movie.part2.en.srt", "MOVIE.srt", "movie2.srt", "movie.srt.bak",
             "movie.txt", "movie.director.srt", "xmovie.srt"]
    for name in names:
        (tmp_path / name).write_text(cue)
    tracks, skipped = find_subtitles(movie)
    assert skipped == []
    labels = {track.key.removeprefix("sidecar:"): (track.language, track.label) for track in tracks}
    assert labels == {
        "movie.srt": (None, "sidecar:movie.srt"),
        "movie.SRT": (None, "sidecar:movie.SRT"),
        "movie.en.forced.srt": ("en", "English, forced (SubRip file)"),
        "movie.eng.sdh.Srt": ("en", "English, SDH (SubRip file)"),
        "movie.hi.srt": ("hi", "Hindi (SubRip file)"),
        "movie.en.hi.srt": ("en", "English, SDH (SubRip file)"),
    }
    assert {track.key for track in find_subtitles(tmp_path / "movie.part2.mp4")[0]} == {
        "sidecar:movie.part2.srt", "sidecar:movie.part2.en.srt"}


def test_stems_with_dots_spaces_and_non_ascii(tmp_path):
    movie = make_media(tmp_path / "my.holiday 2024 — 海边.mp4")
    cue = "1\n00:00:01,000 --> 00:00:02,000\n海边真美\n"
    for name in ["my.holiday 2024 — 海边.zh.srt", "my.holiday 2024 — 海边.zh-Hans.srt", "my.holiday 2024 — 海边.chs.srt",
                 "my.holiday 2024.srt", "my.holiday 2024 — 海边 2.srt"]:
        (tmp_path / name).write_text(cue, encoding="utf-8")
    tracks, _ = find_subtitles(movie)
    assert sorted(track.key for track in tracks) == [
        "sidecar:my.holiday 2024 — 海边.chs.srt", "sidecar:my.holiday 2024 — 海边.zh-Hans.srt",
        "sidecar:my.holiday 2024 — 海边.zh.srt"]
    assert {track.language for track in tracks} == {"zh"}
    assert all(texts(track) == ["海边真美"] for track in tracks)


@pytest.mark.parametrize("name,language", [
    ("movie.en.srt", "en"), ("movie.eng.srt", "en"), ("movie.zh-Hans.srt", "zh"), ("movie.zh_TW.srt", "zh"),
    ("movie.chs.srt", "zh"), ("movie.fre.srt", "fr"), ("movie.fra.forced.srt", "fr"), ("movie.pt-BR.srt", "pt"),
    ("movie.English.srt", "en"), ("movie.srt", None), ("movie.xx.srt", None), ("en.srt", None),
])
def test_language_from_the_file_name(tmp_path, name, language):
    (tmp_path / name).write_text("1\n00:00:01,000 --> 00:00:02,000\nText\n")
    assert read_subtitle_file(tmp_path / name).language == language


def test_cue_times_are_sorted_and_given_a_length(tmp_path):
    (tmp_path / "t.srt").write_text(
        "1\n00:00:05,000 --> 00:00:06,000\nlast\n\n"
        "2\n00:00:01,000 --> 00:00:01,000\nzero length, next cue soon\n\n"
        "3\n00:00:01,400 --> 00:00:03,000\noverlapping\n\n"
        "4\n00:00:01,400 --> 00:00:01,000\nends before it starts, same start as the one before\n\n"
        "5\n00:00:04,000 --> 00:00:03,000\nends before it starts\n\n"
        "6\n00:00:07,000 --> 00:00:07,000\nzero length at the end\n")
    cues = read_subtitle_file(tmp_path / "t.srt").cues
    assert [cue.start for cue in cues] == [1.0, 1.4, 1.4, 4.0, 5.0, 7.0]
    assert [cue.end for cue in cues] == pytest.approx([1.4, 3.0, 2.4, 5.0, 6.0, 8.0])
    assert all(cue.end > cue.start and cue.text for cue in cues)


def test_microdvd_uses_the_declared_rate_else_the_videos(tmp_path):
    movie = make_media(tmp_path / "movie.mp4", fps=10)
    (tmp_path / "movie.sub").write_text("{25}{50}{y:i}Hello|world\n")
    [track], _ = find_subtitles(movie)
    assert (track.cues[0].start, track.cues[0].end, track.cues[0].text) == (2.5, 5.0, "Hello world")
    assert read_subtitle_file(tmp_path / "movie.sub").cues[0].start == 1.0  # 25 fps when nothing says otherwise
    assert read_subtitle_file(tmp_path / "movie.sub", fps=50).cues[0].start == 0.5
    (tmp_path / "declared.sub").write_text("{1}{1}20\n{20}{40}Twenty\n")
    assert [(cue.start, cue.end) for cue in read_subtitle_file(tmp_path / "declared.sub", fps=10).cues] == [(1.0, 2.0)]


def test_vobsub_sub_is_skipped_as_bitmap(movie):
    (movie.parent / "movie.sub").write_bytes(b"\x00\x00\x01\xba" + bytes(200))
    [], [skip] = find_subtitles(movie)
    assert skip.reason == "bitmap subtitles (VobSub .sub) cannot be read as text"


@pytest.mark.parametrize("suffix,codec,language,expected_codec,expected_language", [
    (".mp4", "mov_text", "eng", "mov_text", "en"),
    (".mkv", "subrip", "chi", "subrip", "zh"),
    (".mkv", "ass", "fre", "ass", "fr"),
    (".mkv", "webvtt", "und", "webvtt", None),
])
def test_embedded_text_streams(tmp_path, suffix, codec, language, expected_codec, expected_language):
    media = make_media(tmp_path / f"clip{suffix}", [(codec, language, CUES)])
    [track], skipped = find_subtitles(media)
    assert skipped == []
    assert (track.key, track.source, track.language, track.encoding) == ("embedded:1", "embedded", expected_language, None)
    name = {"en": "English", "zh": "Chinese", "fr": "French"}.get(expected_language)
    assert track.label == (f"{name} (embedded, {expected_codec})" if name else "embedded:1")
    assert [cue.text for cue in track.cues] == ["Hello world", "Second line"]
    assert [time for cue in track.cues for time in (cue.start, cue.end)] == pytest.approx([0.5, 1.5, 2.0, 2.8], abs=0.002)


def test_bitmap_and_broken_streams_are_skipped_beside_good_ones(tmp_path):
    media = make_media(tmp_path / "mixed.mkv", [
        ("dvd_subtitle", "ger", [b"\x00\x10 not really a dvd subtitle"]),
        ("ass", "eng", CUES),
        ("dvb_subtitle", None, [b"\x0f\x00 nor a dvb one"]),
    ])
    (tmp_path / "mixed.en.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nFrom the side\n")
    tracks, skipped = find_subtitles(media)
    assert [(track.key, track.language) for track in tracks] == [("sidecar:mixed.en.srt", "en"), ("embedded:2", "en")]
    assert [(skip.key, skip.language, skip.reason) for skip in skipped] == [
        ("embedded:1", "de", "bitmap subtitles (dvd_subtitle) cannot be read as text"),
        ("embedded:3", None, "bitmap subtitles (dvb_subtitle) cannot be read as text")]


def test_undecodable_stream_is_skipped_and_bad_packets_noted(tmp_path):
    broken = make_media(tmp_path / "broken.mp4", [("mov_text", "eng", [b"\x01", b"\x01"])])
    [], [skip] = find_subtitles(broken)
    assert skip.key == "embedded:1" and skip.reason.startswith("cannot decode the subtitle stream")
    partly = make_media(tmp_path / "partly.mp4", [("mov_text", "eng", [b"\x01", b"\x00\x04fine", b"\x01"])])
    [track], [] = find_subtitles(partly)
    assert texts(track) == ["fine"] and track.note == "2 packet(s) could not be decoded"


def test_empty_stream_is_skipped(tmp_path):
    media = make_media(tmp_path / "quiet.mkv", [("subrip", "eng", [])])
    assert find_subtitles(media) == ([], [SkippedTrack("embedded:1", "en", "empty: no cues")])


def test_unreadable_media_still_gets_its_sidecars(tmp_path):
    (tmp_path / "fake.mp4").write_text("not a video")
    (tmp_path / "fake.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nStill here\n")
    tracks, skipped = find_subtitles(tmp_path / "fake.mp4")
    assert [texts(track) for track in tracks] == [["Still here"]] and skipped == []
    assert find_subtitles(tmp_path / "missing.mp4") == ([], [])


def test_cancel(tmp_path):
    media = make_media(tmp_path / "clip.mkv", [("subrip", "eng", CUES)])
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):  # while reading the embedded stream
        find_subtitles(media, cancel)
    (tmp_path / "clip.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nText\n")
    with pytest.raises(Cancelled):
        find_subtitles(media, cancel)
    assert len(find_subtitles(media, threading.Event())[0]) == 2


def test_clean_text():
    assert clean_text(r"{\an8}<b>Bold</b>  and\N{\i1}new{\i0}\hline<font face='x'>!</font>") == "Bold and new line!"
    assert clean_text("a < b and c > d") == "a < b and c > d"
    assert clean_text("\x01 {a comment} ok ") == "ok"
