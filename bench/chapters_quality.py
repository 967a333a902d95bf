"""Chapter boundaries on generated multi-topic talks, against a fixed-interval baseline in the same run.

    .venv/bin/python bench/chapters_quality.py [--talks 6] [--keep DIR]

Each talk (bench/topic_talks.py) speaks four topics, three to seven sentences each, with the same pause
between every two sentences (so silence does not give a topic change away) and a picture cut every
12 s that has nothing to do with the topics (so shots do not either). Each is indexed as a user's
video would be (espeak-ng speech, Whisper base, the text model in use), and its chapters are read
back as the API serves them. A boundary counts when it lies within TOLERANCE of a true one (each true
boundary matched once). The baseline cuts every N seconds, N the talks' mean true chapter length:
a fixed interval given the right count on average.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import samples  # noqa: E402
from catalog import Catalog, Video, upgrade  # noqa: E402
from indexer.pipeline import Indexer  # noqa: E402
from samples.library import _lay_out  # noqa: E402
from search.chapters import chapters_of  # noqa: E402
from settings import Settings  # noqa: E402
from topic_talks import talks  # noqa: E402

TOLERANCE = 5.0
CUT_EVERY = 12.0
PHOTOS = ["coffee", "chelsea", "astronaut", "rocket", "clock", "coins", "camera", "brick", "grass", "moon"]


def make_talk(path: Path, talk: list[tuple[str, str]]):
    utterances = _lay_out([s for _, s in talk], "en-us", first=1.0, pause=1.0)
    total = utterances[-1].start + samples.speech_seconds(talk[-1][1]) + 1.5
    scenes, t = [], 0.0
    while t < total:
        scenes.append(samples.Scene(min(CUT_EVERY, total - t), photo=PHOTOS[len(scenes) % len(PHOTOS)]))
        t += CUT_EVERY
    video = samples.make_video(path, scenes, utterances, size=(320, 180), fps=5)
    truth = [u.start for k, u in enumerate(video.utterances) if k and talk[k][0] != talk[k - 1][0]]
    return video, truth


def f1(found: list[float], truth: list[float]) -> tuple[float, float, float]:
    unmatched = list(truth)
    hits = 0
    for b in sorted(found):
        near = [t for t in unmatched if abs(t - b) <= TOLERANCE]
        if near:
            unmatched.remove(min(near, key=lambda t: abs(t - b)))
            hits += 1
    precision = hits / len(found) if found else 0.0
    recall = hits / len(truth) if truth else 1.0
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--talks", type=int, default=6)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="reelscope-chapters-"))
    settings = Settings(data_dir=work / "data", database_url="", device="cpu")
    upgrade(settings.catalog_url)
    catalog = Catalog(settings.catalog_url)
    indexer = Indexer(settings, catalog)
    made = []
    for n, talk in enumerate(talks(args.talks)):
        video, truth = make_talk(work / "videos" / f"talk {n}.mp4", talk)
        outcome = indexer.index_path(video.path)
        assert outcome.status == "indexed", outcome.message
        made.append((outcome.video_id, video.duration, truth))
    interval = sum(d / (len(t) + 1) for _, d, t in made) / len(made)
    ours, baseline = [], []
    took = 0.0
    with catalog.session() as s:
        for video_id, duration, truth in made:
            t0 = time.perf_counter()
            chapters = chapters_of(s, s.get(Video, video_id))
            took += time.perf_counter() - t0
            found = [c.start for c in chapters[1:]]
            fixed = [interval * k for k in range(1, int(duration // interval) + 1) if interval * k < duration - 1]
            ours.append(f1(found, truth))
            baseline.append(f1(fixed, truth))
            print(f"video {video_id}: {duration:5.0f} s  true {[round(t) for t in truth]}  "
                  f"ours {[round(b) for b in found]}  titles {[c.title for c in chapters]}")
    print(f"\n{len(made)} talks, {sum(len(t) for _, _, t in made)} true boundaries, tolerance {TOLERANCE:.0f} s, "
          f"model {settings.text_model}")
    print(f"{'':<26}{'precision':>10}{'recall':>8}{'F1':>7}")
    for name, rows in ((f"fixed every {interval:.0f} s", baseline), ("ours (topics)", ours)):
        p, r, f = (sum(x[i] for x in rows) / len(rows) for i in range(3))
        print(f"{name:<26}{p:>10.2f}{r:>8.2f}{f:>7.2f}")
    print(f"chapters computed in {1000 * took / len(made):.1f} ms per video (from the catalog's rows)")


if __name__ == "__main__":
    main()
