"""One loaded model per key per process: what every `load_*` in models/ goes through."""
from __future__ import annotations

import threading

_lock = threading.Lock()
_loaded: dict[tuple, object] = {}


def once(key: tuple, build, keep: bool = True):
    """The model for `key`, built on first use; keep=False: the loaded one, else a private one freed after use."""
    if not keep:
        with _lock:
            model = _loaded.get(key)
        return model if model is not None else build()
    with _lock:
        if key not in _loaded:
            _loaded[key] = build()
        return _loaded[key]
