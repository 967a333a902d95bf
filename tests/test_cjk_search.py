"""Real Mandarin speech, indexed as a user's would be, searched by its words through the API: the moment
at the right second, either script, a snippet without spaces, languages as data and as a filter."""
from __future__ import annotations

import pytest

from catalog import Catalog, upgrade
from catalog.words import folded
from tests.conftest import make_settings
from tests.real_media import build_recording, speech_clips

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mandarin_library(tmp_path_factory):
    import samples
    from indexer.pipeline import Indexer
    from web import create_app

    root = tmp_path_factory.mktemp("mandarin")
    clips = [e for e in speech_clips(("zh",)) if e["path"].endswith(("aishell1_BAC009S0764W0122.flac",
                                                                      "funasr_asr_example.flac"))]
    assert len(clips) == 2
    placed = build_recording(root / "城市 访谈.mp4", clips, gaps=3.0, lead=4.0)
    english = samples.make_video(root / "weather.mp4", [samples.Scene(6.0, colour=(30, 90, 160))],
                                 [samples.Utterance(1.0, "The city was hot and sunny all week.")], fps=10)
    settings = make_settings(root / "data")
    upgrade(settings.catalog_url)
    catalog = Catalog(settings.catalog_url)
    indexer = Indexer(settings, catalog)
    ids = {}
    for path in (root / "城市 访谈.mp4", english.path):
        outcome = indexer.index_path(path)
        assert outcome.status == "indexed", outcome.message
        ids[path.stem] = outcome.video_id
    yield create_app(settings).test_client(), ids, placed
    catalog.dispose()


def _search(client, **params):
    response = client.get("/api/v1/search", query_string={"mode": "keyword", **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["moments"]


def test_a_chinese_word_said_mid_sentence_is_found_at_its_second(mandarin_library):
    client, ids, placed = mandarin_library
    for word, utterance in (("城市", placed[0]), ("调整", placed[0]), ("语音识别", placed[1]), ("体验", placed[1])):
        moments = _search(client, q=word)
        assert moments, f"{word} not found"
        top = moments[0]
        assert top["video_id"] == ids["城市 访谈"]
        assert top["start"] < utterance.end and top["end"] > utterance.start, (word, top, utterance)
        assert " " not in top["snippet"].strip(), top["snippet"]  # read as written: no spaces between characters
        marked = [top["snippet"][a:b] for a, b in top["highlights"]]
        # Whisper writes some simplified speech in traditional characters: the mark is on them
        assert word in folded("".join(marked)), (word, marked, top["snippet"])
        assert top["language"] == "zh"


def test_a_traditional_query_finds_the_simplified_transcript(mandarin_library):
    client, ids, placed = mandarin_library
    top = _search(client, q="語音識別")[0]
    assert top["video_id"] == ids["城市 访谈"] and top["start"] < placed[1].end


def test_languages_are_data_and_a_filter(mandarin_library):
    client, ids, _ = mandarin_library
    video = client.get(f"/api/v1/videos/{ids['城市 访谈']}").get_json()
    assert video["language"] == "zh"
    assert {seg["language"] for seg in video["transcript"]} == {"zh"}
    english = _search(client, q="city")
    assert english and english[0]["video_id"] == ids["weather"] and english[0]["language"] == "en"
    assert _search(client, q="city", lang="zh") == []
    assert _search(client, q="城市", lang="zh-CN")[0]["video_id"] == ids["城市 访谈"]
    assert _search(client, q="城市", lang="en") == []
    assert [m["video_id"] for m in _search(client, q="city", lang=["en", "zh"])] == [ids["weather"]]
    # an unknown language is a filter nothing matches, said in a notice (as an unknown tag matches nothing)
    bad = client.get("/api/v1/search", query_string={"q": "city", "lang": "klingon"}).get_json()
    assert bad["moments"] == [] and any("unknown language 'klingon'" in n for n in bad["notices"])
    assert [m["video_id"] for m in _search(client, q="city", lang=["klingon", "en"])] == [ids["weather"]]
