"""The Flask application factory (`flask --app web ...` finds `create_app`)."""
from __future__ import annotations

from flask import Flask, request

from catalog import Catalog
from search.engine import SearchEngine
from search.recommend.recommender import Recommender, model_folder
from settings import Settings, get_settings

from . import auth, hardening, i18n
from .api import API_PREFIX, make_api


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or get_settings()
    app = Flask(__name__)
    app.config["REELSCOPE"] = settings
    # bounds uploads (query-by-image) before any view reads them
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024
    catalog = Catalog(settings.catalog_url)
    app.extensions["catalog"] = catalog
    app.extensions["engine"] = SearchEngine(settings, catalog)
    app.extensions["recommender"] = Recommender(catalog, model_folder(settings.data_dir),
                                                  vectors_folder=settings.data_dir / "vectors")

    app.extensions["trusted_proxies"] = auth.trusted_networks(settings.trusted_proxies)
    hardening.init_app(app)
    i18n.init_app(app)  # pages in the visitor's language; the API stays English

    from . import accounts_api, admin_api, people_api, recommend_api, search_api, status, tags_api, ui, videos_api

    api = make_api(app)  # before the blueprints: it registers the <id:...> URL converter
    for module in (status, search_api, videos_api, tags_api, people_api, admin_api, recommend_api, accounts_api):
        api.register_blueprint(module.bp)
    if settings.sign_in_required:
        app.before_request(lambda: auth.check_signed_in_everywhere(API_PREFIX))
    app.before_request(_api_csrf)
    app.register_blueprint(ui.pages)
    _start_background(app, settings)
    return app


def _api_csrf():
    if request.path.startswith(API_PREFIX + "/"):
        return auth.check_api_csrf()


def _start_background(app: Flask, settings: Settings) -> None:
    """What the server keeps doing besides requests; both start on threads so the first request never waits."""
    from . import admin_api

    if settings.broker_url:
        from indexer.tasks import watch_queues  # celery loads only with a broker

        watch_queues(settings)
    admin_api.resume_jobs(app)
