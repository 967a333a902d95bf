"""People's faces on real photos (../shared/real-media/faces): the same person in two videos is one person, two
people are two, a group photo finds both by name, a frame without a face finds nobody, a crowd is capped to
its largest faces, and the same library indexed again gives the same people."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter, ImageOps

from models.face_identity import MAX_FACES_PER_FRAME, FaceFound, load_face_identity
from people.faces import exemplars, group_faces, match_people, people_in_video
from tests.conftest import service_missing

REAL_MEDIA = Path(os.environ.get("REELSCOPE_REAL_MEDIA",
                                 Path(__file__).resolve().parents[2] / "shared" / "real-media"))
FACES = REAL_MEDIA / "faces"
PEOPLE = ["alex_lacamoire", "barack_obama", "joe_biden", "kit_harington", "rose_leslie"]


@pytest.fixture(scope="module")
def model():
    if not FACES.is_dir():
        service_missing(f"no face photos at {FACES}; set REELSCOPE_REAL_MEDIA")
    return load_face_identity()


def photos(person: str) -> list[Path]:
    return sorted((FACES / person).glob("*.*"))


@pytest.fixture(scope="module")
def found(model) -> dict[str, list[FaceFound]]:
    """Every photo's faces, by file name."""
    return {p.name: model.find(Image.open(p)) for person in PEOPLE + ["_group"] for p in photos(person)}


def index_library(videos: list[list[np.ndarray]]) -> list[list[int]]:
    """Videos (their face descriptors in order) indexed one after the other, as the indexer does: person id per face."""
    known: dict[int, np.ndarray] = {}
    out = []
    for faces in videos:
        x = np.stack(faces)
        video = people_in_video(x, known)
        ids = []
        for group, person in enumerate(video.persons):
            if person is None:
                person = len(known) + 1
                known[person] = x[:0]
            stored = np.concatenate([known[person], x[video.faces_of(group)]])
            known[person] = stored[exemplars(stored)]
            ids.append(person)
        out.append([ids[g] for g in video.labels])
    return out


def face_of(found, name: str) -> np.ndarray:
    assert len(found[name]) == 1, f"{name}: {len(found[name])} faces"
    return found[name][0].descriptor


@pytest.mark.slow
def test_every_photo_shows_its_faces(model, found):
    manifest = json.loads((REAL_MEDIA / "manifest.json").read_text())
    expected = {Path(f["path"]).name: f["reference"]["faces_expected"] for f in manifest["files"]
                if f["path"].startswith("faces/")}
    for name, faces in found.items():
        if expected[name] > 1:  # a group photo: both people, and anyone else in the picture
            assert len(faces) >= expected[name], name
        else:
            assert len(faces) == expected[name] == 1, name
        for f in faces:
            assert f.descriptor.shape == (128,) and f.descriptor.dtype == np.float32
            assert f.box[2] > f.box[0] and f.box[3] > f.box[1]
    assert model.version.startswith("dlib-resnet-v1@") and len(model.version) == len("dlib-resnet-v1@") + 12


@pytest.mark.slow
def test_same_person_in_two_videos_is_one_person(found):
    obama = [face_of(found, p.name) for p in photos("barack_obama")]
    first, second = index_library([
        [obama[0], face_of(found, "joe_biden_01.jpg"), obama[1]],
        [face_of(found, "kit_harington_01.jpg"), obama[2], obama[3]],
    ])
    assert first[0] == first[2] != first[1]  # Obama twice, Biden once, in the first video
    assert second[1] == second[2] == first[0]  # Obama again, from other photos
    assert second[0] not in first  # Kit is nobody seen before


@pytest.mark.slow
def test_two_people_are_two(found):
    kit = [face_of(found, p.name) for p in photos("kit_harington")]
    rose = [face_of(found, p.name) for p in photos("rose_leslie")]
    (together,) = index_library([[kit[0], rose[0], kit[1], rose[1], kit[2]]])
    assert together[0] == together[2] == together[4] != together[1] == together[3]
    apart = index_library([kit, rose])
    assert set(apart[0]).isdisjoint(apart[1])


@pytest.mark.slow
def test_group_photo_finds_both_people_by_name(found):
    singles = [[face_of(found, p.name) for p in photos(person)] for person in PEOPLE]
    library = index_library(singles)
    person_id = {name: ids[0] for name, ids in zip(PEOPLE, library)}
    known = {}
    for ids, faces in zip(library, singles):
        known[ids[0]] = np.stack(faces)
    for photo, pair in (("obama_and_biden.jpg", {"barack_obama", "joe_biden"}),
                        ("kit_with_rose.jpg", {"kit_harington", "rose_leslie"})):
        faces = found[photo]
        video = people_in_video(np.stack([f.descriptor for f in faces]), known)
        matched = [video.person_of(i) for i in range(len(faces))]
        assert sorted(p for p in matched if p is not None) == sorted(person_id[n] for n in pair), photo
        # the two named faces are the two largest; another face in the photo (a child beside Obama) is someone new
        assert None not in matched[:2]


@pytest.mark.slow
def test_no_face_no_people(model):
    import skimage.data

    assert model.find(skimage.data.coffee()) == []
    assert model.find(skimage.data.rocket()) == []
    assert model.find(np.zeros((360, 640, 3), dtype=np.uint8)) == []


@pytest.mark.slow
def test_blurred_face_is_skipped(model, found):
    path = photos("barack_obama")[0]
    size = found[path.name][0].size
    assert model.find(Image.open(path).convert("RGB").filter(ImageFilter.GaussianBlur(0.08 * size))) == []


@pytest.mark.slow
def test_crowd_keeps_the_largest_faces(model, found):
    # nine faces cut out of the photos, each at its own size, tiled into one frame
    cell, sides = 300, [260, 245, 230, 215, 200, 185, 170, 155, 140]
    names = [p.name for person in PEOPLE for p in photos(person)][:len(sides)]
    crowd = Image.new("RGB", (3 * cell, 3 * cell), (128, 128, 128))
    for k, (name, side) in enumerate(zip(names, sides)):
        l, t, r, b = found[name][0].box
        pad = (r - l) // 2
        path = next(p for person in PEOPLE for p in photos(person) if p.name == name)
        tile = Image.open(path).convert("RGB").crop((l - pad, t - pad, r + pad, b + pad)).resize((side, side))
        crowd.paste(tile, ((k % 3) * cell, (k // 3) * cell))
    everyone = model.find(crowd, max_faces=100)
    assert len(everyone) == len(sides)
    capped = model.find(crowd)
    assert len(capped) == MAX_FACES_PER_FRAME < len(everyone)
    assert [f.box for f in capped] == [f.box for f in everyone[:MAX_FACES_PER_FRAME]]
    assert min(f.size for f in capped) >= max(f.size for f in everyone[MAX_FACES_PER_FRAME:])
    assert [f.box for f in model.find(crowd, max_faces=3)] == [f.box for f in everyone[:3]]


@pytest.mark.slow
def test_same_library_gives_same_people(found, model):
    mirrored = [f.descriptor for f in model.find(ImageOps.mirror(Image.open(photos("joe_biden")[1])))]
    videos = [[face_of(found, p.name) for p in photos(person)] for person in PEOPLE]
    videos[2] = videos[2] + mirrored
    videos.append([f.descriptor for f in found["obama_and_biden.jpg"]])
    assert index_library(videos) == index_library(videos)
    x = np.stack([d for v in videos for d in v])
    assert group_faces(x) == group_faces(x.copy())
    groups = [x[:3], x[3:7]]
    known = {7: x[7:10], 3: x[10:12], 5: x[12:14]}
    assert match_people(groups, known) == match_people(groups, dict(reversed(list(known.items()))))


def test_one_person_takes_one_group_per_video():
    rng = np.random.default_rng(0)
    centre = rng.normal(size=128)
    centre /= np.linalg.norm(centre) * 2
    person = centre + rng.normal(scale=0.01, size=(5, 128))
    near, nearer = centre + 0.3 / np.sqrt(128), centre + 0.1 / np.sqrt(128)
    assert match_people([near[None], nearer[None]], {4: person}) == [None, 4]
    assert match_people([near[None]], {}) == [None]
    assert match_people([], {4: person}) == []


def test_exemplars_are_bounded_and_cover_everyone():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 128))
    x = np.concatenate([c + rng.normal(scale=0.02, size=(n, 128)) for c, n in zip(centres, (500, 30, 3))])
    kept = exemplars(x, cap=8)
    assert len(kept) == len(set(kept)) == 8
    owners = {0 if i < 500 else 1 if i < 530 else 2 for i in kept}
    assert owners == {0, 1, 2}  # the rare look (3 frames of 533) is kept too
    assert exemplars(x[:5], cap=8) == [0, 1, 2, 3, 4]
    assert exemplars(x, cap=8) == kept
