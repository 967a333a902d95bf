"""Admin commands: `reelscope init`, `reelscope index ...`, `reelscope models ...`."""
from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

import click
from sqlalchemy import select

import models
from models import weights
from catalog import Catalog, Video, VideoStatus, record_change, upgrade
from people import library as people
from settings import get_settings

from .cli_catalog import open_catalog
from .errors import Cancelled, MediaError
from .jobs import enqueue, run_jobs
from .library import discover
from .maintenance import stale_videos
from .claims import Outcome, remove_unused_thumbnails
from .pipeline import Indexer
from .status import selected_models, status_report
from .verify import verify


@click.command("init")
def init_command():
    """Create or upgrade the catalog and prepare the packaged models."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    revision = upgrade(settings.catalog_url)
    click.echo(f"catalog ready at {Catalog(settings.catalog_url).safe_url} (schema {revision})")
    try:
        folder = weights.speech_model_dir(models.get_spec("speech", settings.speech_model), settings.models_dir)
        click.echo(f"speech model {settings.speech_model} ready in {folder}")
        weights.text_model_dir(models.get_spec("text", settings.text_model))
        click.echo(f"text model {settings.text_model} ready (packaged)")
    except weights.WeightsMissing as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(models.clip_availability(settings.clip_model, settings.models_dir).reason)


# -- index --------------------------------------------------------------------------------------------

@click.group("index")
def index_group():
    """Add, inspect, remove and check indexed videos."""


class _Progress:
    """Two bars on a terminal: the batch (files) and the file being indexed (percent)."""

    def __init__(self, total: int, enabled: bool):
        self.enabled = enabled
        if enabled:
            from tqdm import tqdm

            self.overall = tqdm(total=total, unit="file", position=0, desc="library", dynamic_ncols=True)
            self.current = tqdm(total=100, unit="%", position=1, desc="", dynamic_ncols=True,
                                bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}")
            self._lock = threading.Lock()

    def file(self, path: str, stage: str, fraction: float):
        if not self.enabled:
            return
        with self._lock:
            self.current.set_description_str(f"{Path(path).name[:40]} [{stage}]", refresh=False)
            self.current.n = round(100 * fraction)
            self.current.refresh()

    def done(self, outcome: Outcome):
        if self.enabled:
            self.overall.write(_outcome_line(outcome))
            self.overall.update(1)

    def close(self):
        if self.enabled:
            self.current.close()
            self.overall.close()


_MARK = {"indexed": "indexed", "skipped": "skipped", "failed": "FAILED "}


def _outcome_line(o: Outcome) -> str:
    extra = f" ({o.seconds:.1f} s)" if o.status == "indexed" else ""
    return f"{_MARK[o.status]} {o.path}{extra}" + (f": {o.message}" if o.message else "")


@index_group.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--force", is_flag=True, help="Index again even what is already indexed.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file; no progress bars.")
@click.option("--queue", "to_queue", is_flag=True,
              help="Send the files to `reelscope worker`s (REELSCOPE_BROKER_URL) instead of indexing here.")
@click.option("--queue-name", default="reelscope.index", show_default=True, help="Which queue, with --queue.")
def index_add(paths, force, as_json, to_queue, queue_name):
    """Index video files and folders (recursively); what is already indexed is skipped."""
    settings = get_settings()
    catalog = open_catalog(settings)
    files = discover(list(paths))
    if not files:
        raise click.ClickException("no video files found under the given paths")
    if to_queue:
        _send_to_workers(settings, catalog, files, force, queue_name, as_json)
        return
    availability = models.clip_availability(settings.clip_model, settings.models_dir)
    if not as_json:
        click.echo(f"{len(files)} file(s) to check; {availability.reason}", err=True)
    bars = _Progress(len(files), enabled=not as_json and sys.stderr.isatty())
    cancel = threading.Event()
    indexer = Indexer(settings, catalog, on_progress=bars.file, cancel=cancel)

    def report(outcome: Outcome):
        if as_json:
            click.echo(json.dumps(outcome.as_dict()))
        elif bars.enabled:
            bars.done(outcome)
        else:
            click.echo(_outcome_line(outcome))

    def interrupted(signum, frame):
        # Ctrl-C raises KeyboardInterrupt wherever the main thread is, and Python drops it when that is
        # a finaliser (__del__) running at that moment; the event still stops the work at its next step
        cancel.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)
    job_ids = enqueue(catalog, files, force)
    try:
        outcomes = run_jobs(indexer, job_ids, report)
    except (KeyboardInterrupt, Cancelled):
        cancel.set()
        bars.close()
        click.echo("\ninterrupted: finished videos are kept; run the same command again to index the rest", err=True)
        sys.exit(130)
    bars.close()
    counts = {k: sum(o.status == k for o in outcomes) for k in ("indexed", "skipped", "failed")}
    if not as_json:
        click.echo(f"done: {counts['indexed']} indexed, {counts['skipped']} skipped, {counts['failed']} failed", err=True)
    if counts["failed"]:
        sys.exit(1)


def _send_to_workers(settings, catalog, files, force, queue_name, as_json):
    from .tasks import BrokerMissing, queue_files

    try:
        rows = queue_files(settings, catalog, files, force, queue_name)
    except BrokerMissing as exc:
        raise click.ClickException(str(exc)) from None
    for row in rows:
        click.echo(json.dumps(row) if as_json else
                   f"queued  {row['path']} (job {row['job_id']})" + (f": {row['message']}" if row["message"] else ""))
    if not as_json:
        click.echo(f"{len(rows)} file(s) sent to queue {queue_name}; `reelscope index status` shows progress", err=True)


@index_group.command("status")
@click.option("--json", "as_json", is_flag=True)
def index_status(as_json):
    """What is indexed, what failed and why, what is running.

    With REELSCOPE_BROKER_URL it also asks the workers what they run, which takes 1 s.
    """
    settings = get_settings()
    report = status_report(settings, open_catalog(settings))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    c = report["counts"]
    by = c["by_status"]
    click.echo(f"catalog: {report['catalog']}")
    click.echo(f"videos: {c['videos']} ({by['indexed']} indexed, {by['failed']} failed, {by['indexing']} indexing, "
               f"{by['pending']} pending); {c['hours']} h indexed")
    click.echo(f"shots: {c['shots']}, keyframes: {c['keyframes']}, transcript segments: {c['segments']}, "
               f"vectors: {c['embeddings'] or 0}")
    click.echo(report["visual"]["message"])
    for v in report["in_progress"]:
        click.echo(f"indexing now: [{v['video_id']}] {v['path']} ({v['by']})")
    for v in report["interrupted"]:
        click.echo(f"interrupted:  [{v['video_id']}] {v['path']}: `index add` resumes it")
    for v in report["failed"]:
        click.echo(f"failed:       [{v['video_id']}] {v['path']}: {v['error']}")
    _echo_workers(report["workers"])


def _echo_workers(workers: dict) -> None:
    if not workers.get("broker"):
        return
    from .tasks import WORKER_REPLY_WAIT

    if workers.get("error"):
        click.echo(f"workers: {workers['error']}")
        return
    waiting = ", ".join(f"{q}: {n}" for q, n in workers["waiting"].items())
    click.echo(f"workers: {len(workers['workers'])} online ({workers['broker']}; those that answered within "
               f"{WORKER_REPLY_WAIT:g} s); waiting in queue: {waiting}")
    for w in workers["workers"]:
        click.echo(f"worker:       {w['name']} on job(s) {w['active_jobs'] or 'none'}")
    for d in workers["dead_letters"]:
        click.echo(f"dead letter:  job {d['job_id']} {d.get('path') or ''}: {d['error']} ({d['at']})")


@index_group.command("remove")
@click.argument("video_id", type=int)
def index_remove(video_id):
    """Remove a video from the catalog (the file itself is not touched)."""
    settings = get_settings()
    catalog = open_catalog(settings)
    with catalog.session() as s, s.begin():
        video = s.get(Video, video_id)
        if video is None:
            raise click.ClickException(f"no video with id {video_id}")
        digest, path = video.content_hash, video.path
        seen = people.people_of_video(s, video_id)
        record_change(s, video_id)
        s.delete(video)
        s.flush()
        people.forget_unseen(s, seen)  # unnamed people who were only in it
    if digest:
        remove_unused_thumbnails(settings, catalog, digest)
    click.echo(f"removed [{video_id}] {path}")


@index_group.command("reindex")
@click.option("--all", "everything", is_flag=True, help="Re-index every video, not only stale ones.")
@click.option("--failed", is_flag=True, help="Also retry videos that failed.")
@click.option("--dry-run", is_flag=True, help="Only list the videos that would be re-indexed.")
@click.option("--json", "as_json", is_flag=True)
def index_reindex(everything, failed, dry_run, as_json):
    """Re-index what older or other models produced (after a model change)."""
    settings = get_settings()
    catalog = open_catalog(settings)
    indexer = Indexer(settings, catalog)
    versions = indexer.models.versions()
    with catalog.session() as s:
        if everything:
            targets = list(s.scalars(select(Video.path).where(Video.status == VideoStatus.INDEXED)))
        else:
            targets = [v.path for v in stale_videos(catalog, versions)]
        if failed:
            targets += list(s.scalars(select(Video.path).where(Video.status == VideoStatus.FAILED)))
    if not targets:
        click.echo("nothing to re-index: every video was made by the current models", err=True)
        return
    if dry_run:
        for path in targets:
            click.echo(json.dumps({"path": path}) if as_json else path)
        return
    click.echo(f"re-indexing {len(targets)} video(s) with {versions}", err=True)
    outcomes = run_jobs(indexer, enqueue(catalog, [Path(p) for p in targets], force=True),
                        lambda o: click.echo(json.dumps(o.as_dict()) if as_json else _outcome_line(o)))
    if any(o.status == "failed" for o in outcomes):
        sys.exit(1)


@index_group.command("retag")
@click.option("--all", "everything", is_flag=True, help="Re-tag every video, not only those with older tags.")
@click.option("--json", "as_json", is_flag=True)
def index_retag(everything, as_json):
    """Recompute emotion and content tags (and on-screen text) without running speech recognition again."""
    from .retag import retag_video, stale_for_tags

    settings = get_settings()
    catalog = open_catalog(settings)
    version = Indexer(settings, catalog).models.tagger_version()
    if everything:
        with catalog.session() as s:
            targets = list(s.scalars(select(Video.id).where(Video.status == VideoStatus.INDEXED).order_by(Video.id)))
    else:
        targets = stale_for_tags(catalog, version)
    if not targets:
        click.echo(f"nothing to re-tag: every video's tags were made by {version}", err=True)
        return
    click.echo(f"re-tagging {len(targets)} video(s) with {version}", err=True)
    failed = 0
    for video_id in targets:
        try:
            note, status = retag_video(settings, catalog, video_id, version), "retagged"
        except MediaError as exc:
            note, status = str(exc), "failed"
            failed += 1
        if as_json:
            click.echo(json.dumps({"video_id": video_id, "status": status, "message": note}))
        else:
            click.echo(f"{status:8} [{video_id}]" + (f": {note}" if note else ""))
    if failed:
        sys.exit(1)


@index_group.command("verify")
@click.option("--hashes", is_flag=True, help="Also re-hash every file (slow on big libraries).")
@click.option("--json", "as_json", is_flag=True)
def index_verify(hashes, as_json):
    """Check the catalog against the files on disk and its embeddings; exit 1 on any problem."""
    settings = get_settings()
    problems = verify(settings, open_catalog(settings), check_hashes=hashes)
    if as_json:
        click.echo(json.dumps({"ok": not problems, "problems": problems}, indent=2))
    else:
        for p in problems:
            where = f"[{p['video_id']}] {p['path']}: " if p["video_id"] else ""
            click.echo(f"{where}{p['problem']}")
        click.echo("catalog verified: no problems" if not problems else f"{len(problems)} problem(s)")
    if problems:
        sys.exit(1)


@index_group.command("rebuild-vectors")
def index_rebuild_vectors():
    """Rebuild the vector indexes from the catalog (they also rebuild themselves when missing or stale)."""
    from search.engine import SearchEngine

    settings = get_settings()
    engine = SearchEngine(settings, open_catalog(settings))
    for channel, size in engine.rebuild().items():
        index = engine.channel_index(channel)
        click.echo(f"{channel}: {size} vectors ({index.kind})")
    if not models.clip_availability(settings.clip_model, settings.models_dir).enabled:
        click.echo("visual: skipped (visual search off: no CLIP weights)")


# -- models -------------------------------------------------------------------------------------------

@click.group("models")
def models_group():
    """List, download or import model weights."""


@models_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def models_list(as_json):
    settings = get_settings()
    rows = weights.list_models(settings.models_dir, selected_models(settings))
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in rows], indent=2))
        return
    for r in rows:
        mark = "*" if r.selected else " "
        state = "ready  " if r.available else "missing"
        click.echo(f"{mark} {r.family:<6} {r.name:<30} {state} {r.detail}")
    click.echo("* = selected (REELSCOPE_SPEECH_MODEL, REELSCOPE_TEXT_MODEL, REELSCOPE_CLIP_MODEL)")


@models_group.command("pull")
@click.argument("name", required=False)
def models_pull(name):
    """Download CLIP weights from the hub (default: the selected CLIP model)."""
    settings = get_settings()
    name = name or settings.clip_model
    try:
        path = weights.pull_clip(name, settings.models_dir)
    except (weights.WeightsMissing, KeyError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{name} saved to {path}; run `reelscope index reindex` to add visual vectors to indexed videos")


@models_group.command("import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--name", help="Registry name ARCH/TAG the weights are for (default: the selected CLIP model).")
def models_import(source, name):
    """Import CLIP weights from a local file or folder (e.g. open_clip_model.safetensors)."""
    settings = get_settings()
    name = name or settings.clip_model
    try:
        path = weights.import_clip(name, source, settings.models_dir)
    except (weights.WeightsMissing, KeyError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{name} imported to {path}; run `reelscope index reindex` to add visual vectors to indexed videos")
