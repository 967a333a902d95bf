"""The "For you" feed and "more like this": candidates from every signal, blended, diversified, explained.

One Recommender per process. Per request it reads only the user's own recent events (one indexed
query); everything else is cached: the video table (refreshed when the catalog changes), the
popularity count (refreshed in the background) and the newest ALS model file.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import select
from threadpoolctl import ThreadpoolController

from catalog import Catalog, Event, User, utcnow
from . import blend, popularity
from . import profile as profiles
from .collaborative import ModelStore
from .engagement import Engagement, aggregate
from .popularity import Popularity
from .video_vectors import VideoTable, VideoVectors

CANDIDATES = 200            # from each signal
USER_EVENTS = 2000          # the newest events of a user that shape their feed
DISLIKE_TOO_CLOSE = 0.85    # a candidate this close (cosine) to something disliked is not offered
DISLIKE_PENALTY = 0.5       # below that, closeness to a dislike lowers the score this much per unit
REASON_MIN_SIMILARITY = 0.3  # "because you liked X" only when X is at least this close


_BLAS = ThreadpoolController()  # found once: a bare threadpool_limits() re-scans the loaded libraries each call


def model_folder(data_dir: Path) -> Path:
    """Where trained models live (derived data: `reelscope recommend train` remakes it)."""
    return Path(data_dir) / "recommend"


class UnknownUser(LookupError):
    pass


class UnknownVideo(LookupError):
    pass


@dataclass
class Item:
    video_id: int
    title: str
    score: float
    reasons: list[str]
    start: float = 0.0      # where to start watching: where the user left off, else the beginning
    signals: dict[str, float] = field(default_factory=dict)


@dataclass
class Feed:
    user_id: int
    items: list[Item]
    weights: dict[str, float]
    model_version: int | None
    history_items: int


class Recommender:
    def __init__(self, catalog: Catalog, model_folder: Path, popularity_max_age: float = 60.0,
                 vectors_folder: Path | None = None):
        """vectors_folder: where the video table's cache file is kept (DATA_DIR/vectors, beside the
        FAISS index files); None builds it from SQL in every process."""
        self.catalog = catalog
        self.videos = VideoVectors(catalog, vectors_folder)
        self.popularity = Popularity(catalog, max_age=popularity_max_age)
        self.models = ModelStore(model_folder)

    def warm(self) -> None:
        self.videos.table()
        self.popularity.scores()
        self.models.current()

    # -- the feed -------------------------------------------------------------------------------------

    def user_engagement(self, user_id: int, table: VideoTable) -> dict[int, Engagement]:
        with self.catalog.session() as s:
            if s.scalar(select(User.id).where(User.id == user_id)) is None:
                raise UnknownUser(f"no user with id {user_id}")
            rows = s.execute(select(Event.video_id, Event.type, Event.position, Event.watch_seconds, Event.at)
                             .where(Event.user_id == user_id, Event.video_id.is_not(None))
                             .order_by(Event.at.desc()).limit(USER_EVENTS)).all()
        durations = {int(v): table.duration_of(int(v)) for v, *_ in rows}
        return aggregate(rows, {v: d for v, d in durations.items() if d})

    def recommend(self, user_id: int, k: int = 10, mode: str = "blend", now: dt.datetime | None = None,
                  popular: dict[int, float] | None = None) -> Feed:
        """The user's feed. `now` and `popular` let an offline evaluation replay the past."""
        # Each product here is small; BLAS threads fighting over two busy cores made them the tail
        # (p99 139 ms at 10k x 10k under load, most of it inside matrix-vector products).
        with _BLAS.limit(limits=1, user_api="blas"):
            return self._recommend(user_id, k, mode, now, popular)

    def _recommend(self, user_id, k, mode, now, popular) -> Feed:
        if mode not in blend.MODES:
            raise ValueError(f"mode must be one of {', '.join(blend.MODES)}")
        now = now or utcnow()
        table = self.videos.table()
        engaged = self.user_engagement(user_id, table)
        profile = profiles.build(engaged, table, now)
        model = self.models.current()
        user_factor = model.fold_in({v: e.weight * profiles.recency(e.last_at, now) for v, e in engaged.items()}) \
            if model is not None else None
        popular = self.popularity.scores() if popular is None else popular
        weights = blend.weights_for(profile.maturity_items, profile.vector is not None, user_factor is not None,
                                    mode)

        rows = self._candidates(table, weights, profile, model, user_factor, popular, now)
        rows = rows[~np.isin(rows, table.rows([v for v, e in engaged.items() if not e.worth_offering]))]
        vectors = table.vectors[rows]
        near_dislike = None
        if len(profile.negative_rows) and len(rows):
            near_dislike = np.clip(vectors @ table.vectors[profile.negative_rows].T, 0, None).max(axis=1)
            keep = near_dislike < DISLIKE_TOO_CLOSE
            rows, vectors, near_dislike = rows[keep], vectors[keep], near_dislike[keep]
        if len(rows) == 0:
            return Feed(user_id, [], weights.as_dict(), model.version if model else None, len(engaged))
        signals = self._signals(table, rows, vectors, weights, profile, model, user_factor, popular, now)
        score, parts = blend.combine(signals, weights)
        if near_dislike is not None and weights.content + weights.collaborative > 0:
            score = score - DISLIKE_PENALTY * near_dislike
        picked = blend.mmr(score, vectors, k)
        items = [self._item(table, int(rows[i]), float(score[i]), blend.dominant_signals(parts, i), engaged, profile,
                            model, {name: round(float(p[i]), 4) for name, p in parts.items()})
                 for i in picked]
        return Feed(user_id, items, weights.as_dict(), model.version if model else None, len(engaged))

    def _candidates(self, table, weights, profile, model, user_factor, popular, now) -> np.ndarray:
        found = []
        if weights.content > 0 and profile.vector is not None:
            found.append(table.nearest(profile.vector, CANDIDATES)[0])
        if weights.collaborative > 0 and user_factor is not None:
            scores = model.item_factors @ user_factor
            top = np.argpartition(-scores, min(CANDIDATES, len(scores) - 1))[:CANDIDATES]
            found.append(table.rows(model.item_ids[top].tolist()))
        if weights.popular > 0 and popular:
            top = self.popularity.top(CANDIDATES) if popular is self.popularity.scores() else _top(popular, CANDIDATES)
            found.append(table.rows(top))
        if weights.fresh > 0 and len(table):
            fresh_rows = table.newest_first
            found.append(fresh_rows[table.added[fresh_rows] <= now.timestamp()][:CANDIDATES])
        if not found:
            return np.zeros(0, np.int64)
        return np.unique(np.concatenate(found).astype(np.int64))

    def _model_rows(self, table: VideoTable, model) -> np.ndarray:
        """For each table row, the model's row for that video (-1: not in the model), cached per pair."""
        key = (id(table), model.version)
        cached = getattr(self, "_model_rows_cache", None)
        if cached is None or cached[0] != key:
            rows = np.fromiter((model.row_of.get(v, -1) for v in table.ids.tolist()), np.int64, len(table))
            cached = self._model_rows_cache = (key, rows, table)  # the table is held so its id stays unique
        return cached[1]

    def _signals(self, table, rows, vectors, weights, profile, model, user_factor, popular, now) -> dict:
        signals = {}
        if weights.content > 0 and profile.vector is not None:
            content = (vectors @ profile.vector).astype(np.float64)
            content[~table.has_vector[rows]] = np.nan
            signals["content"] = content
        if weights.collaborative > 0 and user_factor is not None:
            model_rows = self._model_rows(table, model)[rows]
            known = model_rows >= 0
            collab = np.full(len(rows), np.nan)
            collab[known] = model.item_factors[model_rows[known]] @ user_factor
            signals["collaborative"] = collab
        if weights.popular > 0:
            signals["popular"] = np.asarray([popular.get(v, 0.0) for v in table.ids[rows].tolist()])
        if weights.fresh > 0:
            signals["fresh"] = popularity.freshness(table.added[rows], now.timestamp())
        return signals

    def _item(self, table, row, score, dominant, engaged, profile, model, parts) -> Item:
        video_id = int(table.ids[row])
        reasons = []
        e = engaged.get(video_id)
        if e is not None and e.in_progress:
            reasons.append("continue watching")
        for signal in dominant:
            for reason in self._reasons(signal, table, row, profile, model, engaged):
                if reason not in reasons:
                    reasons.append(reason)
        if not reasons:
            # picked for variety (MMR) rather than by any one signal
            reasons.append("something different")
        start = e.position if e is not None and e.in_progress else 0.0
        return Item(video_id, table.titles[row], round(score, 6), reasons[:3], round(start, 2), parts)

    @staticmethod
    def _reasons(signal, table, row, profile, model, engaged) -> list[str]:
        if signal == "popular":
            return ["popular this week"]
        if signal == "fresh":
            return ["new in your library"]
        if signal == "content" and len(profile.positive_rows):
            reasons = []
            closeness = table.vectors[profile.positive_rows] @ table.vectors[row]
            affinity = np.where(profile.positive_rows == row, -np.inf, closeness * np.sqrt(profile.positive_weights))
            best = int(np.argmax(affinity))
            if np.isfinite(affinity[best]) and closeness[best] >= REASON_MIN_SIMILARITY:
                liked_row = int(profile.positive_rows[best])
                verb = engaged[int(table.ids[liked_row])].verb
                reasons.append(f"because you {verb} “{table.titles[liked_row]}”")
            # the topic: the candidate's most distinctive word that the user's own videos share
            shared = [(profile.keywords[w] * s, w) for w, s in table.keywords[row].items() if w in profile.keywords]
            if shared:
                reasons.append(f"more about {max(shared)[1]}")
            return reasons
        if signal == "collaborative" and model is not None and len(profile.positive_rows):
            r = model.row_of.get(int(table.ids[row]))
            mine = [(model.row_of[int(table.ids[p])], int(p)) for p in profile.positive_rows.tolist()
                    if int(table.ids[p]) in model.row_of]
            if r is None or not mine:
                return []
            closeness = model.unit_factors[[m for m, _ in mine]] @ model.unit_factors[r]
            other = mine[int(np.argmax(closeness))][1]
            return [f"people who watched “{table.titles[other]}” also watched this"]
        return []

    # -- more like this -------------------------------------------------------------------------------

    def similar(self, video_id: int, k: int = 10) -> list[Item]:
        """Videos closest to this one in content, lifted by being watched by the same people."""
        table = self.videos.table()
        row = table.row_of.get(video_id)
        if row is None or not table.has_vector[row]:
            return []
        rows, content = table.nearest(table.vectors[row], CANDIDATES + 1)
        keep = rows != row
        rows, content = rows[keep], content[keep].astype(np.float64)
        model = self.models.current()
        collab = np.zeros(len(rows))
        if model is not None and video_id in model.row_of:
            mine = model.unit_factors[model.row_of[video_id]]
            for i, other in enumerate(table.ids[rows].tolist()):
                r = model.row_of.get(other)
                if r is not None:
                    collab[i] = max(float(model.unit_factors[r] @ mine), 0.0)
        score = 0.8 * content + 0.2 * collab
        order = np.argsort(-score, kind="stable")[:k]
        return [Item(int(table.ids[rows[i]]), table.titles[rows[i]], round(float(score[i]), 4),
                     ["watched by the same people"] if collab[i] > content[i] else ["similar in what is said and shown"])
                for i in order]


def _top(scores: dict[int, float], n: int) -> list[int]:
    if len(scores) <= n:
        return list(scores)
    ids = np.fromiter(scores.keys(), np.int64, len(scores))
    vals = np.fromiter(scores.values(), np.float64, len(scores))
    return ids[np.argpartition(-vals, n)[:n]].tolist()
