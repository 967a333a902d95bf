"""Emotion and content tags: computed at index time from real signals, stored, shown, filtered on, recomputed."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, select

from catalog import Catalog, ScreenText, Tag, TranscriptSegment, upgrade
from web import create_app

from tests.conftest import make_settings, run_cli

JOYFUL = "This is wonderful news, I am so happy and grateful, what a fantastic day!"
ANGRY = "This is outrageous, I am furious, you people ruined everything and I want my money back!"
CAPTION = "Quarterly budget review"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    """A smiling face, a joyful and an angry sentence, a slide with text. Indexed with the test-only
    CLIP model so that the content-tag plumbing runs."""
    import samples
    from indexer.pipeline import Indexer

    root = tmp_path_factory.mktemp("tags")
    talk = samples.make_video(
        root / "mixed feelings.mp4",
        [samples.Scene(6.0, photo="astronaut"), samples.Scene(5.0, colour=(20, 40, 90), caption=CAPTION),
         samples.Scene(7.0, colour=(120, 30, 30))],
        [samples.Utterance(0.8, JOYFUL), samples.Utterance(11.5, ANGRY)], size=(960, 540))
    # the test model's scores mean nothing, so the vocabulary lets every label through: this checks that
    # content tags are stored and summed up, not what they say
    vocabulary = root / "vocabulary.json"
    vocabulary.write_text(json.dumps({"version": 1, "kinds": {
        "scene": {"templates": ["a photo of {}."], "threshold": 0.01,
                  "labels": {"kitchen": ["a kitchen"], "office": ["an office"]}},
        "mood": {"templates": ["a photo of {}."],
                 "labels": {e: [f"a {e} scene"] for e in ("joy", "sadness", "anger", "fear", "surprise", "disgust",
                                                            "neutral")}}}}))
    settings = make_settings(root / "data", clip_model="test-tiny-random", tag_vocabulary=str(vocabulary))
    upgrade(settings.catalog_url)
    catalog = Catalog(settings.catalog_url)
    indexer = Indexer(settings, catalog)
    ids = {}
    outcome = indexer.index_path(talk.path)
    assert outcome.status == "indexed", outcome.message
    ids["talk"] = outcome.video_id
    yield settings, catalog, ids, talk
    catalog.dispose()


@pytest.fixture(scope="module")
def client(tagged):
    return create_app(tagged[0]).test_client()


def _segment(detail: dict, words: str) -> dict:
    return next(seg for seg in detail["transcript"] if words in seg["text"].lower())


def test_segments_shots_and_video_get_tags_with_their_signals(client, tagged):
    _, _, ids, _ = tagged
    detail = client.get(f"/api/v1/videos/{ids['talk']}").get_json()
    joyful, angry = _segment(detail, "wonderful"), _segment(detail, "furious")
    assert joyful["tags"][0]["kind"] == "emotion" and joyful["tags"][0]["label"] == "joy", joyful["tags"]
    assert angry["tags"][0]["label"] == "anger", angry["tags"]
    assert {"text", "voice"} <= set(joyful["tags"][0]["sources"]), "the speech's words and voice both count"
    face_shot = detail["shots"][0]
    emotion = [t for t in face_shot["tags"] if t["kind"] == "emotion"]
    assert "face" in emotion[0]["sources"], "the astronaut's face is read in the first shot"
    summary = detail["tags"]
    assert summary["dominant_emotion"] in {"joy", "anger", "neutral"}
    assert abs(sum(e["share"] for e in summary["emotions"]) - 1.0) < 0.01
    assert {c["label"] for c in summary["content"]} == {"kitchen", "office"}
    assert {t["label"] for t in face_shot["tags"] if t["kind"] == "scene"} == {"kitchen", "office"}
    assert "clip" in emotion[0]["sources"], "CLIP's mood prompts count when a CLIP model is present"


def test_text_on_screen_is_read_and_searchable(client, tagged):
    _, _, ids, talk = tagged
    detail = client.get(f"/api/v1/videos/{ids['talk']}").get_json()
    assert any("budget" in t["text"].lower() for t in detail["screen_text"]), detail["screen_text"]
    caption_start, caption_end = talk.cuts[0], talk.cuts[1]
    alone = client.get("/api/v1/search", query_string={"q": "quarterly budget", "mode": "screen"}).get_json()
    top = alone["moments"][0]
    assert top["video_id"] == ids["talk"] and caption_start - 0.5 <= top["start"] < caption_end, alone
    assert "budget" in top["snippet"].lower() and top["highlights"], "the words read on screen are the snippet"
    # fused with the other channels (here a random CLIP model and unrelated speech), the slide is among the results
    fused = client.get("/api/v1/search", query_string={"q": "quarterly budget"}).get_json()
    assert any("screen" in m["channels"] and caption_start - 0.5 <= m["start"] < caption_end
               for m in fused["moments"]), fused


def test_video_with_no_speech_and_no_faces_is_neutral_with_low_confidence(tmp_path):
    import samples
    from indexer.pipeline import Indexer

    quiet = samples.make_video(tmp_path / "quiet colours.mp4",
                               [samples.Scene(3.0, colour=(10, 120, 60)), samples.Scene(3.0, colour=(200, 200, 40))],
                               audio=False)
    settings = make_settings(tmp_path / "data")  # no CLIP weights: no mood prompts either
    upgrade(settings.catalog_url)
    outcome = Indexer(settings, Catalog(settings.catalog_url)).index_path(quiet.path)
    assert outcome.status == "indexed" and "tagged neutral" in outcome.message, outcome
    detail = create_app(settings).test_client().get(f"/api/v1/videos/{outcome.video_id}").get_json()
    assert detail["tags"]["dominant_emotion"] == "neutral"
    for shot in detail["shots"]:
        emotion = [t for t in shot["tags"] if t["kind"] == "emotion"]
        assert emotion[0]["label"] == "neutral" and emotion[0]["confidence"] < 0.5
        assert set(emotion[0]["sources"]) == {"prior"}


def test_emotion_filter_keeps_only_moments_with_that_emotion(client, tagged):
    _, _, ids, talk = tagged
    angry_at = talk.utterances[1].start
    body = client.get("/api/v1/search", query_string={"q": "I want my money back", "emotion": "anger"}).get_json()
    assert body["moments"] and all(m["video_id"] == ids["talk"] for m in body["moments"])
    assert body["moments"][0]["start"] <= angry_at + 1 and body["moments"][0]["end"] >= angry_at
    joyful_only = client.get("/api/v1/search", query_string={"q": "I want my money back", "emotion": "joy"}).get_json()
    assert all(m["end"] <= angry_at + 0.5 or m["start"] >= talk.utterances[1].end for m in joyful_only["moments"])
    # no words: browse the tagged moments themselves
    browse = client.get("/api/v1/search", query_string={"emotion": "joy"}).get_json()
    assert browse["moments"] and browse["moments"][0]["video_id"] == ids["talk"]
    assert browse["moments"][0]["start"] < talk.utterances[0].end
    assert client.get("/api/v1/search", query_string={"emotion": "glee"}).status_code == 422
    nothing = client.get("/api/v1/search").get_json()
    assert nothing["moments"] == [] and "browse by emotion" in nothing["notices"][0]


def test_tags_endpoint_counts_labels_and_says_when_content_tags_are_off(client, tagged):
    settings, _, _, _ = tagged
    body = client.get("/api/v1/tags").get_json()
    assert body["emotions"] == ["joy", "sadness", "anger", "fear", "surprise", "disgust", "neutral"]
    labels = {(t["kind"], t["label"]): t for t in body["tags"]}
    assert labels[("emotion", "joy")]["videos"] == 1 and labels[("emotion", "anger")]["spans"] >= 1
    assert "TEST-ONLY" in body["notice"]
    only = client.get("/api/v1/tags", query_string={"kind": "emotion"}).get_json()["tags"]
    assert only and all(t["kind"] == "emotion" for t in only)
    # the same catalog served without CLIP weights: content tags are off, and it says so
    plain = create_app(make_settings(settings.data_dir)).test_client().get("/api/v1/tags").get_json()
    assert plain["content_tags"] is False and "no CLIP weights" in plain["notice"]


def test_retag_recomputes_tags_without_transcribing_again(tagged):
    settings, catalog, ids, _ = tagged
    with catalog.session() as s:
        before = sorted((t.owner_kind, t.owner_id, t.kind, t.label) for t in s.scalars(select(Tag)))
        segments_before = sorted(s.scalars(select(TranscriptSegment.id)))
    done = run_cli(["index", "retag"], settings)
    assert done.returncode == 0 and "nothing to re-tag" in done.stderr, done.stderr
    with catalog.session() as s, s.begin():
        s.execute(delete(Tag).where(Tag.video_id == ids["talk"]))
        s.execute(delete(ScreenText).where(ScreenText.video_id == ids["talk"]))
    redo = run_cli(["index", "retag", "--json"], settings)
    assert redo.returncode == 0, redo.stderr
    assert f'"video_id": {ids["talk"]}, "status": "retagged"' in redo.stdout
    with catalog.session() as s:
        after = sorted((t.owner_kind, t.owner_id, t.kind, t.label) for t in s.scalars(select(Tag)))
        assert sorted(s.scalars(select(TranscriptSegment.id))) == segments_before, "speech was not re-run"
        assert s.scalars(select(ScreenText.text)).first()
    assert after == before


def test_text_held_on_screen_through_a_shot_is_read_once(tmp_path, monkeypatch):
    """A slide kept up for a whole shot is read on its first keyframe only; a new slide is read again."""
    import samples
    from indexer import tagging
    from models.ocr import load_ocr

    video = samples.make_video(tmp_path / "slides.mp4",
                               [samples.Scene(12.0, colour=(20, 40, 90), caption="Quarterly budget review"),
                                samples.Scene(4.0, colour=(90, 20, 40), caption="Questions and answers")],
                               audio=False)
    reader = load_ocr()
    reads = []
    real_read = reader.read
    monkeypatch.setattr(reader, "read", lambda image: reads.append(1) or real_read(image))
    keyframes = [tagging.KeyframeInput(t, shot) for t, shot in ((0.5, 0), (5.0, 0), (10.0, 0), (13.0, 1))]
    findings = tagging.frame_findings(video.path, keyframes)
    assert len(reads) == 2
    texts = [" ".join(line.text for line in f.lines).lower() for f in findings]
    assert all("budget" in t for t in texts[:3]) and "questions" in texts[3], texts


def test_keyframes_repeating_a_still_picture_take_its_faces_text_and_clip_vector(tmp_path, monkeypatch):
    """An hour of a slide is hundreds of keyframes of one picture: the models run on it once, and every
    keyframe still gets its faces, its text and a CLIP vector equal to what its own image gives."""
    import models
    import samples
    from indexer import tagging
    from indexer.analysis import _clip_vectors, _keyframe_inputs
    from indexer.frames import analyse_video
    from indexer.probe import probe
    from models.face import load_face_expression

    video = samples.make_video(tmp_path / "slide.mp4",
                               [samples.Scene(42.0, colour=(20, 40, 90), caption="Quarterly budget review"),
                                samples.Scene(6.0, photo="astronaut")], fps=10, audio=False, motion=False)
    info = probe(video.path)
    keyframes = analyse_video(video.path, info.duration, info.fps, interval=10.0).keyframes
    repeats = [i for i, k in enumerate(keyframes) if k.same_as is not None]
    assert len(repeats) >= 3
    faces = load_face_expression()
    looked = []
    real_analyse = faces.analyse
    monkeypatch.setattr(faces, "analyse", lambda image: looked.append(1) or real_analyse(image))
    findings = tagging.frame_findings(video.path, _keyframe_inputs(keyframes))
    assert len(looked) == len(keyframes) - len(repeats)
    assert all("budget" in " ".join(line.text for line in findings[i].lines).lower() for i in repeats)

    clip = models.load_clip("test-tiny-random", tmp_path / "models", "cpu")
    vectors = _clip_vectors(clip, keyframes)
    assert vectors.shape[0] == len(keyframes)
    own = clip.encode_images([keyframes[repeats[-1]].image])[0]
    assert float(vectors[repeats[-1]] @ own) > 0.999  # what it takes is what it would have computed
