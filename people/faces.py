"""Faces grouped into people, one video at a time, so that a library grows without regrouping what it has.

A face is a 128-d dlib descriptor (models/face_identity.py); one person's faces lie within ~0.5 of each
other (Euclidean), two people's ~0.7 or more apart. Indexing a video:

1. `group_faces`: the video's faces are grouped into the video's own people (average-linkage clustering
   cut at GROUP_DISTANCE). Within one video lighting, make-up and camera are shared, so this step is the
   most reliable one, and it turns hundreds of faces into a handful of groups.
2. `match_people`: each group is compared with the people the library already knows, by their stored
   exemplars, and joins the nearest one closer than MATCH_DISTANCE; otherwise it is a new person. Two
   groups of one video never join the same person: two different faces side by side are two people.
3. `exemplars`: what to store for a person, a bounded, spread-out subset of their descriptors, so that
   matching costs the same after one video or a thousand, a minute of a face or an hour.

Everything is deterministic: the same descriptors in the same order give the same labels and matches,
so re-indexing a video does not reshuffle its people.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

# Cut of the within-video tree (average linkage: a group's faces are on average this close to each other).
# Measured (bench/people_quality.py): one person's frames in one "video" lie up to 0.49 apart, two people's
# 0.69 and more; F1 is 1.0 from 0.5 to 0.7 and falls below (0.97 at 0.45). 0.55: off the edge where one
# person splits in two, far below where two people merge (dlib's own verification cut is 0.6).
GROUP_DISTANCE = 0.55
# A video's group joins a known person when the median, over the group's faces, of each face's distance
# to the nearest exemplar of that person is below this. The median lets a few odd frames (profile, blur)
# not decide. Measured: a person against themselves in earlier videos at most 0.51, against anyone else
# at least 0.69; F1 is 1.0 from 0.55 to 0.7. 0.57 rather than the gap's middle (0.6): the nearest of 32
# exemplars flatters a stranger more the more exemplars a person has, and a library holds many more
# faces that look alike than these six people.
MATCH_DISTANCE = 0.57
# Descriptors kept per person for matching.
EXEMPLARS = 32
# Above this many faces in one video the full distance matrix (n^2 / 2 doubles) is too large: faces are
# first gathered around leaders within LEADER_RADIUS (far inside one person's spread), and the leaders
# are clustered instead.
MAX_LINKAGE_FACES = 3000
LEADER_RADIUS = 0.3


@dataclass(frozen=True)
class VideoPeople:
    labels: list[int]  # per face: its group in this video, 0.. in order of first appearance
    persons: list[int | None]  # per group: the known person it joins, None for a new person

    def person_of(self, face: int) -> int | None:
        return self.persons[self.labels[face]]

    def faces_of(self, group: int) -> list[int]:
        return [i for i, g in enumerate(self.labels) if g == group]


def _matrix(descriptors) -> np.ndarray:
    x = np.asarray(descriptors, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :] if x.size else x.reshape(0, 128)
    return x


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.clip(sq, 0.0, None))


def _first_appearance(labels: Sequence[int]) -> list[int]:
    """Renumber labels 0, 1, ... in the order they first appear."""
    seen: dict[int, int] = {}
    return [seen.setdefault(int(label), len(seen)) for label in labels]


def _leaders(x: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy, in order: each face joins the nearest leader within radius, else leads. (leader rows, face -> leader)."""
    leaders: list[int] = []
    owner = np.empty(len(x), dtype=np.int64)
    for i in range(len(x)):
        if leaders:
            d = np.linalg.norm(x[leaders] - x[i], axis=1)
            j = int(np.argmin(d))
            if d[j] < radius:
                owner[i] = j
                continue
        owner[i] = len(leaders)
        leaders.append(i)
    return np.array(leaders), owner


def group_faces(descriptors, cut: float = GROUP_DISTANCE) -> list[int]:
    """Per face of one video, its local group (0.., in order of first appearance)."""
    from scipy.cluster.hierarchy import fcluster, linkage

    x = _matrix(descriptors)
    if len(x) <= 1:
        return [0] * len(x)
    owner = np.arange(len(x))
    if len(x) > MAX_LINKAGE_FACES:
        rows, owner = _leaders(x, LEADER_RADIUS)
        x = x[rows]
    if len(x) == 1:
        labels = np.zeros(1, dtype=np.int64)
    else:
        labels = fcluster(linkage(x, method="average", metric="euclidean"), t=cut, criterion="distance")
    return _first_appearance(labels[owner])


def person_distance(group, person) -> float:
    """How far a group of faces is from a person's descriptors: the median over the group's faces of the
    distance to that person's nearest descriptor."""
    g, p = _matrix(group), _matrix(person)
    if not len(g) or not len(p):
        return float("inf")
    return float(np.median(_distances(g, p).min(axis=1)))


def match_people(group_descriptors: Sequence, known: Mapping[int, np.ndarray],
                 max_distance: float = MATCH_DISTANCE) -> list[int | None]:
    """Per group of one video (its descriptors), the known person (id -> their stored descriptors) it is, or None
    for a new person. Each person takes at most one group: the closest pairs are settled first."""
    ids = sorted(known)
    # a long video's group can hold thousands of faces: its exemplars stand for it, as a person's do
    groups = [_matrix(g) for g in group_descriptors]
    groups = [g[exemplars(g)] for g in groups]
    people = [_matrix(known[i]) for i in ids]
    pairs = []
    for gi, g in enumerate(groups):
        for pi, p in enumerate(people):
            d = person_distance(g, p)
            if d < max_distance:
                pairs.append((d, gi, ids[pi]))
    result: list[int | None] = [None] * len(groups)
    taken: set[int] = set()
    for d, gi, pid in sorted(pairs):
        if result[gi] is None and pid not in taken:
            result[gi] = pid
            taken.add(pid)
    return result


def exemplars(descriptors, cap: int = EXEMPLARS) -> list[int]:
    """Indices of at most cap descriptors that cover a person's spread (pose, light, age): the most central one,
    then each time the one farthest from all chosen (farthest-point sampling). In the order chosen."""
    x = _matrix(descriptors)
    n = len(x)
    if n <= cap:
        return list(range(n))
    if cap <= 0:
        return []
    first = int(np.argmin(np.linalg.norm(x - x.mean(axis=0), axis=1)))
    chosen = [first]
    nearest = np.linalg.norm(x - x[first], axis=1)
    while len(chosen) < cap:
        nxt = int(np.argmax(nearest))
        chosen.append(nxt)
        nearest = np.minimum(nearest, np.linalg.norm(x - x[nxt], axis=1))
    return chosen


def people_in_video(descriptors, known: Mapping[int, np.ndarray]) -> VideoPeople:
    """Steps 1 and 2 for one video's faces (in a fixed order, e.g. by time then box)."""
    x = _matrix(descriptors)
    labels = group_faces(x)
    groups = [x[[i for i, g in enumerate(labels) if g == k]] for k in range(max(labels, default=-1) + 1)]
    return VideoPeople(labels=labels, persons=match_people(groups, known))
