"""Blending the signals into one ranking, diversifying it, and saying why each item is there.

Weights follow the user's maturity m = n / (n + MATURITY_HALF), n the number of videos they
engaged with positively: with no history the feed is popularity and freshness; with a little it
leans on content (a profile from two clicks already says something, a collaborative factor does
not); as history grows, collaborative filtering takes a larger share. Each signal is min-max
normalised over the candidates first, so a weight means the same whatever the signal's scale.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MATURITY_HALF = 8.0
MMR_LAMBDA = 0.75     # relevance vs novelty in maximal marginal relevance
MMR_POOL = 100        # diversify among this many best candidates
REASON_SHARE = 0.5    # a signal is named as a reason when it gave at least this share of the top one's part

SIGNALS = ("content", "collaborative", "popular", "fresh")
MODES = ("blend",) + SIGNALS


@dataclass
class Weights:
    content: float = 0.0
    collaborative: float = 0.0
    popular: float = 0.0
    fresh: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in SIGNALS}


def maturity(positive_items: int) -> float:
    return positive_items / (positive_items + MATURITY_HALF)


def weights_for(positive_items: int, has_content: bool, has_collaborative: bool, mode: str = "blend") -> Weights:
    if mode != "blend":
        return Weights(**{mode: 1.0})
    m = maturity(positive_items)
    w = Weights(popular=0.1 + 0.25 * (1 - m), fresh=0.05 + 0.1 * (1 - m))
    # collaborative at most ~0.4: on the simulated catalog (bench/recommend_quality.py) 0.9 * m gave
    # NDCG@10 0.184 and 0.4 * m 0.195, with more new videos found (cold recall 0.27 -> 0.31)
    if has_content:
        w.content = 1.0 - 0.15 * m if has_collaborative else 1.0
    if has_collaborative:
        w.collaborative = 0.4 * m
    if not has_content and not has_collaborative:
        w.popular, w.fresh = 0.75, 0.25
    return w


def normalise(values: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1]; NaN (signal silent on that candidate) becomes 0; a constant signal becomes 0."""
    finite = np.isfinite(values)
    out = np.zeros(len(values), np.float64)
    if not finite.any():
        return out
    lo, hi = float(values[finite].min()), float(values[finite].max())
    if hi - lo > 1e-12:
        out[finite] = (values[finite] - lo) / (hi - lo)
    return out


def combine(signals: dict[str, np.ndarray], weights: Weights) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The blended score per candidate, and each signal's weighted part of it (for the reasons).

    A signal with no opinion on a candidate (NaN: no collaborative factor for a video nobody has
    watched yet, no vector for a silent video) does not vote on it: the candidate's score is
    rescaled by the weights that did vote, so a new video is not sunk for being new.
    """
    n = len(next(iter(signals.values()))) if signals else 0
    parts = {}
    total = np.zeros(n)
    voted = np.zeros(n)
    for name in SIGNALS:
        w = getattr(weights, name)
        if w <= 0 or name not in signals:
            continue
        parts[name] = w * normalise(signals[name])
        total += parts[name]
        voted += w * np.isfinite(signals[name])
    all_weights = sum(getattr(weights, name) for name in parts)
    scale = np.where(voted > 0, all_weights / np.maximum(voted, 1e-12), 0.0)
    return total * scale, {name: p * scale for name, p in parts.items()}


def mmr(relevance: np.ndarray, vectors: np.ndarray, k: int, lam: float = MMR_LAMBDA) -> list[int]:
    """Greedy maximal marginal relevance: indices into `relevance`, best first.

    Each pick maximises lam * relevance - (1 - lam) * (highest cosine to anything already picked),
    so near-duplicates of a picked item wait until something different has had its turn.
    """
    pool = np.argsort(-relevance, kind="stable")[:max(MMR_POOL, k)]
    if len(pool) == 0:
        return []
    rel = normalise(relevance[pool])
    vecs = vectors[pool]
    closest = np.zeros(len(pool))
    taken = np.zeros(len(pool), bool)
    picked = []
    for _ in range(min(k, len(pool))):
        gain = np.where(taken, -np.inf, lam * rel - (1 - lam) * closest)
        best = int(np.argmax(gain))
        picked.append(int(pool[best]))
        taken[best] = True
        closest = np.maximum(closest, np.clip(vecs @ vecs[best], 0, None))
    return picked


def dominant_signals(parts: dict[str, np.ndarray], i: int) -> list[str]:
    """The signals that put candidate i where it is, biggest first."""
    shares = sorted(((float(p[i]), name) for name, p in parts.items() if p[i] > 0), reverse=True)
    if not shares:
        return []
    return [name for share, name in shares if share >= REASON_SHARE * shares[0][0]]
