"""A GPU copy of the CPU structure for unfiltered searches (``index_cpu_to_gpu``).

The CPU structure stays the one that is edited, saved and used for filtered searches; the copy is kept
in step by adds and made anew on the first search after any other change. It is only a cache: anything
that goes wrong with it sends searches back to the CPU.
"""
from __future__ import annotations

import logging
import threading

import faiss
import numpy as np

from .structure import Structure, float32

log = logging.getLogger(__name__)

GPU_MAX_K = 2048             # FAISS GPU k-selection limit; larger k searches on the CPU


def gpus_available() -> int:
    return faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0


class GpuCopy:
    def __init__(self):
        self.failed = False
        self._lock = threading.Lock()
        self._resources = None
        self._index = None                    # copy of the current structure's index, or None when stale

    def search(self, s: Structure, q: np.ndarray, k: int):
        """(D, I) from the copy of `s`, made first if stale; None when k is too large or no copy can be made."""
        if k > GPU_MAX_K:
            return None
        with self._lock:
            if self._index is None and not self._copy(s):
                return None
            return self._index.search(q, k)

    def add(self, ids: np.ndarray, x: np.ndarray) -> None:
        """Rows just added to the current structure (the caller holds its write lock)."""
        if self._index is None:
            return
        try:
            with self._lock:
                self._index.add_with_ids(float32(x), ids)
        except Exception:  # noqa: BLE001 -- the copy is only a cache: re-copy on the next search
            self.drop()

    def drop(self) -> None:
        self._index = None

    def _copy(self, s: Structure) -> bool:
        if self.failed:
            return False
        try:
            if self._resources is None:
                self._resources = faiss.StandardGpuResources()
            gpu = faiss.index_cpu_to_gpu(self._resources, 0, s.index)
            if s.is_ivf:
                faiss.GpuParameterSpace().set_index_parameter(gpu, "nprobe", s.nprobe)
        except Exception as exc:  # noqa: BLE001 -- fall back to the CPU, loudly, once
            log.warning("vector index: GPU copy failed (%s); searching on the CPU", exc)
            self.failed = True
            return False
        self._index = gpu
        return True
