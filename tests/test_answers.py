"""Answers, not lists: chapters (the file's own, else by topic), "this, then that", a time range."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from catalog import Catalog, upgrade
from search.chapters import topic_chapters
from tests.conftest import make_settings

pytestmark = pytest.mark.slow


def _video_with_chapters(path, chapters, seconds=8, fps=5):
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        out.set_chapters([{"id": i + 1, "start": int(a * 1000), "end": int(b * 1000), "time_base": Fraction(1, 1000),
                           "metadata": {"title": title}} for i, (a, b, title) in enumerate(chapters)])
        for i in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * (i // (2 * fps)) % 256, np.uint8),
                                               format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    import samples
    from indexer.pipeline import Indexer
    from samples.library import _lay_out
    from web import create_app

    root = tmp_path_factory.mktemp("answers")
    said = {
        # the budget, then hiring, close together
        "ab": ["We went through the budget for next year line by line.", "The weather was fine all week.",
               "Then we agreed to hire two more engineers for the team."],
        # the same two things, the other way round
        "ba": ["We agreed to hire two more engineers for the team.", "The weather was fine all week.",
               "Then we went through the budget for next year line by line."],
        # both, but far apart: a long silence between them
        "far": ["We went through the budget for next year line by line."],
    }
    videos = {}
    for name, sentences in said.items():
        utterances = _lay_out(sentences, "en-us")
        total = utterances[-1].start + samples.speech_seconds(sentences[-1]) + 1.0
        if name == "far":
            utterances.append(samples.Utterance(round(total + 200, 2), "We agreed to hire two more engineers for the team."))
            total += 206
        scenes = [samples.Scene(min(30.0, total - t), colour=(20, 60 + int(t) % 150, 90)) for t in np.arange(0, total, 30.0)]
        videos[name] = samples.make_video(root / f"{name}.mp4", scenes, utterances, fps=5, size=(160, 90))
    own = _video_with_chapters(root / "chaptered.mkv", [(0, 3, "Intro 开场"), (3, 8, "The main part")])
    settings = make_settings(root / "data")
    upgrade(settings.catalog_url)
    catalog = Catalog(settings.catalog_url)
    indexer = Indexer(settings, catalog)
    ids = {}
    for name, path in [*((n, v.path) for n, v in videos.items()), ("chaptered", own)]:
        outcome = indexer.index_path(path)
        assert outcome.status == "indexed", outcome.message
        ids[name] = outcome.video_id
    yield create_app(settings).test_client(), ids, videos
    catalog.dispose()


def _search(client, **params):
    response = client.get("/api/v1/search", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_this_then_that_prefers_the_video_where_b_follows_a(library):
    client, ids, videos = library
    found = _search(client, q="the budget for next year", then="hiring engineers", within=60)
    order = [m["video_id"] for m in found["moments"]]
    assert order[0] == ids["ab"]
    assert len(order) == len(set(order))  # one pair per stretch of video
    assert ids["far"] not in order  # 200 s apart
    top = found["moments"][0]
    hire = videos["ab"].utterances[2]
    assert top["then"]["start"] < hire.end and top["then"]["end"] > hire.start
    assert "engineers" in top["then"]["snippet"]
    # a wide window lets the far one in, after the close one
    wide = [m["video_id"] for m in _search(client, q="the budget for next year", then="hiring engineers",
                                           within=600)["moments"]]
    assert wide.index(ids["ab"]) < wide.index(ids["far"])
    # keyword mode: no moment holds these words, so nothing follows; the notice says so (default window)
    nothing = _search(client, q="budget", then="rocket", mode="keyword")
    assert nothing["moments"] == [] and any("follows 'budget' within 120 s" in n for n in nothing["notices"])


def test_odd_time_asks_are_answered_with_a_notice_and_out_of_range_ones_refused(library):
    client, _, _ = library
    for params in ({"q": "budget", "then": "hire", "within": 0}, {"q": "budget", "then": "hire", "within": 99999}):
        response = client.get("/api/v1/search", query_string=params)
        assert response.status_code == 422 and response.get_json()["message"], params
    alone = _search(client, then="hiring")  # nothing asked first: nothing to follow
    assert alone["moments"] == [] and alone["notices"]
    window = _search(client, q="budget", within=30)
    assert window["moments"] and any("within goes with then" in n for n in window["notices"])
    inverted = _search(client, q="budget", **{"from": 10, "to": 5})
    assert inverted["moments"] == [] and any("later than from" in n for n in inverted["notices"])
    far = client.get("/api/v1/search/more-like-this", query_string={"video": 1, "at": 99999}).get_json()
    assert far["moments"] == [] and far["notices"]


def test_a_time_range_inside_a_video(library):
    client, ids, videos = library
    hire = videos["far"].utterances[1]
    inside = _search(client, q="hire engineers", video=ids["far"], **{"from": hire.start - 5})["moments"]
    assert inside and all(m["end"] > hire.start - 5 for m in inside)
    before = _search(client, q="hire engineers", video=ids["far"], to=hire.start - 5)["moments"]
    assert all(m["start"] < hire.start - 5 for m in before)
    assert not any(m["start"] < hire.end and m["end"] > hire.start for m in before)


def test_a_files_own_chapters_are_served_and_as_a_webvtt_track(library):
    client, ids, _ = library
    video = client.get(f"/api/v1/videos/{ids['chaptered']}").get_json()
    assert [(c["start"], c["end"], c["title"], c["source"]) for c in video["chapters"]] == [
        (0.0, 3.0, "Intro 开场", "container"), (3.0, 8.0, "The main part", "container")]
    vtt = client.get(video["chapters_url"])
    assert vtt.status_code == 200 and vtt.mimetype == "text/vtt"
    body = vtt.get_data(as_text=True)
    assert body.startswith("WEBVTT") and "00:00:03.000 --> 00:00:08.000\nThe main part" in body
    assert client.get("/api/v1/videos/999999/chapters.vtt").status_code == 404


def test_a_short_video_is_one_chapter(library):
    client, ids, _ = library
    chapters = client.get(f"/api/v1/videos/{ids['ab']}").get_json()["chapters"]
    assert len(chapters) == 1 and chapters[0]["source"] == "whole" and chapters[0]["start"] == 0.0


def test_topic_boundaries_fall_where_the_meaning_changes():
    """Three topics of eight sentences (five seconds each) in three directions of the vector space."""
    rng = np.random.default_rng(0)
    topics = rng.normal(size=(3, 32))
    vectors = np.stack([topics[i // 8] + 0.6 * rng.normal(size=32) for i in range(24)]).astype(np.float32)
    starts = np.arange(24) * 5.0
    texts = [f"sentence {i} about topic {i // 8}" for i in range(24)]
    chapters = topic_chapters(starts, starts + 4.0, texts, vectors, 120.0, cuts=[39.5, 80.5, 100.0])
    assert [c.source for c in chapters] == ["topics"] * 3
    assert [c.start for c in chapters] == [0.0, 39.5, 80.5]  # snapped to the shot cuts in the gaps
    assert chapters[-1].end == 120.0
    assert all(f"topic {k}" in c.title for k, c in enumerate(chapters))


def test_an_off_topic_query_says_no_good_match_and_still_offers_the_nearest(library):
    client, ids, videos = library
    off = _search(client, q="a volcano erupting in iceland")
    assert off["no_good_match"] is True
    assert off["moments"] and not any(m["related"] for m in off["moments"])
    assert any("no good match" in n for n in off["notices"])
    on = _search(client, q="going through next year's budget")
    assert on["no_good_match"] is False
    top = on["moments"][0]
    assert top["related"] and top["confidence"] >= 0.5 and top["video_id"] in (ids["ab"], ids["ba"], ids["far"])
    # sure matches come first, the less related after them
    flags = [m["related"] for m in on["moments"]]
    assert flags == sorted(flags, reverse=True)


def test_more_like_this_moment_finds_the_same_thing_said_elsewhere(library):
    client, ids, videos = library
    budget = videos["ab"].utterances[0]
    response = client.get("/api/v1/search/more-like-this",
                          query_string={"video": ids["ab"], "at": (budget.start + budget.end) / 2})
    assert response.status_code == 200, response.get_json()
    moments = response.get_json()["moments"]
    assert moments
    # itself left out; the same sentence in the other videos first
    assert not any(m["video_id"] == ids["ab"] and m["start"] < budget.end and m["end"] > budget.start for m in moments)
    assert {m["video_id"] for m in moments[:2]} == {ids["ba"], ids["far"]}
    assert all("budget" in m["snippet"] for m in moments[:2])
    assert client.get("/api/v1/search/more-like-this", query_string={"video": 999999, "at": 1}).status_code == 404


def test_picture_and_words_say_plainly_that_pictures_are_off(library):
    client, _, _ = library
    import io

    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(png, format="PNG")
    png.seek(0)
    response = client.post("/api/v1/search/similar?q=budget", data={"image": (png, "red.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 409 and "CLIP" in response.get_json()["message"]


def test_the_watch_page_lists_chapters_and_carries_the_chapters_track(library):
    client, ids, _ = library
    html = client.get(f"/watch/{ids['chaptered']}").get_data(as_text=True)
    assert '<track kind="chapters"' in html and f"/api/v1/videos/{ids['chaptered']}/chapters.vtt" in html
    assert 'class="seek" data-t="3.0"' in html and "The main part" in html and "Intro 开场" in html
    short = client.get(f"/watch/{ids['ab']}").get_data(as_text=True)
    assert 'kind="chapters"' not in short  # one part only: no chapters to navigate


def test_the_search_page_says_no_good_match_and_runs_then_queries(library):
    client, ids, _ = library
    off = client.get("/", query_string={"q": "a volcano erupting in iceland"}).get_data(as_text=True)
    assert 'data-state="no-good-match"' in off and "No good match" in off
    then = client.get("/", query_string={"q": "the budget for next year", "then": "hiring engineers"})
    body = then.get_data(as_text=True)
    assert then.status_code == 200 and 'class="then"' in body and "engineers" in body


def test_the_page_says_plainly_that_searching_with_a_picture_is_off(library):
    import io

    from PIL import Image

    from tests.conftest import session_csrf

    client, _, _ = library
    page = client.get("/").get_data(as_text=True)
    assert 'data-state="picture-off"' in page and "no CLIP weights" in page
    png = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(png, format="PNG")
    png.seek(0)
    answer = client.post("/picture", data={"csrf_token": session_csrf(client), "q": "budget",
                                           "picture": (png, "red.png")}, content_type="multipart/form-data")
    assert answer.status_code == 200
    assert "needs CLIP weights, and this server has none" in answer.get_data(as_text=True)
    assert client.post("/picture", data={"q": "budget"}).status_code in (400, 403)  # no CSRF token
