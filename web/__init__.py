"""The Flask application factory (`flask --app web ...` finds `create_app`)."""
from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from search.catalog import Catalog
from settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or get_settings()
    app = Flask(__name__)
    app.config["REELSCOPE"] = settings
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024
    app.extensions["catalog"] = Catalog(settings.catalog_url)

    from .status import bp as status_bp

    app.register_blueprint(status_bp)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return jsonify(error=exc.name.lower().replace(" ", "_"), message=exc.description), exc.code

    return app
