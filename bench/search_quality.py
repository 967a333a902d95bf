"""Search quality on really indexed media: MRR@10 and recall@5 per channel and for hybrid.

    .venv/bin/python bench/search_quality.py [--keep DIR]

Generated videos speak, three sentences each: the 30 talk sentences of samples/, 21
near misses (same topic, other specifics) and 36 who-did-what sentences (each action said of
several people), via espeak-ng, transcribed by Whisper base as a user's videos would be. Queries are of two kinds, written by
hand: paraphrases that share few words with what is said, the words a person remembers verbatim,
and questions about who did what, where only the name singles out the moment. A result counts when its video is right and its time span
overlaps the sentence's.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import samples  # noqa: E402
from indexer.pipeline import Indexer  # noqa: E402
from catalog import Catalog, upgrade  # noqa: E402
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
    # names and specifics that only the near misses (30 + index in DISTRACTORS) contain
    30: "Pepper", 31: "rugby", 33: "Roman coins", 35: "oil level", 36: "guitar", 39: "ginger", 42: "tide times",
    46: "mural", 47: "lamp plug",
}
# Near misses for the sentences above: same topic, other specifics, so that neither meaning alone
# nor a shared word alone is enough.
DISTRACTORS = [
    "Our neighbours adopted a rescue cat called Pepper last autumn.",
    "The rugby match ended in a draw after extra time.",
    "The bus was cancelled because the driver was ill.",
    "The museum has a new exhibition about Roman coins.",
    "Paying the phone bill on time avoids a late fee.",
    "Check the oil level in the engine before a long drive.",
    "He learned to play the guitar at sixty, and now plays in a blues band.",
    "Fresh mint keeps well wrapped in a damp paper towel.",
    "Tea tastes best when the water has only just boiled.",
    "Ginger tea with lemon helps when you have a cold.",
    "The festival in the square was postponed because of the heat.",
    "Cycling to work every morning wakes you up.",
    "Hikers on the coast should always check the tide times.",
    "The bakery on the corner sells bread and pastries every morning.",
    "Water the roses in the morning so the leaves dry before night.",
    "A short nap after lunch improves concentration.",
    "The children painted a mural on the garden wall.",
    "She fixed the broken lamp with a new plug and some tape.",
    "The library in the town hall is closed on Mondays.",
    "The recipe needs three apples, some butter and a little nutmeg.",
    "Saving a little every week adds up by the end of the year.",
]
# Who did what: every action is said of several people, so only the name tells the moments apart,
# and the question is phrased differently from what was said ("fix" for "repaired").
PEOPLE = ["Oliver", "Amelia", "Harry", "Sophie", "Jack", "Emily", "George", "Lucy", "Thomas", "Grace", "James", "Chloe"]
ACTIONS = [("repaired the kettle", "fix the kettle"), ("painted the garden fence", "paint the fence"),
           ("baked a lemon cake", "make a lemon cake"), ("lost the car keys", "lose the car keys"),
           ("booked the train tickets", "reserve the train tickets"), ("planted an apple tree", "plant an apple tree")]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def people_sentences() -> list[str]:
    return [f"On {DAYS[(i + k) % 7]}, {name} {ACTIONS[(i + 2 * k) % 6][0]}."
            for i, name in enumerate(PEOPLE) for k in range(3)]


def people_queries(first: int) -> dict[int, str]:
    """Sentence number -> question about its first action, asked by name."""
    return {first + 3 * i: f"when did {name} {ACTIONS[i % 6][1]}" for i, name in enumerate(PEOPLE)}


MODES = ("transcript", "keyword", "hybrid")


def build(work: Path) -> tuple[Settings, dict[int, tuple[int, float, float]]]:
    settings = Settings(data_dir=work / "data", database_url="", device="cpu")
    upgrade(settings.catalog_url)
    indexer = Indexer(settings, Catalog(settings.catalog_url))
    truth: dict[int, tuple[int, float, float]] = {}
    photos = ["coffee", "chelsea", "astronaut", "rocket", "horse", "clock", "coins", "camera", "brick", "grass"]
    sentences = list(samples.TALK_SENTENCES) + DISTRACTORS + people_sentences()
    for v in range(len(sentences) // 3):
        utterances, t = [], 0.8
        for i in range(3):
            utterances.append(samples.Utterance(round(t, 2), sentences[3 * v + i]))
            t += len(samples.speak(sentences[3 * v + i])) / samples.SPEECH_RATE + 1.2
        video = samples.make_video(work / "videos" / f"talk {v}.mp4",
                                   [samples.Scene(t / 2 + 0.5, photo=photos[v % len(photos)]),
                                    samples.Scene(t / 2 + 0.5, colour=((12 * v) % 256, 90, 160))],
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
    people = people_queries(len(samples.TALK_SENTENCES) + len(DISTRACTORS))
    groups = {"paraphrase": SEMANTIC, "keyword": KEYWORD, "who-did-what": people}
    print(f"{len(truth)} spoken sentences in {len(truth) // 3} videos; queries: "
          + ", ".join(f"{len(q)} {name}" for name, q in groups.items()))
    print(f"{'mode':<11}" + "".join(f"{name + ' MRR@10':>24}{'R@5':>6}" for name in [*groups, "all"]))
    everything = [(i, q) for queries in groups.values() for i, q in queries.items()]
    for mode in MODES:
        row = [evaluate(engine, queries, truth, mode) for queries in groups.values()]
        row.append(evaluate(engine, dict(enumerate(q for _, q in everything)),
                            {n: truth[i] for n, (i, _) in enumerate(everything)}, mode))
        print(f"{mode:<11}" + "".join(f"{mrr:>24.3f}{recall:>6.2f}" for mrr, recall in row))
    print("visual: off (no CLIP weights on this machine)")


if __name__ == "__main__":
    main()
