"""Users, events and history over HTTP, on SQLite and PostgreSQL: validation, idempotency, deletion."""
from __future__ import annotations

import threading

import pytest

from catalog import Event, Video, VideoStatus
from search.recommend import events as ev
from tests.conftest import api_key, keyed_client, make_account, make_settings
from web import create_app


@pytest.fixture
def api(catalog, catalog_url, tmp_path):
    with catalog.session() as s:
        videos = [Video(path=f"/v/{n}.mp4", title=f"video {n}", status=VideoStatus.INDEXED, duration=60.0)
                  for n in range(3)]
        s.add_all(videos)
        s.commit()
        video_ids = [v.id for v in videos]
    app = create_app(make_settings(tmp_path / "data", database_url=catalog_url))
    ann = make_account(catalog, "ann")
    yield keyed_client(app, api_key(catalog, ann)), ann, video_ids, catalog


def history(client, user_id):
    return client.get(f"/api/v1/users/{user_id}/history").get_json()


def test_a_retried_event_is_counted_once(api):
    client, ann, videos, _ = api
    event = {"user_id": ann, "video_id": videos[0], "type": "like", "client_event_id": "phone-1"}
    first = client.post("/api/v1/events", json=event)
    again = client.post("/api/v1/events", json=event)
    assert first.status_code == 201 and not first.get_json()["duplicate"]
    assert again.status_code == 200 and again.get_json() == {**first.get_json(), "duplicate": True}
    batch = client.post("/api/v1/events/batch", json={"events": [
        event, {**event, "client_event_id": "phone-2", "type": "view"},
        {**event, "client_event_id": "phone-2", "type": "view"}]}).get_json()
    assert (batch["stored"], batch["duplicates"]) == (1, 2)
    assert batch["events"][0]["id"] == first.get_json()["id"]
    assert batch["events"][1]["id"] == batch["events"][2]["id"]
    assert history(client, ann)["total"] == 2


def test_concurrent_retries_store_one_event(api):
    _, ann, videos, catalog = api
    barrier = threading.Barrier(4)
    results = []

    def post():
        barrier.wait()
        with catalog.session() as s:
            results.append(ev.record(s, [ev.NewEvent(ann, "complete", video_id=videos[1], client_event_id="c-9")]))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r[0].id for r in results}) == 1
    with catalog.session() as s:
        assert s.query(Event).filter_by(client_event_id="c-9").count() == 1


@pytest.mark.parametrize("event, status, says", [
    ({"video_id": 1, "type": "like", "user_id": 999999}, 403, "another user's id"),
    ({"type": "like", "video_id": 999999}, 404, "no video with id 999999"),
    ({"type": "love"}, 422, "type"),
    ({"type": "like", "video_id": None}, 422, "needs video_id"),
    ({"type": "progress", "watch_seconds": 5}, 422, "needs position"),
    ({"type": "progress", "position": -3}, 422, "position"),
    ({"type": "search", "video_id": None}, 422, "needs the query"),
    ({"type": "view", "video_id": "one"}, 422, "video_id"),
    ({"type": "view", "colour": "red"}, 422, "colour"),
])
def test_bad_events_get_a_4xx_that_says_why_and_store_nothing(api, event, status, says):
    client, ann, videos, _ = api
    body = {"user_id": ann, "video_id": videos[0], **event}
    if body["video_id"] == 1:
        body["video_id"] = videos[0]
    response = client.post("/api/v1/events", json=body)
    assert response.status_code == status, response.get_json()
    assert says in response.get_json()["message"]
    assert history(client, ann)["total"] == 0


def test_a_bad_event_rejects_its_whole_batch(api):
    client, ann, videos, _ = api
    response = client.post("/api/v1/events/batch", json={"events": [
        {"user_id": ann, "video_id": videos[0], "type": "view"},
        {"user_id": ann, "video_id": 987654, "type": "view"}]})
    assert response.status_code == 404
    assert response.get_json()["message"] == "event 1: no video with id 987654"
    assert history(client, ann)["total"] == 0


def test_a_client_clock_in_the_future_is_replaced_by_the_time_received(api):
    client, ann, videos, _ = api
    body = {"user_id": ann, "video_id": videos[0], "type": "view", "at": "2999-01-01T00:00:00Z"}
    assert client.post("/api/v1/events", json=body).status_code == 201
    assert history(client, ann)["events"][0]["at"].startswith(("2025", "2026", "2027", "2028"))


def test_history_lists_newest_first_and_can_be_deleted(api):
    client, ann, videos, _ = api
    for n, (kind, extra) in enumerate([("view", {}), ("progress", {"position": 30.0, "watch_seconds": 30.0}),
                                       ("search", {"query": "bread", "video_id": None})]):
        body = {"user_id": ann, "video_id": videos[2], "type": kind, "at": f"2026-01-0{n + 1}T10:00:00Z", **extra}
        assert client.post("/api/v1/events", json=body).status_code == 201
    events = history(client, ann)["events"]
    assert [e["type"] for e in events] == ["search", "progress", "view"]
    assert events[0]["query"] == "bread" and events[1]["position"] == 30.0
    gone = client.delete(f"/api/v1/users/{ann}/history")
    assert gone.get_json() == {"user_id": ann, "deleted": 3}
    assert history(client, ann) == {"user_id": ann, "total": 0, "offset": 0, "events": []}
    assert client.delete("/api/v1/users/777777/history").status_code == 403  # not theirs, whether or not it exists


def test_recommendations_answer_for_new_users_and_refuse_unknown_ones(api):
    client, ann, videos, _ = api
    feed = client.get(f"/api/v1/users/{ann}/recommendations?k=2")
    assert feed.status_code == 200
    assert len(feed.get_json()["items"]) == 2
    assert client.get("/api/v1/users/555555/recommendations").status_code == 403
    assert client.get(f"/api/v1/users/{ann}/recommendations?k=0").status_code == 422
