"""`reelscope recommend ...`: train the collaborative model, now or on a schedule, and try a feed."""
from __future__ import annotations

import json
import time

import click

from indexer.cli_catalog import open_catalog
from settings import get_settings


@click.group("recommend")
def recommend_group():
    """Train and inspect the recommender."""


@recommend_group.command("train")
@click.option("--factors", default=None, type=click.IntRange(2, 512),
              help="Default: 64, or a fifth of the videos with events when fewer.")
@click.option("--iterations", default=15, show_default=True, type=click.IntRange(1, 200))
@click.option("--every", type=click.FloatRange(min=1), default=None,
              help="Keep running: retrain every N seconds when new events arrived.")
@click.option("--json", "as_json", is_flag=True)
def train_command(factors, iterations, every, as_json):
    """Fit the collaborative model (implicit ALS) on every event; serving processes pick it up by themselves."""
    from search.recommend.collaborative import event_count, train
    from search.recommend.recommender import model_folder

    settings = get_settings()
    catalog = open_catalog(settings)
    trained_on = -1
    while True:
        latest = event_count(catalog)
        if latest != trained_on:
            path, figures = train(catalog, model_folder(settings.data_dir), factors=factors, iterations=iterations)
            trained_on = latest
            figures["model"] = str(path) if path else None
            if as_json:
                click.echo(json.dumps(figures))
            elif path is None:
                click.echo("no positive events yet: nothing to train on (feeds use content and popularity)")
            else:
                click.echo(f"trained {path.name}: {figures['users']} users x {figures['items']} videos from "
                           f"{figures['events']} events ({figures['pairs']} user-video pairs); read "
                           f"{figures['read_seconds']} s, ALS {figures['train_seconds']} s, "
                           f"total {figures['total_seconds']} s")
        if every is None:
            return
        time.sleep(every)


@recommend_group.command("feed")
@click.argument("user_id", type=int)
@click.option("-k", "--k", "k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True)
def feed_command(user_id, k, as_json):
    """Print a user's "For you" feed, with the reasons."""
    from search.recommend import Recommender, UnknownUser
    from search.recommend.recommender import model_folder

    settings = get_settings()
    recommender = Recommender(open_catalog(settings), model_folder(settings.data_dir),
                              vectors_folder=settings.data_dir / "vectors")
    try:
        feed = recommender.recommend(user_id, k)
    except UnknownUser as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"user_id": user_id, "weights": feed.weights, "model_version": feed.model_version,
                               "items": [{"video_id": i.video_id, "title": i.title, "score": i.score,
                                          "reasons": i.reasons} for i in feed.items]}, indent=2))
        return
    for n, item in enumerate(feed.items, 1):
        click.echo(f"{n:>3}. [{item.video_id}] {item.title}  ({item.score:.3f}; {'; '.join(item.reasons)})")
