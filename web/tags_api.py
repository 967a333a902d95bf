"""GET /api/v1/tags: the emotion and content labels in use, with counts."""
from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from catalog import TagKind
from search.tag_index import tag_counts
from search.tags import EMOTIONS

from .api import API_PREFIX
from .extensions import current_catalog, current_engine

bp = Blueprint("tags", __name__, url_prefix=API_PREFIX, description="Emotion and content tags")


class TagsArgs(ma.Schema):
    kind = ma.fields.String(validate=ma.validate.OneOf(TagKind.ALL))


class TagCount(ma.Schema):
    kind = ma.fields.String(required=True)
    label = ma.fields.String(required=True)
    videos = ma.fields.Integer(required=True, metadata={"description": "indexed videos with this tag anywhere"})
    spans = ma.fields.Integer(required=True, metadata={"description": "segments and shots tagged with it"})


class TagsResponse(ma.Schema):
    emotions = ma.fields.List(ma.fields.String(), required=True,
                              metadata={"description": "the fixed emotion label set, in order"})
    content_tags = ma.fields.Boolean(required=True,
                                     metadata={"description": "false while there are no CLIP weights"})
    notice = ma.fields.String(allow_none=True)
    tags = ma.fields.List(ma.fields.Nested(TagCount), required=True)


@bp.route("/tags")
class Tags(MethodView):
    @bp.arguments(TagsArgs, location="query", as_kwargs=True)
    @bp.response(200, TagsResponse)
    def get(self, kind=None):
        """Every tag in use with how many videos and spans carry it (usable as search filters)."""
        visual = current_engine().visual_availability()
        with current_catalog().session() as s:
            counts = tag_counts(s, kind)
        notice = None if visual.enabled else "content tags (scene, objects, safety) are off: " + visual.reason
        if visual.test_only:
            notice = "content tags come from a TEST-ONLY random CLIP model: meaningless"
        return {"emotions": list(EMOTIONS), "content_tags": visual.enabled, "notice": notice, "tags": counts}
