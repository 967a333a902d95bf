"""The catalog: the SQL tables every layer reads and writes, and how to open them.

`catalog.tables` holds the mapped tables, `catalog.database` the engines, migrations and the
`Catalog` handle, `catalog.following` how a cache derived from the catalog keeps in step with it;
all are named here so callers write `from catalog import Video, Catalog`.
"""
from catalog.database import (FULL_TEXT_COLUMN, FULL_TEXT_TABLE_SUFFIXES, MIGRATIONS_DIR, Catalog, CatalogNotReady,
                              IN_LIST_SIZE,
                              alembic_config, current_revision, head_revision, in_chunks, include_object, make_engine,
                              upgrade)
from catalog.following import SaveSchedule, latest_change, videos_changed
from catalog.tables import (ApiKey, Base, CatalogChange, Embedding, Event, EventType, Face, Job, Keyframe, Person,
                            ScreenText, SegmentSource, Shot, SpeakerTurn, Tag, TagKind, TranscriptSegment, User,
                            UTCDateTime, Video, VideoStatus, Voice, record_change, utcnow, vector_bytes)

__all__ = ["alembic_config", "ApiKey", "Base", "Catalog", "CatalogChange", "CatalogNotReady", "current_revision", "Embedding",
           "Event", "EventType", "Face", "FULL_TEXT_COLUMN", "FULL_TEXT_TABLE_SUFFIXES", "head_revision", "in_chunks",
           "IN_LIST_SIZE", "include_object", "Job", "Keyframe", "latest_change", "make_engine", "MIGRATIONS_DIR", "Person",
           "record_change", "SaveSchedule", "ScreenText", "SegmentSource", "Shot", "SpeakerTurn", "Tag", "TagKind",
           "TranscriptSegment", "upgrade", "User", "UTCDateTime", "utcnow", "vector_bytes", "Video",
           "videos_changed", "VideoStatus", "Voice"]
