"""The search channels: one table that the engine, the vector indexes, the indexer and the recommender read.

A channel is one way a moment can match a query. Its `name` is what the API, the UI and fusion call it;
`owner_kind` is what its vectors belong to in the catalog (`Embedding.owner_kind`), None for a channel
matched in SQL; `model_family` and `model_setting` say which registry family and which setting choose its
encoder; `fusion_weight` is its share in reciprocal-rank fusion of search results, `profile_weight` its
share in a video's vector for recommendations (None: not used there).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Channel:
    name: str
    owner_kind: str | None
    model_family: str | None
    model_setting: str | None
    fusion_weight: float
    profile_weight: float | None = None

    @property
    def has_vectors(self) -> bool:
        return self.owner_kind is not None


# The weights favour meaning over exact words, and words over pictures; for recommendations, what is said
# tells a video's topic more than its look.
TRANSCRIPT = Channel("transcript", "segment", "text", "text_model", fusion_weight=1.0, profile_weight=1.0)
KEYWORD = Channel("keyword", None, None, None, fusion_weight=0.8)
VISUAL = Channel("visual", "keyframe", "clip", "clip_model", fusion_weight=0.7, profile_weight=0.7)
# the words read off the pictures (OCR), matched like keywords
SCREEN = Channel("screen", None, None, None, fusion_weight=0.7)

CHANNELS: dict[str, Channel] = {c.name: c for c in (TRANSCRIPT, KEYWORD, VISUAL, SCREEN)}
VECTOR_CHANNELS: tuple[Channel, ...] = tuple(c for c in CHANNELS.values() if c.has_vectors)
BY_OWNER_KIND: dict[str, Channel] = {c.owner_kind: c for c in VECTOR_CHANNELS}
