"""The `reelscope` command (also `flask --app web ...`)."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import click
from flask.cli import FlaskGroup

from indexer.commands import index_group, init_command, models_group
from settings import get_settings


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


@cli.command("serve")
@click.option("--host", default=None, help="Default: REELSCOPE_HOST or 127.0.0.1")
@click.option("--port", default=None, type=int, help="Default: REELSCOPE_PORT or 8000")
@click.option("--threads", default=8, show_default=True)
def serve(host, port, threads):
    """Serve the web UI and JSON API with a production WSGI server (waitress)."""
    from waitress import serve as waitress_serve

    from . import create_app

    settings = get_settings()
    app = create_app(settings)
    host, port = host or settings.host, port or settings.port
    click.echo(f"Reelscope at http://{host}:{port}/ (catalog {app.extensions['catalog'].safe_url})")
    waitress_serve(app, host=host, port=port, threads=threads, ident="reelscope")


@cli.command("demo")
@click.option("--folder", type=click.Path(path_type=Path), default=None,
              help="Where to write the sample videos (default: DATA_DIR/sample-library).")
@click.option("--serve/--no-serve", "then_serve", default=True, help="Serve the result when done.")
@click.pass_context
def demo(ctx, folder, then_serve):
    """Make a small sample library, index it and serve it."""
    from indexer.samples import make_sample_library

    settings = get_settings()
    folder = folder or settings.data_dir / "sample-library"
    ctx.invoke(init_command)
    videos = make_sample_library(folder)
    click.echo(f"sample library: {len(videos)} videos in {folder}")
    # a child process, so its exit code (1 when a file fails) does not end the demo
    code = subprocess.call([sys.executable, "-m", "web.cli", "index", "add", str(folder)], env=os.environ.copy())
    if code not in (0, 1):
        sys.exit(code)
    if then_serve:
        ctx.invoke(serve)


if __name__ == "__main__":
    cli()
