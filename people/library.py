"""People in the catalog: a video's faces and voices written as people (those the library knows, or
new ones), the spans a person is seen or heard in, and the edits a person makes (name, hide, merge,
split, forget).

A video's faces are grouped first (people.faces), each group matched to the people already known by
the faces kept on their rows; its voices likewise (people.speakers). A voice and a face group are
one person when the face is on screen for most of what the voice says and no other face is nearly
as much: a named face then covers the voice too. Writing happens inside the video's one
transaction (indexer.writing); on PostgreSQL an advisory lock keeps two workers from each making
the same new person.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import delete, func, select, text, update

from catalog import Face, Keyframe, Person, Shot, SpeakerTurn, Video, VideoStatus, Voice

from .faces import EXEMPLARS, exemplars, people_in_video
from .speakers import Diarization, match_voices

FACE_DIM = 128
VOICE_DIM = 256
# a voice is a face's when that face is on screen for this share of what the voice says...
LINK_SHARE = 0.6
# ...and no other face of the video is on screen for more than this share of that much
LINK_MARGIN = 0.5
_LOCK_KEY = 0x7065_6F70  # "peop": the advisory lock every writer of people takes on PostgreSQL


@dataclass
class FaceSeen:
    """One face found in one keyframe of the video being indexed."""
    keyframe: int  # index into the video's keyframes
    box: tuple[int, int, int, int]
    descriptor: np.ndarray  # (128,)
    crop: bytes  # JPEG of the face, for galleries


@dataclass
class PeopleFound:
    """What indexing found of people in one video; None parts were not looked for (people off, no picture
    or no speech)."""
    faces: list[FaceSeen] | None = None
    face_model: str | None = None
    speakers: Diarization | None = None
    voice_model: str | None = None
    crop_names: list[str] = field(default_factory=list)  # one a face, written by indexer.writing


def label(person: Person) -> str:
    return person.name or f"Person {person.id}"


def _rows(blob: bytes | None, dim: int) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32).reshape(-1, dim) if blob else np.zeros((0, dim), np.float32)


def _blob(rows: np.ndarray) -> bytes:
    return np.ascontiguousarray(rows, dtype=np.float32).tobytes()


def _lock(session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


# -- writing one video's people ------------------------------------------------------------------

@dataclass
class Before:
    """Who a video's faces and voices were before it is indexed again: by place, not by descriptor, so
    names carry over even when a new face or voice model makes the old descriptors incomparable."""
    faces: list[tuple[float, list, int]] = field(default_factory=list)  # (time, box, person)
    turns: list[tuple[float, float, int]] = field(default_factory=list)  # (start, end, person)

    @property
    def people(self) -> set[int]:
        return {pid for *_, pid in self.faces + self.turns}


def before_reindex(session, video_id: int) -> Before:
    """Read before the video's rows are dropped."""
    return Before(
        [(t, box, pid) for t, box, pid in session.execute(select(Face.time, Face.box, Face.person_id).where(
            Face.video_id == video_id, Face.person_id.is_not(None)))],
        [(a, b, pid) for a, b, pid in session.execute(select(SpeakerTurn.start, SpeakerTurn.end, SpeakerTurn.person_id)
                                                      .where(SpeakerTurn.video_id == video_id,
                                                             SpeakerTurn.person_id.is_not(None)))])


def _box_overlap(a, b) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _by_place(votes: dict[int, dict[int, float]], taken: list[int | None], existing: set[int]) -> list[int | None]:
    """Per group, the earlier person most of it stood where, if that person still exists and is free."""
    out = list(taken)
    used = {pid for pid in taken if pid is not None}
    for group in sorted(votes, key=lambda g: -max(votes[g].values())):
        if out[group] is not None:
            continue
        for pid, _ in sorted(votes[group].items(), key=lambda kv: -kv[1]):
            if pid in existing and pid not in used:
                out[group] = pid
                used.add(pid)
                break
    return out


def record(session, video_id: int, found: PeopleFound, frames: list[Keyframe], shots: list[Shot],
           before: Before | None = None) -> None:
    """The video's faces, voices and turns, with the people they are; `frames` and `shots` are the video's
    rows just written (flushed), in the analysis' order; `before`, who was where when the video was last
    indexed (a group or voice no descriptor matches takes the person it overlaps)."""
    faces = found.faces or []
    before = before or Before()
    diarization = found.speakers or Diarization()
    if not faces and not diarization.turns:
        return
    _lock(session)
    span_of_shot = {shot.index: (shot.start, shot.end) for shot in shots}
    face_spans = [span_of_shot.get(frames[f.keyframe].shot_index, (frames[f.keyframe].time,) * 2) for f in faces]

    known_faces = {p.id: _rows(p.face_exemplars, FACE_DIM) for p in session.scalars(
        select(Person).where(Person.face_model == found.face_model, Person.face_exemplars.is_not(None)))} \
        if faces else {}
    in_video = people_in_video(np.stack([f.descriptor for f in faces]), known_faces) if faces else None
    group_person = list(in_video.persons) if in_video else []
    group_spans = defaultdict(list)
    for i, span in enumerate(face_spans):
        group_spans[in_video.labels[i]].append(span)

    known_voices = {p.id: _rows(p.voice, VOICE_DIM) for p in session.scalars(
        select(Person).where(Person.voice_model == found.voice_model, Person.voice.is_not(None)))} \
        if diarization.speakers else {}
    voice_person = match_voices(diarization.voices, known_voices) if diarization.speakers else []
    earlier = before.people  # merged away or forgotten since: not there
    existing = set(session.scalars(select(Person.id).where(Person.id.in_(earlier)))) if earlier else set()
    if before.faces and in_video:
        votes: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        for i, f in enumerate(faces):
            for t, box, pid in before.faces:
                if abs(t - frames[f.keyframe].time) < 0.01 and _box_overlap(f.box, box) >= 0.5:
                    votes[in_video.labels[i]][pid] += 1.0
        group_person = _by_place(votes, group_person, existing)
    if before.turns and diarization.speakers:
        votes = defaultdict(lambda: defaultdict(float))
        for t in diarization.turns:
            for a, b, pid in before.turns:
                votes[t.speaker][pid] += max(0.0, min(b, t.end) - max(a, t.start))
        voice_person = _by_place({s: v for s, v in votes.items() if max(v.values(), default=0) > 0},
                                 voice_person, existing)
    links = _links(diarization, group_spans)
    # a known voice gives its name to a new face on screen while it speaks
    for speaker, group in links.items():
        if voice_person[speaker] is not None and group_person[group] is None \
                and voice_person[speaker] not in group_person:
            group_person[group] = voice_person[speaker]
    group_person = [pid if pid is not None else _new_person(session) for pid in group_person]
    for speaker, group in links.items():
        if voice_person[speaker] is None:
            voice_person[speaker] = group_person[group]
    voice_person = [pid if pid is not None else _new_person(session) for pid in voice_person]

    for i, (f, (start, end)) in enumerate(zip(faces, face_spans)):
        frame = frames[f.keyframe]
        session.add(Face(video_id=video_id, person_id=group_person[in_video.labels[i]], keyframe_id=frame.id,
                         time=frame.time, start=start, end=end, box=[int(v) for v in f.box],
                         descriptor=_blob(f.descriptor), thumbnail=found.crop_names[i], model_version=found.face_model))
    for speaker, pid in enumerate(voice_person):
        session.add(Voice(video_id=video_id, person_id=pid, speaker=speaker, seconds=float(diarization.seconds[speaker]),
                          vector=_blob(diarization.voices[speaker]), model_version=found.voice_model))
    session.add_all(SpeakerTurn(video_id=video_id, person_id=voice_person[t.speaker], speaker=t.speaker,
                                start=float(t.start), end=float(t.end)) for t in diarization.turns)
    session.flush()
    for pid in set(group_person):
        group = [i for i, g in enumerate(in_video.labels) if group_person[g] == pid]
        _add_face_exemplars(session.get(Person, pid), np.stack([faces[i].descriptor for i in group]), found.face_model)
    for pid in set(voice_person):
        _refresh_voice(session, session.get(Person, pid))


def _links(diarization: Diarization, group_spans: dict[int, list[tuple[float, float]]]) -> dict[int, int]:
    """speaker -> the face group on screen while they speak, where one stands out."""
    links = {}
    for speaker in range(diarization.speakers):
        turns = [(t.start, t.end) for t in diarization.turns if t.speaker == speaker]
        said = sum(b - a for a, b in turns)
        if said <= 0 or not group_spans:
            continue
        shown = sorted(((_overlap(turns, spans), g) for g, spans in group_spans.items()), reverse=True)
        best, group = shown[0]
        runner_up = shown[1][0] if len(shown) > 1 else 0.0
        if best >= LINK_SHARE * said and runner_up <= LINK_MARGIN * best:
            links[speaker] = group
    return links


def _union(spans: list[tuple[float, float]], gap: float = 0.0) -> list[list[float]]:
    """The spans merged where they overlap or lie less than `gap` apart, in time order."""
    merged: list[list[float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1] + gap:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


def _overlap(turns: list[tuple[float, float]], spans: list[tuple[float, float]]) -> float:
    """Seconds of `turns` that fall inside the union of `spans`."""
    return sum(max(0.0, min(b, d) - max(a, c)) for a, b in turns for c, d in _union(spans))


def _new_person(session) -> int:
    person = Person()
    session.add(person)
    session.flush()
    return person.id


def _add_face_exemplars(person: Person, descriptors: np.ndarray, model: str) -> None:
    rows = np.concatenate([_rows(person.face_exemplars, FACE_DIM) if person.face_model == model
                           else np.zeros((0, FACE_DIM), np.float32), descriptors.astype(np.float32)])
    person.face_exemplars, person.face_model = _blob(rows[exemplars(rows, EXEMPLARS)]), model


def _refresh_voice(session, person: Person) -> None:
    """The person's voice: the mean of their voices in every video, weighted by how long each speaks."""
    rows = session.execute(select(Voice.vector, Voice.seconds, Voice.model_version)
                           .where(Voice.person_id == person.id)).all()
    if not rows:
        person.voice = person.voice_model = None
        return
    model = rows[-1].model_version
    rows = [r for r in rows if r.model_version == model]
    mean = sum(_rows(r.vector, VOICE_DIM)[0] * max(r.seconds, 0.1) for r in rows)
    person.voice, person.voice_model = _blob(mean / (np.linalg.norm(mean) or 1.0)), model


def people_of_video(session, video_id: int) -> set[int]:
    """Who is seen or heard in a video: read before its rows go, for forget_unseen after."""
    return set(session.scalars(select(Face.person_id).where(Face.video_id == video_id, Face.person_id.is_not(None))
                               .union(select(Voice.person_id).where(Voice.video_id == video_id,
                                                                    Voice.person_id.is_not(None)))))


def forget_unseen(session, candidates: set[int]) -> int:
    """Of `candidates` (the people of a video just re-indexed or removed), the unnamed ones no face or
    voice is left of: gone. Only they can have lost their last row, so the rest of the library is not read."""
    if not candidates:
        return 0
    seen = select(Face.person_id).where(Face.person_id.in_(candidates)).union(
        select(Voice.person_id).where(Voice.person_id.in_(candidates)))
    return session.execute(delete(Person).where(Person.id.in_(candidates), Person.name.is_(None),
                                                Person.hidden.is_(False), Person.id.not_in(seen))).rowcount or 0


# -- reading ----------------------------------------------------------------------------------------

@dataclass
class PersonSpan:
    """A stretch of a video where a person is seen or heard, as search.tag_index.Span reads."""
    video_id: int
    start: float
    end: float
    confidence: float
    label: str  # "face" or "voice"


def person_spans(session, person_ids: list[int], video_ids: list[int] | None = None) -> dict[int, list[PersonSpan]]:
    """{video: spans} where any of these (visible) people appear or speak, in indexed videos."""
    visible = select(Person.id).where(Person.id.in_(person_ids), Person.hidden.is_(False))
    indexed = select(Video.id).where(Video.status == VideoStatus.INDEXED)
    spans: dict[int, list[PersonSpan]] = defaultdict(list)
    for table, kind in ((Face, "face"), (SpeakerTurn, "voice")):
        q = select(table.video_id, table.start, table.end).where(table.person_id.in_(visible),
                                                                 table.video_id.in_(indexed))
        if video_ids is not None:
            q = q.where(table.video_id.in_(video_ids))
        for video_id, start, end in session.execute(q):
            spans[video_id].append(PersonSpan(video_id, start, max(end, start + 0.5), 1.0, kind))
    return dict(spans)


def merged_spans(spans: list[tuple[float, float]], gap: float = 1.0) -> list[list[float]]:
    """As shown: the union of the spans (those under `gap` apart joined), to the hundredth of a second."""
    return [[round(a, 2), round(b, 2)] for a, b in _union(spans, gap)]


def video_people(session, video_id: int) -> list[dict]:
    """Who appears and who speaks in a video, with their spans, by first appearance."""
    people: dict[int, dict] = {}
    for table, key in ((Face, "appears"), (SpeakerTurn, "speaks")):
        rows = session.execute(select(table.person_id, table.start, table.end).where(
            table.video_id == video_id, table.person_id.is_not(None)).order_by(table.start)).all()
        for pid, start, end in rows:
            people.setdefault(pid, {"appears": [], "speaks": []})[key].append((start, end))
    if not people:
        return []
    persons = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(people), Person.hidden.is_(False)))}
    out = [{"id": pid, "name": persons[pid].name, "label": label(persons[pid]),
            "appears": merged_spans(found["appears"]), "speaks": merged_spans(found["speaks"], gap=0.3)}
           for pid, found in people.items() if pid in persons]
    return sorted(out, key=lambda p: min([s[0] for s in p["appears"] + p["speaks"]]))


def speakers_of_segments(session, video_id: int, segments) -> dict[int, dict]:
    """segment id -> {"speaker": label, "person_id", "person_name", "speaker_number"} for the voice that says
    most of each segment (the person only while they are not hidden)."""
    turns = session.execute(select(SpeakerTurn.start, SpeakerTurn.end, SpeakerTurn.speaker, SpeakerTurn.person_id)
                            .where(SpeakerTurn.video_id == video_id).order_by(SpeakerTurn.start)).all()
    if not turns:
        return {}
    names = dict(session.execute(select(Person.id, Person.name).where(
        Person.id.in_({t.person_id for t in turns if t.person_id}), Person.hidden.is_(False))).all())
    voices = sorted({(t.speaker, t.person_id) for t in turns}, key=lambda v: (v[0], v[1] or 0))
    voice_of_turn = np.array([voices.index((t.speaker, t.person_id)) for t in turns])
    starts, ends = np.array([t.start for t in turns]), np.array([t.end for t in turns])
    out = {}
    # vectorised over the turns: a long recording has thousands of segments and of turns
    for seg in segments:
        said = np.bincount(voice_of_turn, weights=np.clip(np.minimum(seg.end, ends) - np.maximum(seg.start, starts),
                                                          0.0, None), minlength=len(voices))
        best = int(np.argmax(said))
        (speaker, pid), seconds = voices[best], float(said[best])
        if seconds > 0:
            visible = pid in names
            out[seg.id] = {"person_id": pid if visible else None, "person_name": names.get(pid),
                           "speaker_number": speaker + 1,
                           "speaker": (names[pid] or f"Person {pid}") if visible else f"Speaker {speaker + 1}"}
    return out


def summaries(session, people: list[Person]) -> list[dict]:
    """Each person with how often they are seen and heard, in three grouped queries for them all."""
    ids = [p.id for p in people]
    seen = {pid: (n, videos, cover) for pid, n, videos, cover in session.execute(
        select(Face.person_id, func.count(Face.id), func.count(func.distinct(Face.video_id)), func.min(Face.id))
        .where(Face.person_id.in_(ids)).group_by(Face.person_id))} if ids else {}
    heard = {pid: (videos, seconds) for pid, videos, seconds in session.execute(
        select(Voice.person_id, func.count(func.distinct(Voice.video_id)), func.sum(Voice.seconds))
        .where(Voice.person_id.in_(ids)).group_by(Voice.person_id))} if ids else {}
    out = []
    for p in people:
        faces, videos, cover = seen.get(p.id, (0, 0, None))
        voiced, speaking = heard.get(p.id, (0, 0.0))
        out.append({"id": p.id, "name": p.name, "label": label(p), "hidden": p.hidden, "faces": faces,
                    "videos_seen": videos, "videos_heard": voiced, "speaking_seconds": round(speaking or 0.0, 1),
                    "cover_face": cover})
    return out


def person_summary(session, person: Person) -> dict:
    return summaries(session, [person])[0]


MAX_LISTED = 5000


def list_people(session, include_hidden: bool = False) -> list[dict]:
    q = select(Person).order_by(Person.name.is_(None), Person.name, Person.id).limit(MAX_LISTED)
    if not include_hidden:
        q = q.where(Person.hidden.is_(False))
    people = list(session.scalars(q))
    return [row for at in range(0, len(people), 500) for row in summaries(session, people[at:at + 500])]


def people_choices(session, limit: int = 500) -> list[tuple[int, str | None]]:
    """(id, name) of the visible people, named first: what a person filter offers."""
    return [tuple(r) for r in session.execute(select(Person.id, Person.name).where(Person.hidden.is_(False))
                                              .order_by(Person.name.is_(None), Person.name, Person.id).limit(limit))]


def timeline(session, person_id: int, limit: int = 500) -> list[dict]:
    """Where a person is seen or heard across the library: per video, merged spans of each kind."""
    by_video: dict[int, dict] = {}
    for table, key in ((Face, "appears"), (SpeakerTurn, "speaks")):
        for video_id, start, end in session.execute(select(table.video_id, table.start, table.end).where(
                table.person_id == person_id).order_by(table.video_id, table.start).limit(50_000)):
            by_video.setdefault(video_id, {"appears": [], "speaks": []})[key].append((start, end))
    titles = dict(session.execute(select(Video.id, Video.title).where(Video.id.in_(by_video))).all())
    return [{"video_id": v, "title": titles.get(v), "appears": merged_spans(k["appears"]),
             "speaks": merged_spans(k["speaks"], gap=0.3)} for v, k in sorted(by_video.items())][:limit]


# -- edits ------------------------------------------------------------------------------------------

def merge(session, into: Person, others: list[Person]) -> None:
    """The others' faces, voices and turns become `into`'s; its name wins, else the first other name."""
    ids = [p.id for p in others if p.id != into.id]
    if not ids:
        return
    for table in (Face, Voice, SpeakerTurn):
        session.execute(update(table).where(table.person_id.in_(ids)).values(person_id=into.id))
    into.name = into.name or next((p.name for p in others if p.name), None)
    stacked = [_rows(p.face_exemplars, FACE_DIM) for p in [into, *others] if p.face_model == (into.face_model or p.face_model)]
    model = into.face_model or next((p.face_model for p in others if p.face_model), None)
    for p in others:
        session.delete(p)
    session.flush()
    rows = np.concatenate(stacked) if stacked else np.zeros((0, FACE_DIM), np.float32)
    into.face_exemplars, into.face_model = (_blob(rows[exemplars(rows, EXEMPLARS)]), model) if len(rows) else (None, None)
    _refresh_voice(session, into)


def split(session, person: Person, face_ids: list[int]) -> Person:
    """These faces of `person` are someone else: a new person, and both recognised by their own faces."""
    moved = list(session.scalars(select(Face).where(Face.person_id == person.id, Face.id.in_(face_ids))))
    if not moved:
        raise ValueError("none of those faces is this person's")
    new = Person(face_model=person.face_model)
    session.add(new)
    session.flush()
    for face in moved:
        face.person_id = new.id
    session.flush()
    for p in (person, new):
        rows = np.stack([_rows(d, FACE_DIM)[0] for d in session.scalars(
            select(Face.descriptor).where(Face.person_id == p.id))] or [np.zeros(FACE_DIM, np.float32)])
        has_faces = session.scalar(select(func.count(Face.id)).where(Face.person_id == p.id))
        p.face_exemplars = _blob(rows[exemplars(rows, EXEMPLARS)]) if has_faces else None
    return new


def forget(session, person: Person, thumbnails_dir: Path) -> None:
    """Remove a person and what recognises them: face descriptors and crops, voices; their turns stay as
    an unnamed speaker."""
    crops = list(session.scalars(select(Face.thumbnail).where(Face.person_id == person.id)))
    session.execute(delete(Face).where(Face.person_id == person.id))
    session.execute(delete(Voice).where(Voice.person_id == person.id))
    session.execute(update(SpeakerTurn).where(SpeakerTurn.person_id == person.id).values(person_id=None))
    session.delete(person)
    for name in crops:
        (thumbnails_dir / name).unlink(missing_ok=True)
