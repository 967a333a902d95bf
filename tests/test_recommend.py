"""The "For you" feed on a real indexed library (Whisper + MiniLM), grown with videos whose transcripts
are embedded by the same real MiniLM and written straight into the catalog, as the indexer would."""
from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import replace

import numpy as np
import pytest
from sqlalchemy import select, update

import models
from catalog import Catalog, Embedding, TranscriptSegment, Video, VideoStatus, record_change, utcnow, \
    vector_bytes
from search.recommend import Recommender
from search.recommend import events as ev
from search.recommend.collaborative import train
from search.recommend.recommender import model_folder
from search.recommend.video_vectors import CACHE_FILE, VideoVectors
from tests.conftest import run_cli

pytestmark = pytest.mark.slow

EXTRA = {
    "Fresh tomato pasta sauce": ["Chop the garlic and onions, then fry them gently in olive oil.",
                                 "Add the tomatoes and simmer the sauce for twenty minutes before serving "
                                 "it with pasta."],
    "Chocolate chip cookies": ["Cream the butter and sugar, then stir in the flour and chocolate chips.",
                               "Bake the cookies in the oven for twelve minutes until golden."],
    "Kitten plays with wool": ["Our little kitten chases a ball of wool around the living room.",
                               "The cat purrs and falls asleep on the warm blanket."],
    "Stars over the observatory": ["The telescope at the observatory points at distant galaxies.",
                                   "Astronomers photograph the planets and the moon at night."],
}
COOKING = {"Kneading dough for bread", "Fresh tomato pasta sauce", "Chocolate chip cookies"}
CATS = {"Our cat Chelsea", "Kitten plays with wool"}


def add_video(catalog: Catalog, title: str, sentences: list[str], added_at: dt.datetime | None = None) -> int:
    """A video as the indexer leaves it: indexed, transcript segments and their real MiniLM vectors."""
    text = models.load_text("all-MiniLM-L6-v2", "cpu")
    vectors = text.encode(sentences)
    with catalog.session() as s:
        video = Video(path=f"/nowhere/{title}.mp4", title=title, status=VideoStatus.INDEXED, duration=20.0,
                      has_audio=True, added_at=added_at or utcnow(), indexed_at=utcnow())
        s.add(video)
        s.flush()
        for i, (sentence, vec) in enumerate(zip(sentences, vectors)):
            seg = TranscriptSegment(video_id=video.id, index=i, start=10.0 * i, end=10.0 * i + 8, text=sentence)
            s.add(seg)
            s.flush()
            s.add(Embedding(video_id=video.id, owner_kind="segment", owner_id=seg.id, model=text.name,
                            model_version=text.version, dim=len(vec), vector=vector_bytes(vec)))
        record_change(s, video.id)
        s.commit()
        return video.id


@pytest.fixture
def library(search_library, tmp_path):
    """A private copy of the shared indexed library (tests here write users, events and videos)."""
    settings, _, _ = search_library
    copy = replace(settings, data_dir=tmp_path / "data")
    copy.data_dir.mkdir()
    src = sqlite3.connect(settings.catalog_url.split("///", 1)[1])
    dst = sqlite3.connect(copy.catalog_url.split("///", 1)[1])
    src.backup(dst)
    src.close()
    dst.close()
    catalog = Catalog(copy.catalog_url)
    week_ago = utcnow() - dt.timedelta(days=8)
    with catalog.session() as s:  # the sample library is "old": what is added in a test is the new thing
        for video in s.scalars(select(Video)):
            video.added_at = week_ago
        s.commit()
    ids = {title: add_video(catalog, title, sentences, added_at=week_ago) for title, sentences in EXTRA.items()}
    with catalog.session() as s:
        ids.update({v.title.removesuffix(".mp4"): v.id for v in s.scalars(select(Video))})
    yield copy, catalog, ids
    catalog.dispose()


def make_user(catalog, name="ann") -> int:
    with catalog.session() as s:
        return ev.create_user(s, name).id


def act(catalog, user_id, *events):
    with catalog.session() as s:
        ev.record(s, [ev.NewEvent(user_id, kind, video_id=video_id, **extra) for kind, video_id, extra in events])


def titles(feed) -> list[str]:
    return [item.title for item in feed.items]


def test_a_cooking_fan_gets_cooking_first(library):
    settings, catalog, ids = library
    recommender = Recommender(catalog, model_folder(settings.data_dir))
    ann = make_user(catalog)
    act(catalog, ann, ("view", ids["Kneading dough for bread"], {}),
        ("progress", ids["Kneading dough for bread"], {"position": 20.0, "watch_seconds": 20.0}),
        ("like", ids["Kneading dough for bread"], {}))
    feed = recommender.recommend(ann, k=5)
    top = titles(feed)
    assert set(top[:2]) == COOKING - {"Kneading dough for bread"}, top
    assert "Kneading dough for bread" not in top  # liked, but finished: not offered again
    assert any("Kneading dough for bread" in r or r.startswith("more about") for r in feed.items[0].reasons)


def test_a_liked_video_is_not_offered_again_unless_left_partway(library):
    settings, catalog, ids = library
    recommender = Recommender(catalog, model_folder(settings.data_dir))
    ann = make_user(catalog)
    act(catalog, ann, ("like", ids["Kitten plays with wool"], {}))  # liked from the page, not watched to the end
    feed = recommender.recommend(ann, k=5)
    assert "Kitten plays with wool" not in titles(feed)
    assert titles(feed)[0] == "Our cat Chelsea"
    assert "because you liked “Kitten plays with wool”" in feed.items[0].reasons
    bob = make_user(catalog, "bob")  # liked it halfway through: the feed offers the rest
    act(catalog, bob, ("progress", ids["Kitten plays with wool"], {"position": 8.0, "watch_seconds": 8.0}),
        ("like", ids["Kitten plays with wool"], {}))
    kitten = {item.title: item for item in recommender.recommend(bob, k=5).items}["Kitten plays with wool"]
    assert kitten.reasons[0] == "continue watching" and kitten.start == 8.0
    assert not any("Kitten plays with wool" in reason for reason in kitten.reasons)  # never "because you liked" itself


def test_a_dislike_removes_similar_videos(library):
    settings, catalog, ids = library
    recommender = Recommender(catalog, model_folder(settings.data_dir))
    # cats are what everybody watches this week, so a new user sees them first
    for n in range(3):
        fan = make_user(catalog, f"fan {n}")
        act(catalog, fan, *[("like", ids[t], {}) for t in CATS])
    recommender.popularity.refresh()
    bob = make_user(catalog, "bob")
    before = titles(recommender.recommend(bob, k=4))
    assert CATS <= set(before), before
    act(catalog, bob, ("dislike", ids["Our cat Chelsea"], {}))
    after = recommender.recommend(bob, k=4)
    assert not CATS & set(titles(after)), titles(after)
    assert len(after.items) == 4


def test_a_brand_new_user_gets_a_popular_and_fresh_feed(library):
    settings, catalog, ids = library
    recommender = Recommender(catalog, model_folder(settings.data_dir))
    fan = make_user(catalog, "fan")
    act(catalog, fan, ("complete", ids["Fusée – a rocket launch"], {}), ("like", ids["Fusée – a rocket launch"], {}))
    recommender.popularity.refresh()
    newest = add_video(catalog, "Spring garden tour", ["The tulips and daffodils are flowering in the garden."])
    feed = recommender.recommend(make_user(catalog, "new"), k=5)
    assert feed.weights["content"] == 0 and feed.weights["collaborative"] == 0
    by_title = {item.title: item for item in feed.items}
    assert titles(feed)[0] in {"Fusée – a rocket launch", "Spring garden tour"}
    assert "popular this week" in by_title["Fusée – a rocket launch"].reasons
    assert "new in your library" in by_title["Spring garden tour"].reasons
    assert newest in [i.video_id for i in feed.items]


def test_a_newly_indexed_video_is_recommended_before_anyone_watched_it(library):
    settings, catalog, ids = library
    recommender = Recommender(catalog, model_folder(settings.data_dir))
    ann = make_user(catalog)
    act(catalog, ann, ("complete", ids["Fresh tomato pasta sauce"], {}), ("like", ids["Fresh tomato pasta sauce"], {}),
        ("complete", ids["Chocolate chip cookies"], {}), ("skip", ids["Fusée – a rocket launch"], {}))
    recommender.recommend(ann, k=3)  # the process has its video table cached now
    new = add_video(catalog, "Homemade pizza dough", ["Knead the pizza dough with flour, yeast and warm water.",
                                                      "Spread tomato sauce and cheese on it and bake it hot."],
                    added_at=utcnow() - dt.timedelta(days=30))  # not fresh: it must win on content alone
    feed = recommender.recommend(ann, k=3)
    assert feed.items[0].video_id == new, titles(feed)
    with catalog.session() as s:
        assert not s.scalars(select(ev.Event).where(ev.Event.video_id == new)).all()


def test_deleted_history_is_gone_from_the_next_answer_even_after_training(library):
    settings, catalog, ids = library
    recommender = Recommender(catalog, model_folder(settings.data_dir))
    users = [make_user(catalog, f"u{n}") for n in range(4)]
    for u in users:  # a small community of cooks, so the collaborative model has something to learn
        act(catalog, u, *[("complete", ids[t], {}) for t in sorted(COOKING)[:2]])
    ann = users[0]
    act(catalog, ann, ("like", ids["Chocolate chip cookies"], {}))
    path, figures = train(catalog, model_folder(settings.data_dir), factors=8, iterations=5)
    assert path is not None and figures["users"] == 4
    feed = recommender.recommend(ann, k=5)
    assert feed.model_version == 1 and feed.weights["collaborative"] > 0
    with catalog.session() as s:
        assert ev.delete_history(s, ann) == 3
    fresh_user_feed = recommender.recommend(make_user(catalog, "new"), k=5)
    after = recommender.recommend(ann, k=5)
    assert after.history_items == 0
    assert after.weights == fresh_user_feed.weights
    assert titles(after) == titles(fresh_user_feed)


def test_train_command_writes_a_model_the_feed_uses(library):
    settings, catalog, ids = library
    a, b = make_user(catalog, "a"), make_user(catalog, "b")
    act(catalog, a, ("complete", ids["Our cat Chelsea"], {}), ("like", ids["Kitten plays with wool"], {}))
    act(catalog, b, ("complete", ids["Our cat Chelsea"], {}))
    result = run_cli(["recommend", "train", "--factors", "4", "--iterations", "3"], settings, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "2 users x 2 videos" in result.stdout
    feed = Recommender(catalog, model_folder(settings.data_dir)).recommend(b, k=3)
    assert feed.model_version == 1
    assert feed.items[0].title == "Kitten plays with wool"
    assert any("Our cat Chelsea" in r for r in feed.items[0].reasons)


def test_similar_videos_come_from_the_recommender(library):
    from web import create_app

    settings, catalog, ids = library
    client = create_app(settings).test_client()
    body = client.get(f"/api/v1/videos/{ids['Fresh tomato pasta sauce']}/similar?k=3").get_json()
    assert [s["title"] for s in body["similar"]][:2] in (["Chocolate chip cookies", "Kneading dough for bread"],
                                                         ["Kneading dough for bread", "Chocolate chip cookies"])
    assert all(s["video_id"] != ids["Fresh tomato pasta sauce"] for s in body["similar"])
    assert client.get("/api/v1/videos/999999/similar").status_code == 404


# -- the video table's cache file: a restart reads it instead of every vector in SQL ---------------------------

def count_loads(monkeypatch) -> list:
    """What each VideoVectors._load call read: None for the whole catalog, else the video ids."""
    calls = []
    load = VideoVectors._load

    def spy(self, video_ids):
        calls.append(None if video_ids is None else sorted(video_ids))
        return load(self, video_ids)

    monkeypatch.setattr(VideoVectors, "_load", spy)
    return calls


def assert_same_table(got, want):
    assert got.ids.tolist() == want.ids.tolist()
    assert got.titles == want.titles
    assert got.has_vector.tolist() == want.has_vector.tolist()
    np.testing.assert_allclose(got.vectors, want.vectors, atol=1e-6)
    np.testing.assert_array_equal(got.added, want.added)
    np.testing.assert_array_equal(got.durations, want.durations)
    assert got.keywords == want.keywords
    assert got.change == want.change


def test_a_restart_reads_the_video_table_from_its_file(library, monkeypatch):
    from web import create_app

    settings, catalog, ids = library
    folder = settings.data_dir / "vectors"
    first = create_app(settings).extensions["recommender"].videos.table()  # the server's own wiring
    assert (folder / CACHE_FILE).is_file()
    loads = count_loads(monkeypatch)
    restarted = VideoVectors(catalog, folder).table()
    assert loads == []  # not one embedding row read from SQL
    assert_same_table(restarted, first)
    assert_same_table(restarted, VideoVectors(catalog).table())  # the same as a build from SQL alone
    assert any(restarted.keywords)
    pasta = restarted.row_of[ids["Fresh tomato pasta sauce"]]
    rows, _ = restarted.nearest(restarted.vectors[pasta], 3)
    assert restarted.ids[rows[0]] == ids["Fresh tomato pasta sauce"]


def test_videos_added_or_removed_between_runs_show_after_a_restart(library, monkeypatch):
    settings, catalog, ids = library
    folder = settings.data_dir / "vectors"
    VideoVectors(catalog, folder).table()
    new = add_video(catalog, "Homemade pizza dough", ["Knead the pizza dough with flour, yeast and warm water."])
    gone = ids["Kitten plays with wool"]
    with catalog.session() as s, s.begin():
        record_change(s, gone)
        s.delete(s.get(Video, gone))
    loads = count_loads(monkeypatch)
    restarted = VideoVectors(catalog, folder).table()
    assert loads == [sorted([new, gone])]  # only what changed is read again
    assert new in restarted.row_of and gone not in restarted.row_of
    assert restarted.titles[restarted.row_of[new]] == "Homemade pizza dough"
    assert_same_table(restarted, VideoVectors(catalog).table())
    loads.clear()
    assert_same_table(VideoVectors(catalog, folder).table(), restarted)  # the refreshed table was saved
    assert loads == []


def test_a_new_video_made_by_the_same_models_refreshes_the_table_without_scanning_every_vector(library,
                                                                                                 monkeypatch):
    """While indexing goes on, every change refreshes the table; which models it uses is re-counted
    over all embeddings (seconds at a million) only when a changed video was made by another model."""
    settings, catalog, ids = library
    videos = VideoVectors(catalog, settings.data_dir / "vectors")
    videos.table()
    scans = []
    count = VideoVectors._model_versions
    monkeypatch.setattr(VideoVectors, "_model_versions", lambda self: scans.append(1) or count(self))
    new = add_video(catalog, "Homemade pizza dough", ["Knead the pizza dough with flour, yeast and warm water."])
    table = videos.table()
    assert new in table.row_of and table.has_vector[table.row_of[new]] and scans == []
    with catalog.session() as s, s.begin():  # one video embedded again by another model, as a re-index starts
        s.execute(update(Embedding).where(Embedding.video_id == new).values(model_version="v2"))
        record_change(s, new)
    table = videos.table()
    assert scans == [1] and not table.has_vector[table.row_of[new]]  # the old model still has most vectors


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_damaged_video_table_file_is_ignored_and_rebuilt(library, monkeypatch, caplog, damage):
    settings, catalog, _ = library
    folder = settings.data_dir / "vectors"
    VideoVectors(catalog, folder).table()
    path = folder / CACHE_FILE
    good = path.read_bytes()
    path.write_bytes({"garbage": b"not a table" * 100, "truncated": good[:len(good) // 2], "empty": b""}[damage])
    loads = count_loads(monkeypatch)
    table = VideoVectors(catalog, folder).table()
    assert loads == [None]
    assert "rebuilding the recommender's video table" in caplog.text
    assert_same_table(table, VideoVectors(catalog).table())
    loads.clear()
    assert_same_table(VideoVectors(catalog, folder).table(), table)  # and a good file was written again
    assert loads == []


def test_a_new_model_version_makes_the_video_table_file_outdated(library, monkeypatch):
    settings, catalog, _ = library
    folder = settings.data_dir / "vectors"
    VideoVectors(catalog, folder).table()
    with catalog.session() as s, s.begin():  # every transcript embedded again by a new model, as `index reindex` does
        s.execute(update(Embedding).where(Embedding.owner_kind == "segment").values(model_version="v2"))
        for video_id in s.scalars(select(Video.id)):
            record_change(s, video_id)
    loads = count_loads(monkeypatch)
    videos = VideoVectors(catalog, folder)
    table = videos.table()
    assert loads == [None]
    assert videos._versions["segment"][0] == "v2" and table.has_vector.any()
    assert_same_table(table, VideoVectors(catalog).table())


def test_a_video_table_that_cannot_be_saved_is_served_from_memory(library, caplog):
    settings, catalog, _ = library
    not_a_folder = settings.data_dir / "vectors"
    not_a_folder.write_text("")  # saving fails the way a full disk makes it fail: with an OSError
    table = VideoVectors(catalog, not_a_folder).table()
    assert_same_table(table, VideoVectors(catalog).table())
    assert "could not save the recommender's video table" in caplog.text
