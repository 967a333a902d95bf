"""An index on disk: the FAISS file, its shortlist file, and a JSON sidecar that vouches for both.

`write` writes each file atomically (temp file, fsync, os.replace), the sidecar last, and records each
file's length and CRC-32 in it; a crash between the replacements leaves files that `read` refuses (CRC
mismatch), never a wrong index. `read` raises `VectorIndexUnreadable` for anything it cannot trust.
"""
from __future__ import annotations

import json
import os
import time
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

import faiss

from .structure import Structure, loaded_structure, shortlist_kind

FORMAT = "reelscope-vector-index"
FORMAT_VERSION = 1


class VectorIndexUnreadable(Exception):
    """A saved index cannot be used: missing, truncated, corrupt, or its sidecar does not match it."""


@dataclass(frozen=True)
class Settings:
    """What the index was made with, saved beside it so a loaded index goes on the same way."""

    exact_limit: int = 100_000
    target_recall: float = 0.95


def sidecar_of(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def shortlist_of(path: Path) -> Path:
    return path.with_name(path.name + ".shortlist")


def write(path: Path, s: Structure, settings: Settings, meta: dict) -> None:
    """Write `s` to `path` (its shortlist, if any, to `path + ".shortlist"`) and the sidecar to
    `path + ".json"` (meta, kind, size, dim, tuning, each file's length and CRC-32)."""
    path = Path(path)
    sidecar, shortlist_path = sidecar_of(path), shortlist_of(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    json.dumps(meta)                                      # not JSON-able: fail before writing anything
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = path.with_name(f".{path.name}.{tag}.tmp")
    tmp_side = path.with_name(f".{sidecar.name}.{tag}.tmp")
    tmp_short = path.with_name(f".{shortlist_path.name}.{tag}.tmp")
    try:
        crc, nbytes = _written_index(s.index, tmp)
        side = {"format": FORMAT, "format_version": FORMAT_VERSION, "dim": int(s.index.d), "size": len(s.ids),
                "kind": s.kind, "nlist": s.nlist, "nprobe": s.nprobe, "recall_at_10": s.recall,
                "trained_size": s.trained_size, "exact_limit": settings.exact_limit,
                "target_recall": settings.target_recall, "file_bytes": nbytes, "crc32": crc,
                "faiss_version": faiss.__version__, "saved_at": time.time(), "meta": meta}
        if s.shortlist is not None:
            short_crc, short_bytes = _written_index(s.shortlist, tmp_short)
            side["shortlist"] = {"kind": s.shortlist_kind, "nprobe": s.shortlist_nprobe,
                                 "file_bytes": short_bytes, "crc32": short_crc}
        with open(tmp_side, "w", encoding="utf-8") as f:
            json.dump(side, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        if s.shortlist is not None:
            os.replace(tmp_short, shortlist_path)
        os.replace(tmp_side, sidecar)
        if s.shortlist is None:
            shortlist_path.unlink(missing_ok=True)
        _fsync_dir(path.parent)
    finally:
        for t in (tmp, tmp_side, tmp_short):
            t.unlink(missing_ok=True)


def read(path: Path) -> tuple[Structure, Settings, dict]:
    """(structure, settings, meta) of an index written by `write`. Raises VectorIndexUnreadable when the file
    or its sidecar is missing, the file is truncated or corrupt, or they do not match (dim, size, kind, CRC)."""
    path = Path(path)
    sidecar = sidecar_of(path)

    def bad(why: str) -> VectorIndexUnreadable:
        return VectorIndexUnreadable(f"vector index {path}: {why}; rebuild it from the catalog")

    if not path.is_file():
        raise bad("index file is missing")
    if not sidecar.is_file():
        raise bad(f"sidecar {sidecar.name} is missing")
    try:
        side = json.loads(sidecar.read_text(encoding="utf-8"))
        if side.get("format") != FORMAT:
            raise ValueError("not a reelscope vector index sidecar")
        if side.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"format version {side.get('format_version')}, this code reads {FORMAT_VERSION}")
        dim, size, kind = int(side["dim"]), int(side["size"]), str(side["kind"])
        nbytes, crc = int(side["file_bytes"]), int(side["crc32"])
        meta = side["meta"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise bad(f"sidecar {sidecar.name} is unreadable ({exc})") from exc
    actual_crc, actual_bytes = _file_crc(path)
    if actual_bytes != nbytes:
        raise bad(f"file is {actual_bytes} bytes, the sidecar says {nbytes} (truncated or replaced)")
    if actual_crc != crc:
        raise bad("file content does not match the sidecar's CRC-32 (corrupt or replaced)")
    try:
        index = faiss.read_index(str(path))
    except (RuntimeError, MemoryError, ValueError) as exc:
        why = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise bad(f"faiss cannot read it ({why})") from exc
    if index.d != dim:
        raise bad(f"index dimension {index.d}, the sidecar says {dim}")
    if index.ntotal != size:
        raise bad(f"index holds {index.ntotal} vectors, the sidecar says {size}")
    if index.metric_type != faiss.METRIC_INNER_PRODUCT:
        raise bad("index metric is not inner product")
    try:
        settings = Settings(int(side.get("exact_limit", Settings.exact_limit)),
                            float(side.get("target_recall", Settings.target_recall)))
        nprobe = None if side.get("nprobe") is None else int(side["nprobe"])
        recall = side.get("recall_at_10")
        s = loaded_structure(index, kind, nprobe, int(side.get("trained_size") or 0),
                             None if recall is None else float(recall))
    except (KeyError, TypeError, ValueError) as exc:
        raise bad(f"sidecar {sidecar.name} does not describe the file ({exc})") from exc
    if side.get("shortlist"):
        s.shortlist, s.shortlist_nprobe = _read_shortlist(shortlist_of(path), side["shortlist"], index, bad)
    return s, settings, meta


def _read_shortlist(path: Path, side: dict, ivf: faiss.IndexIVF, bad) -> tuple[faiss.IndexIVFPQFastScan, int]:
    """The shortlist file a sidecar describes, checked against it and against the main IVF index."""
    try:
        nbytes, crc, nprobe = int(side["file_bytes"]), int(side["crc32"]), int(side["nprobe"])
    except (KeyError, TypeError, ValueError) as exc:
        raise bad(f"its shortlist entry is unreadable ({exc!r})") from exc
    if not path.is_file():
        raise bad(f"shortlist file {path.name} is missing")
    if _file_crc(path) != (crc, nbytes):
        raise bad(f"shortlist file {path.name} does not match the sidecar's length and CRC-32")
    try:
        shortlist = faiss.read_index(str(path))
    except (RuntimeError, MemoryError, ValueError) as exc:
        raise bad(f"faiss cannot read its shortlist ({type(exc).__name__})") from exc
    if not isinstance(shortlist, faiss.IndexIVFPQFastScan) or (shortlist.d, shortlist.nlist) != (ivf.d, ivf.nlist) \
            or shortlist.ntotal < ivf.ntotal or shortlist_kind(shortlist) != side.get("kind"):
        raise bad("its shortlist does not match the index")
    if not 1 <= nprobe <= shortlist.nlist:
        raise bad(f"shortlist nprobe {nprobe} out of range")
    return shortlist, nprobe


def _written_index(index: faiss.Index, tmp: Path) -> tuple[int, int]:
    """write_index + fsync; (CRC-32, bytes) of what was written."""
    faiss.write_index(index, str(tmp))
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    return _file_crc(tmp)


def _file_crc(path: Path) -> tuple[int, int]:
    crc, size = 0, 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return crc, size


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
