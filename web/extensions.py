"""The services `create_app` keeps in `app.extensions`, looked up for the request at hand."""
from __future__ import annotations

from flask import current_app

from catalog import Catalog
from search.engine import SearchEngine
from search.recommend.recommender import Recommender


def current_catalog() -> Catalog:
    return current_app.extensions["catalog"]


def current_engine() -> SearchEngine:
    return current_app.extensions["engine"]


def current_recommender() -> Recommender:
    return current_app.extensions["recommender"]
