"""The `reelscope` command (also `flask --app web ...`)."""
from __future__ import annotations

import ctypes
import gc
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import click
from flask.cli import FlaskGroup

from indexer.cli_catalog import open_catalog
from indexer.commands import index_group, init_command, models_group
from indexer.worker import worker_command
from search.request import MODES
from settings import get_settings
from web.recommend_cli import recommend_group
from web.users_cli import users_group


def _create_app():
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False,
             set_debug_flag=False)
def cli():
    """Reelscope: find the moment you mean in your own videos."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


cli.add_command(init_command)
cli.add_command(index_group)
cli.add_command(models_group)
cli.add_command(worker_command)
cli.add_command(recommend_group)
cli.add_command(users_group)


@cli.command("serve", with_appcontext=False)  # builds its own app, or none
@click.option("--host", default=None, help="Default: REELSCOPE_HOST or 127.0.0.1")
@click.option("--port", default=None, type=int, help="Default: REELSCOPE_PORT or 8000")
@click.option("--threads", default=8, show_default=True)
@click.pass_context
def serve(ctx, host, port, threads):
    """Serve the web UI and JSON API with a production WSGI server (waitress)."""
    from waitress import serve as waitress_serve

    from catalog import current_revision, head_revision

    from . import create_app

    _fewer_heaps()
    settings = get_settings()
    if current_revision(settings.catalog_url) != head_revision():
        ctx.invoke(init_command)  # a first start, or a new version: what `reelscope init` does
    app = create_app(settings)
    host, port = host or settings.host, port or settings.port
    click.echo("loading models and vector indexes...", err=True)
    app.extensions["engine"].warm()  # the first request should not pay for loading
    app.extensions["recommender"].warm()
    # Models and indexes are ~500k long-lived objects; left to the collector, each full pass
    # over them stalls a request for ~250 ms (p99 323 -> 61 ms at 100k once frozen).
    gc.collect()
    gc.freeze()
    click.echo(f"Reelscope at http://{host}:{port}/ (catalog {app.extensions['catalog'].safe_url})")
    waitress_serve(app, host=host, port=port, threads=threads, ident="reelscope")


def _fewer_heaps() -> None:
    """Two malloc heaps for the server's threads, not glibc's default of up to eight a core: each
    thread that frees index-sized arrays (syncs, recommender refreshes) keeps them in its own heap.
    While indexing went on, RSS grew 184 MB in 6 min with the default and 29 MB with two heaps, at
    the same speed (bench/RESULTS.md, Load). MALLOC_ARENA_MAX in the environment, if set, wins."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX; before the server starts its threads
    except (OSError, AttributeError):  # not glibc
        pass


@cli.command("search", with_appcontext=False)  # builds its own app, or none
@click.argument("query")
@click.option("-k", "--k", "k", default=10, show_default=True, help="How many moments.")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True)
@click.option("--video", "video_ids", type=int, multiple=True, help="Only this video id (repeatable).")
@click.option("--lang", "languages", multiple=True, help="Only videos in this language, e.g. zh (repeatable).")
@click.option("--json", "as_json", is_flag=True)
def search_command(query, k, mode, video_ids, languages, as_json):
    """Find moments, with the same engine as the API."""
    from search.engine import SearchEngine
    from search.request import QueryError, SearchRequest

    settings = get_settings()
    engine = SearchEngine(settings, open_catalog(settings))
    try:
        result = engine.search(SearchRequest(text=query, k=k, mode=mode, video_ids=list(video_ids) or None,
                                             languages=list(languages) or None))
    except QueryError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"query": query, "mode": mode, "total": result.total, "notices": result.notices,
                               "no_good_match": result.no_good_match,
                               "channels_used": result.channels_used,
                               "moments": [m.as_dict() for m in result.moments]}, indent=2))
        return
    for notice in result.notices:
        click.echo(f"note: {notice}", err=True)
    if not result.moments:
        click.echo("no moments found")
    for i, m in enumerate(result.moments, 1):
        if not m.related and (i == 1 or result.moments[i - 2].related) and not result.no_good_match:
            click.echo("    -- less related --")
        channels = ", ".join(sorted(m.channels))
        click.echo(f"{i:2d}. [{m.video_id}] {m.title}  {_clock(m.start)}-{_clock(m.end)}  ({channels})")
        if m.snippet:
            click.echo(f"    {_marked(m.snippet, m.highlights)}")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if minutes >= 60 else f"{minutes}:{secs:02d}"


def _marked(text: str, highlights: list[list[int]]) -> str:
    for start, end in reversed(highlights):
        text = f"{text[:start]}{click.style(text[start:end], bold=True)}{text[end:]}"
    return text


@cli.command("demo", with_appcontext=False)  # builds its own app, or none
@click.option("--folder", type=click.Path(path_type=Path), default=None,
              help="Where to write the sample videos (default: DATA_DIR/sample-library).")
@click.option("--serve/--no-serve", "then_serve", default=True, help="Serve the result when done.")
@click.pass_context
def demo(ctx, folder, then_serve):
    """Make a small sample library, index it and serve it."""
    from samples import make_sample_library

    settings = get_settings()
    folder = folder or settings.data_dir / "sample-library"
    ctx.invoke(init_command)
    videos = make_sample_library(folder)
    click.echo(f"sample library: {len(videos)} videos in {folder}")
    # a child process, so its exit code (1 when a file fails) does not end the demo
    code = subprocess.call([sys.executable, "-m", "web.cli", "index", "add", str(folder)], env=os.environ.copy())
    if code not in (0, 1):
        sys.exit(code)
    password = _demo_viewer(settings)
    click.echo(f"sign in as demo, password {password} (a new one each run); make an admin account with "
               "`reelscope users create NAME --admin`")
    if then_serve:
        ctx.invoke(serve)


def _demo_viewer(settings) -> str:
    """The viewer `demo`, with a fresh password: printed for whoever ran the demo, so one command still does it."""
    import secrets

    from sqlalchemy import select

    from catalog import User

    from . import accounts

    password = secrets.token_urlsafe(9)
    with open_catalog(settings).session() as s:
        user = s.scalar(select(User).where(User.username == "demo"))
        if user is None:
            accounts.create_account(s, "demo", password, name="Demo viewer")
        else:
            accounts.set_password(s, user, password)
    return password


if __name__ == "__main__":
    cli()
