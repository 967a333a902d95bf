"""People end to end: videos made of real photos of real people (shared/real-media/faces), indexed,
grouped into people across videos, named, searched with person=, edited through the API."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

import samples
from catalog import (Catalog, Embedding, Face, Keyframe, Person, SpeakerTurn, Tag, TranscriptSegment, Video, Voice,
                     upgrade)
from indexer.pipeline import Indexer
from web import create_app

from conftest import make_settings, service_missing, session_csrf

FACES = Path(__file__).resolve().parents[2] / "shared" / "real-media" / "faces"
TOKEN = "people-test-token"
SIZE = (480, 360)

pytestmark = pytest.mark.slow


def photo(person: str, n: int) -> str:
    found = sorted((FACES / person).glob(f"{person}_0{n}.*"))
    if not found:
        service_missing(f"real face photos missing: {FACES / person}")
    return str(found[0])


def make_library(folder: Path) -> dict[str, Path]:
    """Obama is shown while a voice speaks about the budget, then Kit in silence; a second video shows them
    the other way round, with no sound."""
    a = samples.make_video(folder / "budget talk.mp4",
                           [samples.Scene(5, photo=photo("barack_obama", 1)),
                            samples.Scene(5, photo=photo("kit_harington", 1))],
                           [samples.Utterance(0.5, "We need to talk about the budget for next year.")], size=SIZE)
    b = samples.make_video(folder / "second visit.mp4",
                           [samples.Scene(4, photo=photo("kit_harington", 2)),
                            samples.Scene(4, photo=photo("barack_obama", 2))], audio=False, size=SIZE)
    return {"a": a.path, "b": b.path}


def people_of(catalog: Catalog) -> dict[int, list[tuple[str, float]]]:
    """person id -> (video file name, face time) of each of their faces."""
    with catalog.session() as s:
        rows = s.execute(select(Face.person_id, Face.time, Face.video_id)).all()
        names = dict(s.execute(select(Video.id, Video.path)).all())
    out: dict[int, list] = {}
    for pid, time, video_id in rows:
        out.setdefault(pid, []).append((Path(names[video_id]).name, time))
    return {pid: sorted(faces) for pid, faces in out.items()}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    folder = tmp_path_factory.mktemp("people")
    videos = make_library(folder)
    settings = make_settings(folder / "data", admin_token=TOKEN)
    upgrade(settings.catalog_url)
    catalog = Catalog(settings.catalog_url)
    indexer = Indexer(settings, catalog)
    for path in videos.values():
        assert indexer.index_path(path).status == "indexed"
    yield settings, catalog, indexer, videos
    catalog.dispose()


def obama_and_kit(catalog: Catalog) -> tuple[int, int]:
    """The person seen at the start of the budget talk (Obama) and the one seen after (Kit)."""
    people = people_of(catalog)
    obama = next(pid for pid, faces in people.items() if ("budget talk.mp4", 0.0) in faces)
    kit = next(pid for pid, faces in people.items() if any(v == "budget talk.mp4" and t >= 5 for v, t in faces))
    return obama, kit


def test_the_same_person_in_two_videos_is_one_person_and_two_people_are_two(library):
    _, catalog, _, _ = library
    people = people_of(catalog)
    obama, kit = obama_and_kit(catalog)
    assert obama != kit
    assert {v for v, _ in people[obama]} == {"budget talk.mp4", "second visit.mp4"}
    assert {v for v, _ in people[kit]} == {"budget talk.mp4", "second visit.mp4"}
    # Obama is on screen at 4 s of the second video, Kit at its start
    assert ("second visit.mp4", 4.0) in people[obama] and ("second visit.mp4", 0.0) in people[kit]
    assert len(people) == 2


def test_the_voice_heard_while_a_face_is_on_screen_is_that_person(library):
    settings, catalog, _, _ = library
    obama, kit = obama_and_kit(catalog)
    client = create_app(settings).test_client()
    detail = client.get("/api/v1/videos/1").get_json()
    said = {seg["text"]: seg for seg in detail["transcript"]}
    budget = next(seg for text, seg in said.items() if "budget" in text)
    assert budget["person_id"] == obama
    who = {p["id"]: p for p in detail["people"]}
    assert who[obama]["appears"][0][0] == 0.0 and who[obama]["speaks"]
    vtt = client.get("/api/v1/videos/1/subtitles.vtt").get_data(as_text=True)
    assert f"<v Person {obama}>We need to talk about the budget" in vtt


def test_person_filter_with_a_query_finds_their_moment_only(library):
    settings, catalog, _, _ = library
    obama, kit = obama_and_kit(catalog)
    client = create_app(settings).test_client()
    found = client.get(f"/api/v1/search?q=money+for+next+year&person={obama}").get_json()
    assert found["moments"] and found["moments"][0]["start"] < 5.0
    assert "budget" in found["moments"][0]["snippet"]
    # Kit is on screen only after 5 s: the budget sentence is not his moment
    with_kit = client.get(f"/api/v1/search?q=money+for+next+year&person={kit}").get_json()
    assert all("budget" not in m["snippet"] for m in with_kit["moments"])
    # a person alone lists where they are seen or heard, in both videos
    browsed = client.get(f"/api/v1/search?person={kit}").get_json()
    assert {m["video_id"] for m in browsed["moments"]} == {1, 2}


def test_naming_needs_an_admin_and_a_named_person_survives_a_reindex(library):
    settings, catalog, indexer, videos = library
    obama, _ = obama_and_kit(catalog)
    client = create_app(settings).test_client()
    assert client.patch(f"/api/v1/people/{obama}", json={"name": "Barack Obama"}).status_code == 401
    admin = {"Authorization": f"Bearer {TOKEN}"}
    named = client.patch(f"/api/v1/people/{obama}", json={"name": "Barack Obama"}, headers=admin)
    assert named.status_code == 200 and named.get_json()["label"] == "Barack Obama"
    assert indexer.index_path(videos["a"], force=True).status == "indexed"
    assert indexer.index_path(videos["b"], force=True).status == "indexed"
    again, _ = obama_and_kit(catalog)
    assert again == obama
    with catalog.session() as s:
        assert s.get(Person, obama).name == "Barack Obama"
        assert s.scalar(select(func.count(Person.id))) == 2  # nobody doubled by the re-index
    person = client.get(f"/api/v1/people/{obama}").get_json()
    assert {t["video_id"] for t in person["timeline"]} == {1, 2}
    assert client.get(person["gallery"][0]["picture_url"]).status_code == 200


def test_a_new_face_and_voice_model_keeps_the_names_by_place(library):
    """Descriptors of another model cannot be compared: a re-index finds its people where they were."""
    _, catalog, indexer, videos = library
    obama, kit = obama_and_kit(catalog)
    with catalog.session() as s, s.begin():
        for person in s.scalars(select(Person)):
            person.face_model, person.voice_model = "an older face model", "an older voice model"
    for path in videos.values():
        assert indexer.index_path(path, force=True).status == "indexed"
    assert obama_and_kit(catalog) == (obama, kit)
    with catalog.session() as s:
        assert s.get(Person, obama).name == "Barack Obama"
        assert s.scalar(select(func.count(Person.id))) == 2
        assert s.scalar(select(SpeakerTurn.person_id)) == obama  # the voice stays his
        assert {p.face_model for p in s.scalars(select(Person))} == {s.scalar(select(Face.model_version))}


def test_people_pages_list_name_and_split_for_an_admin(library):
    settings, catalog, _, _ = library
    obama, kit = obama_and_kit(catalog)
    client = create_app(settings).test_client()
    listing = client.get("/people").get_data(as_text=True)
    assert f'data-person-id="{kit}"' in listing and "Barack Obama" in listing
    client.get("/people")  # a session, for its CSRF token
    refused = client.post(f"/people/{kit}/name", data={"name": "Kit", "csrf_token": session_csrf(client)})
    assert refused.status_code == 401  # no one signed in
    client.post("/admin/login", data={"token": TOKEN, "csrf_token": session_csrf(client)})
    named = client.post(f"/people/{kit}/name", data={"name": "Kit <Harington>", "csrf_token": session_csrf(client)},
                        follow_redirects=True).get_data(as_text=True)
    assert "Kit &lt;Harington&gt;" in named and "Kit <Harington>" not in named  # escaped
    page = client.get(f"/people/{kit}").get_data(as_text=True)
    assert page.count('name="face"') == 2 and "/watch/2?t=0.0" in page
    with catalog.session() as s:
        second = s.scalar(select(Face.id).where(Face.person_id == kit, Face.video_id == 2))
    split = client.post(f"/people/{kit}/split", data={"face": [str(second)], "csrf_token": session_csrf(client)})
    new = int(split.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert new != kit and people_of(catalog)[new] == [("second visit.mp4", 0.0)]
    client.post(f"/people/{kit}/merge", data={"other": str(new), "csrf_token": session_csrf(client)})
    assert len(people_of(catalog)[kit]) == 2 and new not in people_of(catalog)


def test_merge_split_and_forget(library):
    settings, catalog, _, _ = library
    obama, kit = obama_and_kit(catalog)
    client = create_app(settings).test_client()
    admin = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post(f"/api/v1/people/{obama}/merge", json={"people": [kit]}).status_code == 401
    merged = client.post(f"/api/v1/people/{obama}/merge", json={"people": [kit]}, headers=admin).get_json()
    assert merged["faces"] == 4
    kit_faces = [f["id"] for f in merged["gallery"] if "kit" in _face_file(catalog, f["id"])]
    split = client.post(f"/api/v1/people/{obama}/split", json={"faces": kit_faces}, headers=admin)
    assert split.status_code == 201 and split.get_json()["faces"] == 2
    new = split.get_json()["id"]
    assert client.post(f"/api/v1/people/{obama}/split", json={"faces": [999999]}, headers=admin).status_code == 422
    crops = [settings.thumbnails_dir / name for name in _crops(catalog, new)]
    assert crops and all(p.is_file() for p in crops)
    assert client.delete(f"/api/v1/people/{new}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/people/{new}").status_code == 404
    assert not any(p.exists() for p in crops)
    with catalog.session() as s:
        assert s.scalar(select(func.count(Face.id)).where(Face.person_id == new)) == 0
        assert s.scalar(select(func.count(Face.id))) == 2  # Obama's two faces stay


def _face_file(catalog: Catalog, face_id: int) -> str:
    """Which photo a face came from, by where its keyframe is (Kit: budget talk after 5 s, second visit at 0)."""
    with catalog.session() as s:
        face = s.get(Face, face_id)
        return "kit" if (face.video_id == 1 and face.time >= 5) or (face.video_id == 2 and face.time < 4) else "obama"


def _crops(catalog: Catalog, person_id: int) -> list[str]:
    with catalog.session() as s:
        return list(s.scalars(select(Face.thumbnail).where(Face.person_id == person_id)))


def test_people_off_computes_and_stores_nothing_of_people_and_everything_else(library, tmp_path):
    settings, catalog, _, videos = library
    off = replace(settings, data_dir=tmp_path / "data", people=False)
    upgrade(off.catalog_url)
    quiet = Catalog(off.catalog_url)
    outcome = Indexer(off, quiet).index_path(videos["a"])
    assert outcome.status == "indexed" and "speakers" not in outcome.stages
    with quiet.session() as s, catalog.session() as on:
        for table in (Person, Face, Voice, SpeakerTurn):
            assert s.scalar(select(func.count()).select_from(table)) == 0
        for table in (TranscriptSegment, Keyframe, Embedding):
            assert s.scalar(select(func.count()).select_from(table)) == \
                on.scalar(select(func.count()).select_from(table).where(table.video_id == 1))
        assert s.scalar(select(func.count()).select_from(Tag)) > 0
    quiet.dispose()


def test_people_on_postgresql(library, postgres_url):
    """Two videos into PostgreSQL: the writer's lock and queries hold there too."""
    from conftest import _reset_postgres

    settings, _, _, videos = library
    _reset_postgres(postgres_url)
    pg = replace(settings, database_url=postgres_url)
    upgrade(pg.catalog_url)
    catalog = Catalog(pg.catalog_url)
    indexer = Indexer(pg, catalog)
    for path in videos.values():
        assert indexer.index_path(path).status == "indexed"
    people = people_of(catalog)
    assert len(people) == 2 and all(len({v for v, _ in faces}) == 2 for faces in people.values())
    catalog.dispose()
