"""Opening the catalog: engines per backend, the Alembic upgrade, and the schema check."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from catalog.tables import Embedding, Keyframe, Shot, TranscriptSegment, Video, VideoStatus

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


# Made by the migrations for full-text search, per backend, so not mapped here.
FULL_TEXT_TABLE_SUFFIXES = ("_fts", "_fts_data", "_fts_idx", "_fts_content", "_fts_docsize", "_fts_config")
FULL_TEXT_COLUMN = "search_vector"


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """For Alembic's comparisons: the full-text objects are the migrations' own business."""
    if type_ == "table" and name and name.endswith(FULL_TEXT_TABLE_SUFFIXES):
        return False
    if type_ == "column" and name == FULL_TEXT_COLUMN:
        return False
    if type_ == "index" and name and name.endswith("_search"):
        return False
    return True


# The most values one `IN (...)` list carries: SQLite before 3.32 allows 999 bound variables a statement.
IN_LIST_SIZE = 500


def in_chunks(values: list | None, size: int = IN_LIST_SIZE):
    """`values` in slices that fit one `IN (...)` list; None (no restriction) stays one None."""
    if values is None:
        yield None
        return
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    # WAL lets search read while the indexer writes; busy_timeout waits out a writer instead of failing
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> str:
    """Create or upgrade the schema to the newest migration; returns the revision."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")
    return current_revision(url)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


class CatalogNotReady(RuntimeError):
    pass


class Catalog:
    """An engine plus a session factory for one database URL."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def check_schema(self) -> None:
        current, head = current_revision(self.url), head_revision()
        if current != head:
            raise CatalogNotReady(
                f"the catalog at {self.safe_url} is at schema {current or 'none'}, this version needs {head}: "
                f"run `reelscope init`")

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def session(self) -> Session:
        return self.sessions()

    def counts(self) -> dict:
        with self.session() as s:
            by_status = dict(s.execute(select(Video.status, func.count()).group_by(Video.status)).all())
            return {
                "videos": sum(by_status.values()),
                "by_status": {k: by_status.get(k, 0) for k in VideoStatus.ALL},
                "shots": s.scalar(select(func.count()).select_from(Shot)),
                "keyframes": s.scalar(select(func.count()).select_from(Keyframe)),
                "segments": s.scalar(select(func.count()).select_from(TranscriptSegment)),
                "embeddings": dict(s.execute(select(Embedding.owner_kind, func.count())
                                             .group_by(Embedding.owner_kind)).all()),
                "hours": round((s.scalar(select(func.sum(Video.duration))
                                         .where(Video.status == VideoStatus.INDEXED)) or 0.0) / 3600, 3),
            }

    def dispose(self) -> None:
        self.engine.dispose()
