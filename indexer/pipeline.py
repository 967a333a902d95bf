"""Index one file: claim it, probe it, analyse pictures and sound side by side, write one transaction.

The stages live in their own modules: `claims` (who indexes what, and what a dead claim is),
`analysis` (what the models find, as typed results), `writing` (storing it all at once) and
`progress` (job rows and callbacks). A video is either fully indexed or not at all.
"""
from __future__ import annotations

import logging
import threading
import time
import traceback
from pathlib import Path

from sqlalchemy.exc import DBAPIError, IntegrityError

from catalog import Catalog
from settings import Settings

from .analysis import Analyser, IndexModels, assemble_tags, outcome_notes, people_found
from .claims import Claims, Outcome, Superseded, content_hash, remove_unused_thumbnails, this_worker
from .errors import Cancelled, MediaError
from .probe import MediaInfo, probe
from .progress import JobProgress, ProgressFn
from .writing import ModelStamp, ModelStamps, VideoResults, write_results

log = logging.getLogger(__name__)


class Indexer:
    def __init__(self, settings: Settings, catalog: Catalog, on_progress: ProgressFn | None = None,
                 cancel: threading.Event | None = None, raise_database_errors: bool = False):
        self.settings = settings
        # a queue worker retries a video whose database went away; a batch in one process records it as failed
        self.raise_database_errors = raise_database_errors
        self.catalog = catalog
        self.cancel = cancel or threading.Event()
        self.worker = this_worker()
        self.models = IndexModels(settings)
        self.claims = Claims(catalog, self.worker)
        self.analyser = Analyser(settings, self.models, self.cancel)
        self.progress = JobProgress(catalog, self.worker, on_progress)

    def index_path(self, path: Path, force: bool = False, job_id: int | None = None) -> Outcome:
        path = Path(path).absolute()
        started = time.perf_counter()
        outcome = self._index(path, force, job_id)
        outcome.seconds = time.perf_counter() - started
        if job_id is not None:
            self.progress.finish_job(job_id, outcome)
        return outcome

    def _index(self, path: Path, force: bool, job_id: int | None) -> Outcome:
        stages: dict[str, float] = {}
        t0 = time.perf_counter()
        try:
            digest = content_hash(path)
        except MediaError as exc:
            return self.claims.fail_without_hash(path, str(exc))
        stages["hash"] = time.perf_counter() - t0
        try:
            claimed = self.claims.claim(path, digest, force, job_id)
        except IntegrityError:  # another process inserted the same path a moment earlier
            return Outcome(str(path), "skipped", None, "being indexed by another process")
        if isinstance(claimed, Outcome):
            return claimed
        video_id = claimed.video_id
        try:
            self.progress.report(path, "probe", 0.0, job_id)
            t0 = time.perf_counter()
            info = probe(path)
            stages["probe"] = time.perf_counter() - t0
            pictures, audio = self.analyser.analyse(
                path, info, stages, lambda stage, fraction: self.progress.report(path, stage, fraction, job_id))
            _check_unchanged(path, info)
            texts = self.analyser.text_tracks(path, info, audio, stages)
            t0 = time.perf_counter()
            clip = self.models.clip() if pictures is not None and pictures.clip_vectors is not None else None
            results = VideoResults(info, pictures, audio, texts, assemble_tags(
                video_id, info, pictures, audio, texts, clip, self.settings.tag_vocabulary),
                people_found(pictures, audio) if self.settings.people else None)
            stages["tags"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            write_results(self.catalog, self.worker, self.settings.thumbnails_dir, video_id, path, digest, results,
                          self._stamps(results, clip))
            stages["write"] = time.perf_counter() - t0
            if claimed.replaced_hash:
                remove_unused_thumbnails(self.settings, self.catalog, claimed.replaced_hash)
        except MediaError as exc:
            self.claims.fail(video_id, str(exc))
            return Outcome(str(path), "failed", video_id, str(exc), stages=stages)
        except Superseded:
            return Outcome(str(path), "skipped", video_id, "removed or taken over by another worker meanwhile; "
                                                            "nothing written", stages=stages)
        except (Cancelled, KeyboardInterrupt):
            self.claims.release(video_id)
            raise
        except Exception as exc:  # a bug or a model failure: record it, keep the batch going
            if self.raise_database_errors and isinstance(exc, DBAPIError):
                try:
                    self.claims.release(video_id)
                except DBAPIError:
                    pass  # still gone: the claim is this live process's own, so a retry here resumes it
                raise
            if path.exists():
                log.error("indexing %s failed:\n%s", path, traceback.format_exc())
                message = f"internal error: {type(exc).__name__}: {exc}"
            else:
                message = "file vanished while it was being indexed"
            self.claims.fail(video_id, message)
            return Outcome(str(path), "failed", video_id, message, stages=stages)
        notes = [n for n in outcome_notes(info, audio, texts, results.tags) if n]
        return Outcome(str(path), "indexed", video_id, "; ".join(notes), stages=stages)

    def _stamps(self, results: VideoResults, clip) -> ModelStamps:
        """`clip`: the CLIP model that made the keyframes' vectors, None when they have none."""
        text = self.models.text() if results.texts.tracks else None
        return ModelStamps(self.models.versions(),
                           ModelStamp(text.name, text.version) if text is not None else None,
                           ModelStamp(clip.name, clip.version) if clip is not None else None,
                           self.models.tagger_version())


def _check_unchanged(path: Path, info: MediaInfo) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise MediaError("file vanished while it was being indexed") from None
    if size != info.size_bytes:
        raise MediaError("file changed while it was being indexed; run `index add` again")
