"""Fixtures: real media made on the fly (PyAV + espeak-ng), catalogs on SQLite and PostgreSQL."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from catalog import Catalog, upgrade
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
# The server the catalog tests use; each test session gets its own fresh database on it.
POSTGRES_ADMIN_URL = os.environ.get("REELSCOPE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def service_missing(reason: str) -> None:
    """Skip a test whose service (PostgreSQL, Redis, chromium, tmpfs, the real media) is not here, but
    in CI (CI=true), where `make test` provides every one, fail: a silent skip there hides a broken setup."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: every service the tests need must be there)")
    pytest.skip(reason)


def make_settings(data_dir: Path, database_url: str = "", **overrides) -> Settings:
    base = Settings(data_dir=data_dir, database_url=database_url, device="cpu",
                    speech_model="whisper-base", text_model="all-MiniLM-L6-v2",
                    clip_model="ViT-B-32/laion2b_s34b_b79k", keyframe_interval=5.0, admin_token="")
    return replace(base, **overrides)


@contextlib.contextmanager
def fresh_postgres_database(prefix: str = "reelscope_test"):
    """(admin engine, name, url) of a new, empty PostgreSQL database, dropped afterwards (even if a test
    switched its connections off); skips the test when no server answers."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        service_missing(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL} ({exc.orig}); set REELSCOPE_TEST_POSTGRES_URL")
    try:
        yield admin, name, admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url():
    """A new, empty PostgreSQL database for this session, dropped afterwards."""
    with fresh_postgres_database() as (_, _, url):
        yield url


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request, tmp_path):
    """An empty database (no schema yet) on each backend the product supports."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
        _reset_postgres(url)
        yield url


@pytest.fixture
def catalog(catalog_url):
    upgrade(catalog_url)
    catalog = Catalog(catalog_url)
    yield catalog
    catalog.dispose()


@pytest.fixture
def empty_catalog(tmp_path):
    """Settings and a migrated, empty SQLite catalog of this test's own."""
    settings = make_settings(tmp_path / "data")
    upgrade(settings.catalog_url)
    catalog = Catalog(settings.catalog_url)
    yield settings, catalog
    catalog.dispose()


@pytest.fixture(scope="module")
def module_indexer(tmp_path_factory):
    """An Indexer over a fresh SQLite catalog that the tests of one module share."""
    from indexer.pipeline import Indexer

    settings = make_settings(tmp_path_factory.mktemp("data"))
    upgrade(settings.catalog_url)
    catalog = Catalog(settings.catalog_url)
    yield Indexer(settings, catalog)
    catalog.dispose()


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    """The sample videos the indexing tests share (encoded once per session)."""
    import samples

    folder = tmp_path_factory.mktemp("media")
    return {
        "talk": samples.make_video(
            folder / "kitchen talk.mp4",
            [samples.Scene(6.0, photo="coffee"), samples.Scene(5.0, photo="chelsea"),
             samples.Scene(5.0, colour=(200, 40, 40))],
            [samples.Utterance(1.0, "Welcome to my kitchen, today we bake bread together."),
             samples.Utterance(8.5, "The weather tomorrow will be sunny and warm.")],
            fps=25),
        "quiet": samples.make_video(
            folder / "no sound.mp4",
            [samples.Scene(4.0, photo="astronaut"), samples.Scene(4.0, photo="rocket")], audio=False),
    }


def run_cli(args: list[str], settings: Settings, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """The real `reelscope` command in a child process, configured through the environment like a user would."""
    env = dict(os.environ, REELSCOPE_DATA_DIR=str(settings.data_dir), REELSCOPE_DATABASE_URL=settings.database_url,
               REELSCOPE_CLIP_MODEL=settings.clip_model, REELSCOPE_DEVICE=settings.device,
               REELSCOPE_TEXT_MODEL=settings.text_model, REELSCOPE_SPEECH_MODEL=settings.speech_model,
               REELSCOPE_KEYFRAME_INTERVAL=str(settings.keyframe_interval),
               REELSCOPE_TAG_VOCABULARY=settings.tag_vocabulary)
    return subprocess.run([sys.executable, "-m", "web.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, **kwargs)


@pytest.fixture(scope="session")
def search_library(tmp_path_factory):
    """The demo's sample library, indexed once: four short videos on distinct topics."""
    root = tmp_path_factory.mktemp("search")
    import samples
    from indexer.pipeline import Indexer

    videos = samples.make_sample_library(root / "library")
    settings = make_settings(root / "data")
    upgrade(settings.catalog_url)
    catalog = Catalog(settings.catalog_url)
    indexer = Indexer(settings, catalog)
    ids = {}
    for video in videos:
        outcome = indexer.index_path(video.path)
        assert outcome.status == "indexed", outcome.message
        ids[video.path.stem] = outcome.video_id
    yield settings, {v.path.stem: v for v in videos}, ids
    catalog.dispose()


# -- accounts ----------------------------------------------------------------------------------------

PASSWORD = "correct horse battery"


def make_account(catalog: Catalog, username: str, admin: bool = False, password: str | None = PASSWORD) -> int:
    from web import accounts

    with catalog.session() as s:
        return accounts.create_account(s, username, password, admin=admin).id


def api_key(catalog: Catalog, user_id: int) -> str:
    from catalog import User
    from web import accounts

    with catalog.session() as s:
        return accounts.create_key(s, s.get(User, user_id), "tests")[1]


def keyed_client(app, key: str):
    """A test client that sends `Authorization: Bearer <key>` on every request, as a script would."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


def sign_in(client, username: str, password: str = PASSWORD):
    """Signs the test client in through the sign-in form, as a browser would; returns the response."""
    client.get("/login")
    with client.session_transaction() as s:
        token = s["csrf"]
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def session_csrf(client) -> str:
    with client.session_transaction() as s:
        return s["csrf"]
