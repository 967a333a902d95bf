"""Query sets for answers rather than lists (issue 16), used by bench/search_quality.py.

OFF_TOPIC: things no video of the search-quality library says (its talk sentences, near misses and
who-did-what sentences were read while writing these, so none is answered there; some share a word
with a sentence, as real queries do). A search should say "no good match".

Temporal: videos from bench/topic_talks.py where topic A's sentence is followed by topic B's, and
videos where both are said but B first or far apart; "A then B" must find the first kind.
"""
from __future__ import annotations

OFF_TOPIC = [
    "how to replace a laptop screen",
    "the price of bitcoin today",
    "volcano eruption in iceland",
    "learning to ski for beginners",
    "how to tie a bow tie",
    "the best sushi restaurant in town",
    "symptoms of chickenpox in children",
    "installing solar panels on the roof",
    "a documentary about penguins in antarctica",
    "how to file a tax return",
    "the rules of chess castling",
    "wedding dress shopping",
    "repairing a leaking roof gutter",
    "the history of the printing press",
    "playing poker with friends",
    "choosing a new mattress",
    "how to train for a triathlon",
    "tips for a job interview",
    "scuba diving on a coral reef",
    "the plot of a detective novel",
    "knitting a wool jumper",
    "how to brew beer at home",
    "a hot air balloon ride",
    "cleaning a swimming pool filter",
    "the lottery jackpot winner",
    "building a computer from parts",
    "sharpening kitchen knives",
    "teaching a parrot to talk",
    "renewing a passport",
    "the eclipse of the sun",
    "an earthquake warning system",
    "yoga poses for back pain",
    "making sushi rolls",
    "a vintage car rally",
    "how to change a nappy",
    "opera tickets for saturday",
    "the stock market crash",
    "getting rid of ants in the kitchen",
    "an ice hockey final",
    "learning japanese calligraphy",
]

# (query for topic A, query for topic B): paraphrases, not the words said
TEMPORAL_QUERIES = {
    "bread": "kneading dough and letting it rise",
    "garden": "looking after vegetables outdoors",
    "car": "checks on a vehicle before a trip",
    "money": "keeping spending under control",
    "space": "a rocket and astronauts",
    "cat": "our pet tabby",
    "football": "last night's match",
    "hiking": "what to take walking in the hills",
}


def off_topic_share(engine, request_type, queries=OFF_TOPIC) -> tuple[float, list[str]]:
    """The share of off-topic queries answered "no good match", and those that were not."""
    missed = [q for q in queries if not engine.search(request_type(text=q, k=10)).no_good_match]
    return 1.0 - len(missed) / len(queries), missed


def false_alarms(engine, request_type, queries) -> tuple[float, list[str]]:
    """The share of queries that have an answer but were told "no good match"."""
    wrong = [q for q in queries if engine.search(request_type(text=q, k=10)).no_good_match]
    return len(wrong) / len(queries), wrong


def temporal_cases(made) -> list[tuple[str, str, set[int]]]:
    """(A query, B query, the videos where topic B directly follows topic A) for every such pair in
    the talks `made` ([(video_id, [topic in order])]), with A and B also said apart elsewhere
    (B first, or other topics between them) in at least one other talk."""
    follows: dict[tuple[str, str], set[int]] = {}
    both: dict[tuple[str, str], set[int]] = {}
    for video_id, order in made:
        for i, a in enumerate(order):
            for j, b in enumerate(order):
                if i != j:
                    both.setdefault((a, b), set()).add(video_id)
            if i + 1 < len(order):
                follows.setdefault((a, order[i + 1]), set()).add(video_id)
    cases = []
    for (a, b), right in sorted(follows.items()):
        apart = (both.get((a, b), set()) | both.get((b, a), set())) - right
        if apart:
            cases.append((TEMPORAL_QUERIES[a], TEMPORAL_QUERIES[b], right))
    return cases


def temporal_mrr(engine, request_type, cases, within: float = 60.0) -> float:
    rr = 0.0
    for a, b, right in cases:
        moments = engine.search(request_type(text=a, then=b, within=within, k=10)).moments
        rank = next((n for n, m in enumerate(moments, 1) if m.video_id in right), None)
        rr += 1 / rank if rank else 0.0
    return rr / len(cases) if cases else 0.0
