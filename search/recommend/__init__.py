"""Recommendations: a personal "For you" feed and "more like this", one module per idea.

events (validate, store once, history) -> engagement (one figure per user and video) ->
profile (content taste) + collaborative (implicit ALS, trained offline, folded in per request)
+ popularity (this week, and freshness) -> blend (weights by maturity, MMR, reasons), tied
together in recommender.Recommender; commands holds `reelscope recommend ...`.
"""
from .recommender import Feed, Item, Recommender, UnknownUser, UnknownVideo

__all__ = ["Feed", "Item", "Recommender", "UnknownUser", "UnknownVideo"]
