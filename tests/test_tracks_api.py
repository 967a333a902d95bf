"""Text and audio tracks through the JSON API: summaries say audio from video, details list every
transcript track, and subtitles.vtt serves each one (rows written directly, no indexing)."""
from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from tests.tracks_library import (FILM_FRENCH, FILM_SPEECH, FILM_WARNING, PODCAST_SPEECH, SILENT_ENGLISH,
                                  SKIPPED_REASON, add_tracks_library)
from web import create_app


@pytest.fixture
def api(empty_catalog):
    settings, catalog = empty_catalog
    ids = add_tracks_library(catalog, settings)
    return create_app(settings).test_client(), ids


def _vtt_cues(body: str) -> list[str]:
    """The cue texts of a WebVTT file (numbered cues, as subtitles.vtt writes them)."""
    blocks = [b.split("\n") for b in body.strip().split("\n\n")[1:]]
    return ["\n".join(lines[2:]) for lines in blocks]


def test_summaries_say_whether_an_item_is_audio_or_video(api):
    client, ids = api
    listed = {v["id"]: v for v in client.get("/api/v1/videos").get_json()["videos"]}
    assert (listed[ids["podcast"]]["kind"], listed[ids["podcast"]]["has_video"]) == ("audio", False)
    for name in ("film", "silent film", "old"):
        assert (listed[ids[name]]["kind"], listed[ids[name]]["has_video"]) == ("video", True), name
    podcast = client.get(f"/api/v1/videos/{ids['podcast']}").get_json()
    assert podcast["kind"] == "audio" and podcast["thumbnail_url"]  # the waveform stands in for a keyframe
    assert client.get(podcast["thumbnail_url"]).status_code == 200


def test_detail_lists_the_audio_track_every_text_track_and_what_was_skipped(api):
    client, ids = api
    film = client.get(f"/api/v1/videos/{ids['film']}").get_json()
    tracks = film["tracks"]
    assert tracks["audio"] == {"index": 2, "position": 2, "count": 2, "language": "en", "codec": "aac",
                               "channels": 2, "sample_rate": 48000, "chosen_because": "default-flagged"}
    assert tracks["speech"] == {"key": "speech", "source": "speech", "language": "en", "label": "Speech (transcribed)",
                                "cues": 2, "url": f"/api/v1/videos/{ids['film']}/subtitles.vtt?track=speech"}
    assert [(t["key"], t["source"], t["language"], t["label"], t["cues"]) for t in tracks["subtitles"]] == [
        ("embedded:3", "embedded", "fr", "Français", 2),
        ("sidecar:film.de.srt", "sidecar", "de", "Deutsch (film.de.srt)", 2)]
    assert tracks["subtitles"][1]["url"].endswith("subtitles.vtt?track=sidecar%3Afilm.de.srt")
    assert tracks["skipped"] == [{"key": "embedded:4", "language": "ja", "reason": SKIPPED_REASON}]
    assert tracks["default"] == "speech"
    assert film["warnings"] == [FILM_WARNING]

    by_track: dict[str, list] = {}
    for seg in film["transcript"]:
        by_track.setdefault(seg["track"], []).append(seg)
    assert set(by_track) == {"speech", "embedded:3", "sidecar:film.de.srt"}
    assert {(s["source"], s["language"]) for s in by_track["speech"]} == {("speech", "en")}
    assert {(s["source"], s["language"]) for s in by_track["embedded:3"]} == {("subtitles", "fr")}
    assert [s["text"] for s in by_track["speech"]] == FILM_SPEECH


def test_each_track_is_its_own_webvtt(api):
    client, ids = api
    film = client.get(f"/api/v1/videos/{ids['film']}").get_json()
    speech = client.get(film["tracks"]["speech"]["url"])
    assert speech.status_code == 200 and speech.mimetype == "text/vtt"
    assert speech.get_data(as_text=True).startswith("WEBVTT\n")
    assert _vtt_cues(speech.get_data(as_text=True)) == FILM_SPEECH
    french = client.get(film["tracks"]["subtitles"][0]["url"]).get_data(as_text=True)
    assert _vtt_cues(french) == FILM_FRENCH
    # the key as a client would write it, unencoded: ':' and '.' are fine in a query string
    german = client.get(f"/api/v1/videos/{ids['film']}/subtitles.vtt?track=sidecar:film.de.srt")
    assert german.status_code == 200
    # a subtitle's line break stays in the cue, its markup comes out as text
    assert _vtt_cues(german.get_data(as_text=True)) == ["Guten Abend\nund willkommen.",
                                                       "Der Zug fährt &lt;b&gt;mittags&lt;/b&gt; ab."]
    assert "00:00:00.700 --> 00:00:02.500" in german.get_data(as_text=True)


def test_the_default_track_is_speech_else_the_first_subtitle_track(api):
    client, ids = api
    film = client.get(f"/api/v1/videos/{ids['film']}/subtitles.vtt").get_data(as_text=True)
    assert _vtt_cues(film) == FILM_SPEECH  # not the subtitle tracks mixed in
    silent = client.get(f"/api/v1/videos/{ids['silent film']}").get_json()
    assert silent["tracks"]["speech"] is None and silent["tracks"]["default"] == "sidecar:silent film.en.srt"
    assert silent["tracks"]["audio"] is None
    served = client.get(silent["subtitles_url"]).get_data(as_text=True)
    assert _vtt_cues(served) == SILENT_ENGLISH
    podcast = client.get(f"/api/v1/videos/{ids['podcast']}/subtitles.vtt").get_data(as_text=True)
    assert _vtt_cues(podcast) == PODCAST_SPEECH


def test_an_unknown_track_is_a_404_that_names_the_tracks(api):
    client, ids = api
    response = client.get(f"/api/v1/videos/{ids['film']}/subtitles.vtt", query_string={"track": "embedded:9"})
    assert response.status_code == 404
    body = response.get_json()
    assert body["error"] == "not_found"
    assert "embedded:9" in body["message"] and "speech, embedded:3, sidecar:film.de.srt" in body["message"]
    # no speech in the silent film: "speech" is not one of its tracks
    response = client.get(f"/api/v1/videos/{ids['silent film']}/subtitles.vtt?track=speech")
    assert response.status_code == 404 and "sidecar:silent film.en.srt" in response.get_json()["message"]
    assert client.get("/api/v1/videos/999999/subtitles.vtt?track=speech").status_code == 404
    assert client.get(f"/api/v1/videos/{ids['film']}/subtitles.vtt?track=").status_code == 422


def test_rows_from_before_tracks_were_recorded_still_answer(api):
    client, ids = api
    old = client.get(f"/api/v1/videos/{ids['old']}").get_json()
    assert old["tracks"]["audio"] is None and old["tracks"]["subtitles"] == [] and old["tracks"]["skipped"] == []
    assert old["tracks"]["speech"]["cues"] == 1 and old["tracks"]["default"] == "speech"
    assert old["warnings"] == []
    assert old["transcript"][0]["source"] == "speech" and old["transcript"][0]["track"] == "speech"


def test_the_openapi_document_describes_the_new_fields(api):
    client, _ = api
    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)
    schemas = spec["components"]["schemas"]
    assert {"has_video", "kind"} <= set(schemas["VideoSummary"]["properties"])
    assert {"tracks", "warnings"} <= set(schemas["VideoDetail"]["properties"])
    assert {"audio", "speech", "subtitles", "skipped", "default"} <= set(schemas["Tracks"]["properties"])
    assert {"source", "track", "language"} <= set(schemas["Segment"]["properties"])
    params = spec["paths"]["/api/v1/videos/{video_id}/subtitles.vtt"]["get"]["parameters"]
    assert "track" in {p["name"] for p in params}


def test_answers_for_these_rows_match_the_openapi_document(empty_catalog):
    """Schemathesis's checks (status codes, content types, response schemas) on the rows themselves:
    the contract test's generated ids rarely hit them."""
    import schemathesis

    settings, catalog = empty_catalog
    ids = add_tracks_library(catalog, settings)
    app = create_app(settings)
    api = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = {op.ok().label: op.ok() for op in api.get_all_operations()}
    operations["GET /api/v1/videos"].Case(query={"limit": 10}).call_and_validate()
    for video_id in ids.values():
        operations["GET /api/v1/videos/{video_id}"].Case(path_parameters={"video_id": video_id}).call_and_validate()
        vtt = operations["GET /api/v1/videos/{video_id}/subtitles.vtt"]
        vtt.Case(path_parameters={"video_id": video_id}).call_and_validate()
        vtt.Case(path_parameters={"video_id": video_id}, query={"track": "embedded:99"}).call_and_validate()
    vtt.Case(path_parameters={"video_id": ids["film"]}, query={"track": "sidecar:film.de.srt"}).call_and_validate()
