"""`reelscope worker`: a Celery worker that indexes what `index add --queue` sends it."""
from __future__ import annotations

import os
import socket

import click

from settings import get_settings


@click.command("worker")
@click.option("-c", "--concurrency", default=1, show_default=True,
              help="Videos indexed at once (processes). Each loads its own models: one per GPU or core set.")
@click.option("-Q", "--queues", default="reelscope.index", show_default=True, help="Comma-separated queues to consume.")
@click.option("-n", "--name", default=None, help="Worker name (default: reelscope-PID@HOST).")
@click.option("--max-retries", default=5, show_default=True,
              help="Retries after a transient error (database away) before the job is dead-lettered.")
@click.option("--retry-delay", default=10.0, show_default=True,
              help="Seconds before the first retry; doubles each time (with jitter), at most 10 minutes.")
@click.option("--visibility-timeout", default=3600.0, show_default=True,
              help="Seconds before the broker hands the message of a worker that died mid-video to another.")
@click.option("--loglevel", default="INFO", show_default=True)
def worker_command(concurrency, queues, name, max_retries, retry_delay, visibility_timeout, loglevel):
    """Index videos sent by `index add --queue` (needs REELSCOPE_BROKER_URL, e.g. redis://host:6379/0)."""
    from .cli_catalog import open_catalog
    from .tasks import BrokerMissing, RetryPolicy, make_app  # celery loads only for this command

    settings = get_settings()
    # fail here, with the reason, rather than on every task
    open_catalog(settings).dispose()
    max_delay = max(1.0, min(600.0, visibility_timeout / 2))
    policy = RetryPolicy(max_retries=max_retries, first_delay=min(retry_delay, max_delay), max_delay=max_delay,
                         visibility_timeout=visibility_timeout)
    try:
        app = make_app(settings, policy)
    except BrokerMissing as exc:
        raise click.ClickException(str(exc)) from None
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=2, interval_start=0.2, interval_step=0.5)
    except Exception as exc:
        raise click.ClickException(f"cannot reach the broker at {app.connection_for_read().as_uri()}: {exc}") \
            from None
    name = name or f"reelscope-{os.getpid()}@{socket.gethostname()}"
    app.worker_main(["worker", f"--concurrency={concurrency}", f"--queues={queues}", f"--hostname={name}",
                     "--prefetch-multiplier=1", f"--loglevel={loglevel}", "--without-gossip", "--without-mingle"])
