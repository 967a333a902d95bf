"""Search quality on really indexed media: MRR@10 and recall@5 per channel and for hybrid.

    .venv/bin/python bench/search_quality.py [--keep DIR]

Ten generated videos speak the 30 talk sentences of indexer/samples.py, three each (espeak-ng,
transcribed by Whisper base as a user's videos would be). Queries are of two kinds, written by
hand: paraphrases that share few words with what is said ("semantic"), and the words a person
remembers verbatim ("keyword"). A result counts when its video is right and its time span
overlaps the sentence's.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer import samples  # noqa: E402
from indexer.pipeline import Indexer  # noqa: E402
from search.catalog import Catalog, upgrade  # noqa: E402
from search.engine import SearchEngine, SearchRequest  # noqa: E402
from settings import Settings  # noqa: E402

# sentence index -> paraphrase
SEMANTIC = {
    0: "a welcome to the audience at the start", 1: "unusually hot days lately",
    2: "when to give garden vegetables a drink", 3: "rest helps you remember better than cramming",
    4: "the rail journey ran late", 5: "weekend opening hours for borrowing books",
    6: "inflate your car wheels before a trip", 7: "taking up a string instrument later in life",
    8: "how to store herbs so they last", 9: "kids made a den in the garden from scrap wood",
    10: "ideal temperature for brewing", 11: "seeing marine animals from the cliff walk",
    12: "clear your debt to save on fees", 13: "cycling route makes getting pupils to class less dangerous",
    14: "home remedy for a cough", 15: "a display of treasures from the pharaohs",
    16: "clean house, calm head", 17: "turn everything off before going home from work",
    18: "a shootout after nobody scored", 19: "what to pack for a hill walk",
    20: "they gave a home to a pet from the shelter", 21: "automatic monthly deposits into a savings account",
    22: "ingredients for a sweet spiced bake", 23: "fewer cars downtown when schools are closed",
    24: "fixing an antique wireless set", 25: "local produce stall with dairy and fruit",
    26: "avoid aching legs after a jog", 27: "outdoor music event called off due to the storm",
    28: "picking up some phrases before going abroad", 29: "an evening stroll to relax the mind",
}
KEYWORD = {
    2: "tomato plants", 4: '"signal failure"', 6: "tyre pressure", 7: "violin orchestra", 9: "tarpaulin",
    11: "seals", 12: "credit card interest", 15: "Egyptian jewellery", 18: "penalties", 20: "Biscuit",
    22: "cinnamon", 24: "soldering iron", 25: "farmers market", 27: "thunderstorm", 14: "honey lemon",
}
MODES = ("transcript", "keyword", "hybrid")


def build(work: Path) -> tuple[Settings, dict[int, tuple[int, float, float]]]:
    settings = Settings(data_dir=work / "data", database_url="", device="cpu")
    upgrade(settings.catalog_url)
    indexer = Indexer(settings, Catalog(settings.catalog_url))
    truth: dict[int, tuple[int, float, float]] = {}
    photos = ["coffee", "chelsea", "astronaut", "rocket", "horse", "clock", "coins", "camera", "brick", "grass"]
    for v in range(10):
        utterances, t = [], 0.8
        for i in range(3):
            utterances.append(samples.Utterance(round(t, 2), samples.TALK_SENTENCES[3 * v + i]))
            t += len(samples.speak(samples.TALK_SENTENCES[3 * v + i])) / samples.SPEECH_RATE + 1.2
        video = samples.make_video(work / "videos" / f"talk {v}.mp4",
                                   [samples.Scene(t / 2 + 0.5, photo=photos[v]), samples.Scene(t / 2 + 0.5, colour=(20 * v, 90, 160))],
                                   utterances, size=(320, 180))
        outcome = indexer.index_path(video.path)
        for i, u in enumerate(video.utterances):
            truth[3 * v + i] = (outcome.video_id, u.start, u.end)
    return settings, truth


def evaluate(engine: SearchEngine, queries: dict[int, str], truth, mode: str) -> tuple[float, float]:
    rr, recall = 0.0, 0.0
    for sentence, text in queries.items():
        video_id, start, end = truth[sentence]
        moments = engine.search(SearchRequest(text=text, k=10, mode=mode)).moments
        for rank, m in enumerate(moments, 1):
            if m.video_id == video_id and m.start < end and m.end > start:
                rr += 1 / rank
                recall += rank <= 5
                break
    return rr / len(queries), recall / len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="reelscope-quality-"))
    settings, truth = build(work)
    engine = SearchEngine(settings, Catalog(settings.catalog_url))
    both = {**{("s", k): v for k, v in SEMANTIC.items()}, **{("k", k): v for k, v in KEYWORD.items()}}
    print(f"{len(truth)} sentences in 10 videos; {len(SEMANTIC)} paraphrase + {len(KEYWORD)} keyword queries")
    print(f"{'mode':<11} {'paraphrase MRR@10':>18} {'R@5':>6} {'keyword MRR@10':>15} {'R@5':>6} {'all MRR@10':>11} {'R@5':>6}")
    for mode in MODES:
        s = evaluate(engine, SEMANTIC, truth, mode)
        k = evaluate(engine, KEYWORD, truth, mode)
        a = evaluate(engine, {i: q for i, (_, q) in enumerate(both.items())},
                     {i: truth[key[1]] for i, key in enumerate(both)}, mode)
        print(f"{mode:<11} {s[0]:>18.3f} {s[1]:>6.2f} {k[0]:>15.3f} {k[1]:>6.2f} {a[0]:>11.3f} {a[1]:>6.2f}")
    print("visual: off (no CLIP weights on this machine)")


if __name__ == "__main__":
    main()
