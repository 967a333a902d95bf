"""Pick the compute device once per process: CUDA when present (and not overridden), else the CPU."""
from __future__ import annotations

import os
from functools import lru_cache


@lru_cache(maxsize=None)
def choose_device(preference: str = "auto") -> str:
    if preference not in ("auto", "cpu", "cuda"):
        raise ValueError(f"REELSCOPE_DEVICE must be auto, cpu or cuda, not {preference!r}")
    if preference == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if preference == "cuda":
        raise RuntimeError("REELSCOPE_DEVICE=cuda but torch sees no CUDA device")
    return "cpu"


def cpu_threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
