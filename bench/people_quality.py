"""People: is every appearance of a person found and grouped under one person, across videos?

    .venv/bin/python bench/people_quality.py [--json FILE] [--no-speakers] [--grouping average|whispers]

Faces: the real photos of shared/real-media/faces (5 named people, 2-4 photos each, 2 group photos) are
cut into "videos", each a slideshow of 2-3 people, every person in at least two videos. A person's
appearance in a video uses one of their photos (the next one each time, so two videos mostly show
different photos) as 5 frames: the photo, mirrored, at half size, darkened (x0.45), and at 480 px long side as a JPEG of
quality 30 (a small, compressed video frame); a group photo adds
itself and its mirror image. The videos are indexed in order as the library would: find faces in every
frame, group the video's faces, match the groups to the people known so far (new people are added with
their exemplars). Scored over every detected face against the true names with pairwise precision/recall
(two faces of one person under one person id is a hit): the obama_and_biden photo also shows a child,
who counts as her own, unnamed person. Baseline in the same run: one person per video (all faces of a
video together, no two videos joined).

Speakers: bench/people_speakers.py (diarization error rate on real recordings; --no-speakers skips it).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from models.face_identity import load_face_identity  # noqa: E402
from people import faces as people_faces  # noqa: E402
import people_speakers  # noqa: E402  (bench/)

ROOT = Path(__file__).resolve().parent.parent
REAL_MEDIA = Path(os.environ.get("REELSCOPE_REAL_MEDIA", ROOT.parent / "shared" / "real-media"))
FACE_F1_GOAL = 0.9

# who is who in the group photos, left to right among the two largest faces (read off the photos)
GROUP_TRUTH = {"obama_and_biden.jpg": ["joe_biden", "barack_obama"], "kit_with_rose.jpg": ["rose_leslie", "kit_harington"]}
VIDEOS = [
    (["barack_obama", "joe_biden"], "obama_and_biden.jpg"),
    (["kit_harington", "rose_leslie"], "kit_with_rose.jpg"),
    (["alex_lacamoire", "barack_obama"], None),
    (["joe_biden", "kit_harington", "alex_lacamoire"], None),
    (["rose_leslie", "barack_obama"], None),
    (["alex_lacamoire", "joe_biden", "rose_leslie"], None),
]
VARIANTS = {
    "photo": lambda im: im,
    "mirrored": ImageOps.mirror,
    "half size": lambda im: im.resize((im.width // 2, im.height // 2), Image.BILINEAR),
    "darkened": lambda im: ImageEnhance.Brightness(im).enhance(0.45),
    "480 px jpeg q30": lambda im: _jpeg(im.resize((round(im.width * 480 / max(im.size)),
                                                   round(im.height * 480 / max(im.size))), Image.BILINEAR), 30),
}
SWEEP = [0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]


def _jpeg(im: Image.Image, quality: int) -> Image.Image:
    """What a small, heavily compressed video frame looks like."""
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


@dataclass
class Frame:
    video: int
    name: str
    image: Image.Image
    names: list[str] | None  # one person's photo: [person]; group photo: left-to-right names of the two largest
    mirrored: bool = False


def build_videos(folder: Path) -> list[list[Frame]]:
    photos = {p.name: sorted(f for f in p.iterdir() if f.suffix.lower() in (".jpg", ".jpeg", ".png"))
              for p in sorted(folder.iterdir()) if p.is_dir() and p.name != "_group"}
    used = {name: 0 for name in photos}
    videos = []
    for v, (people, group) in enumerate(VIDEOS):
        shown = []
        for person in people:
            path = photos[person][used[person] % len(photos[person])]
            used[person] += 1
            shown.append((person, path, Image.open(path).convert("RGB")))
        frames = []
        for variant, change in VARIANTS.items():  # a slideshow: each variant of every person, in turn
            for person, path, im in shown:
                frames.append(Frame(v, f"{path.name} ({variant})", change(im), [person], variant == "mirrored"))
        if group:
            im = Image.open(folder / "_group" / group).convert("RGB")
            frames.append(Frame(v, group, im, GROUP_TRUTH[group]))
            frames.append(Frame(v, f"{group} (mirrored)", ImageOps.mirror(im), GROUP_TRUTH[group], True))
        videos.append(frames)
    return videos


def truth_of(frame: Frame, faces) -> list[str]:
    """The true name of each face found in a frame, largest first as find() gives them."""
    if len(frame.names) == 1:
        # a single-person photo: the largest face is theirs; anything else would be a false detection
        return [frame.names[0]] + [f"false@{frame.name}#{k}" for k in range(1, len(faces))]
    named = sorted(range(min(2, len(faces))), key=lambda k: faces[k].box[0])
    names = list(reversed(frame.names)) if frame.mirrored else frame.names
    out = [f"unnamed@{frame.name.split(' ')[0]}#{k}" for k in range(len(faces))]
    for k, name in zip(named, names):
        out[k] = name
    return out


def pairwise(pred: list, truth: list) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for i, j in combinations(range(len(pred)), 2):
        same_pred, same_true = pred[i] == pred[j], truth[i] == truth[j]
        tp += same_pred and same_true
        fp += same_pred and not same_true
        fn += same_true and not same_pred
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def whispers_labels(x: np.ndarray, cut: float) -> list[int]:
    import dlib

    labels = dlib.chinese_whispers_clustering([dlib.vector(v.astype(float).tolist()) for v in x], cut)
    return people_faces._first_appearance(labels)


def assign_library(per_video: list[np.ndarray], grouping: str, cut: float = people_faces.GROUP_DISTANCE,
                   match: float = people_faces.MATCH_DISTANCE) -> list[int]:
    """Person id per face over all videos, videos indexed in order, people stored as exemplars."""
    known: dict[int, np.ndarray] = {}
    out = []
    for x in per_video:
        if not len(x):
            continue
        labels = people_faces.group_faces(x, cut) if grouping == "average" else whispers_labels(x, cut)
        groups = [x[[i for i, g in enumerate(labels) if g == k]] for k in range(max(labels) + 1)]
        matched = people_faces.match_people(groups, known, match)
        ids = []
        for g, pid in zip(groups, matched):
            if pid is None:
                pid = len(known) + 1
                known[pid] = np.zeros((0, x.shape[1]), dtype=np.float32)
            stored = np.concatenate([known[pid], g])
            known[pid] = stored[people_faces.exemplars(stored)]
            ids.append(pid)
        out += [ids[g] for g in labels]
    return out


def match_margin(per_video: list[np.ndarray], truth: list[str]) -> tuple[float, float]:
    """What MATCH_DISTANCE has to separate: each true person's faces in a video against every person's faces in
    the videos before it (as exemplars), largest distance to themselves and smallest to someone else."""
    same, other, seen, start = [], [], {}, 0
    for x in per_video:
        names = truth[start:start + len(x)]
        start += len(x)
        here = {n: x[[i for i, m in enumerate(names) if m == n]] for n in dict.fromkeys(names)}
        for n, g in here.items():
            for m, stored in seen.items():
                d = people_faces.person_distance(g, stored[people_faces.exemplars(stored)])
                (same if m == n else other).append(d)
        for n, g in here.items():
            seen[n] = np.concatenate([seen[n], g]) if n in seen else g
    return max(same, default=float("nan")), min(other, default=float("nan"))


def faces_section(args) -> dict:
    folder = REAL_MEDIA / "faces"
    if not folder.is_dir():
        sys.exit(f"no face photos at {folder}; set REELSCOPE_REAL_MEDIA")
    model = load_face_identity()
    videos = build_videos(folder)
    per_video, truth, detect_s, find_s, frames, missed = [], [], 0.0, 0.0, 0, []
    for frames_of_video in videos:
        vecs = []
        for frame in frames_of_video:
            rgb = np.asarray(frame.image)
            t0 = time.perf_counter()
            model.detect(rgb)
            t1 = time.perf_counter()
            found = model.find(rgb)
            find_s += time.perf_counter() - t1
            detect_s += t1 - t0
            frames += 1
            if len(found) < len(frame.names):
                missed.append(f"{frame.name}: {len(found)} of {len(frame.names)}")
            truth += truth_of(frame, found)
            vecs += [f.descriptor for f in found]
        per_video.append(np.array(vecs, dtype=np.float32).reshape(-1, 128))
    n_faces = sum(len(x) for x in per_video)
    rows = {}
    rows["one person per video (baseline)"] = pairwise([v for v, x in enumerate(per_video) for _ in x], truth)
    rows["whispers + match"] = pairwise(assign_library(per_video, "whispers"), truth)
    rows["average linkage + match (ours)"] = pairwise(assign_library(per_video, "average"), truth)
    print(f"faces: {len(videos)} videos, {frames} frames (real photos as frames, plus mirrored, half-size, "
          f"darkened and small-JPEG copies), {n_faces} faces found, {len(set(truth))} true people; model {model.version}")
    print(f"cuts: group {people_faces.GROUP_DISTANCE}, match {people_faces.MATCH_DISTANCE}, "
          f"exemplars {people_faces.EXEMPLARS}")
    print("frames with fewer faces than people shown:", "; ".join(missed) if missed else "none")
    print(f"\n{'faces, pairwise':<34}{'precision':>10}{'recall':>8}{'F1':>7}")
    for name, (p, r, f) in rows.items():
        print(f"{name:<34}{p:>10.3f}{r:>8.3f}{f:>7.3f}")
    worst_same, best_other = match_margin(per_video, truth)
    print(f"\nacross videos, a person's faces to the same person before: at most {worst_same:.3f}; "
          f"to someone else: at least {best_other:.3f} (match cut {people_faces.MATCH_DISTANCE})")
    sweep = {"group": [], "match": []}
    for c in SWEEP:  # each cut moved alone, the other at its value
        sweep["group"].append(pairwise(assign_library(per_video, "average", c), truth)[2])
        sweep["match"].append(pairwise(assign_library(per_video, "average", match=c), truth)[2])
    print(f"\nF1 against one cut, the other as set: {'cut':<7}" + "".join(f"{c:>6.2f}" for c in SWEEP))
    for name in ("group", "match"):
        print(f"{'':<37}{name:<7}" + "".join(f"{f:>6.3f}" for f in sweep[name]))
    print(f"\ndetection {detect_s / frames:.3f} s per frame; find (detection + descriptors) {find_s / frames:.3f} s "
          f"per frame, {find_s / max(n_faces, 1):.3f} s per face")
    ours = rows["average linkage + match (ours)"]
    return {"videos": len(videos), "frames": frames, "faces": n_faces, "people": len(set(truth)),
            "missed_frames": missed, "model": model.version,
            "sweep": {"cuts": SWEEP, **sweep}, "match_same_max": worst_same, "match_other_min": best_other,
            "rows": {k: dict(zip(("precision", "recall", "f1"), v)) for k, v in rows.items()},
            "f1": ours[2], "goal": FACE_F1_GOAL, "goal_met": ours[2] >= FACE_F1_GOAL,
            "detect_s_per_frame": detect_s / frames, "find_s_per_frame": find_s / frames}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--no-speakers", action="store_true", help="skip the speaker section")
    args = parser.parse_args()
    results = {"faces": faces_section(args)}
    if not args.no_speakers:
        print()
        results["speakers"] = people_speakers.run(args)
        people_speakers.print_table(results["speakers"])
    faces, speakers = results["faces"], results.get("speakers", {}).get("summary")
    print(f"\nsummary: faces pairwise F1 {faces['f1']:.3f} (goal >= {FACE_F1_GOAL}: "
          f"{'met' if faces['goal_met'] else 'NOT met'})"
          + (f"; diarization error rate {speakers['ours']:.3f} against {speakers['fixed_2s']:.3f} (fixed 2 s windows) "
             f"and {speakers['one_spk']:.3f} (one speaker) (goal <= {speakers['goal_der']}: "
             f"{'met' if speakers['goal_met'] else 'NOT met'})" if speakers else ""))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
