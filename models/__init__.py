"""Model adapters. Each loader runs once per process and only when first asked (models are slow to load).

`models` imports nothing else from Reelscope: callers pass the names and folders they chose.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from .device import choose_device, cpu_threads
from .registry import get_spec
from .weights import (clip_weights_file, file_digest, package_version, speech_model_dir,
                      text_model_dir)

_lock = threading.Lock()
_loaded: dict[tuple, object] = {}


def _once(key: tuple, build):
    with _lock:
        if key not in _loaded:
            _loaded[key] = build()
        return _loaded[key]


def load_speech(name: str, models_dir: Path, device: str = "auto"):
    from .speech import SpeechModel

    spec = get_spec("speech", name)
    dev = choose_device(device)

    def build():
        folder = speech_model_dir(spec, models_dir)
        return SpeechModel(str(folder), dev, cpu_threads(), spec.name,
                           f"{spec.name}@{package_version(spec.params['parts'][0])}")

    return _once(("speech", name, str(models_dir), dev), build)


def load_text(name: str, device: str = "auto"):
    from .text import TextEmbedder

    spec = get_spec("text", name)
    dev = choose_device(device)
    return _once(("text", name, dev), lambda: TextEmbedder(str(text_model_dir(spec)), dev, spec.name,
                                                           f"{spec.name}@{package_version(spec.params['package'])}"))


@dataclass(frozen=True)
class ClipAvailability:
    enabled: bool
    name: str
    reason: str  # shown to people as is: in the CLI, the API's status and the UI
    test_only: bool = False


def clip_availability(name: str, models_dir: Path) -> ClipAvailability:
    try:
        spec = get_spec("clip", name)
    except KeyError as exc:
        return ClipAvailability(False, name, f"visual search off: {exc}")
    if spec.source == "test":
        return ClipAvailability(True, name, "visual channel uses a TEST-ONLY random model: visual results are meaningless",
                                test_only=True)
    if clip_weights_file(spec, models_dir) is None:
        return ClipAvailability(False, name, f"visual search off: no CLIP weights for {name}; run `reelscope models pull` "
                                             f"where the hub is reachable, or `reelscope models import FILE`")
    return ClipAvailability(True, name, f"visual search on ({name})")


def load_clip(name: str, models_dir: Path, device: str = "auto"):
    """The CLIP model, or None when its weights are absent (the visual channel is then off)."""
    from .clip import ClipModel

    spec = get_spec("clip", name)
    dev = choose_device(device)
    if spec.source == "test":
        return _once(("clip", name, dev), lambda: ClipModel(spec.params["arch"], None, dev, spec.name,
                                                           f"{spec.name}@seed{spec.params['seed']}", spec.params["seed"]))
    weights = clip_weights_file(spec, models_dir)
    if weights is None:
        return None
    return _once(("clip", name, str(weights), dev),
                 lambda: ClipModel(spec.params["arch"], str(weights), dev, spec.name,
                                   f"{spec.name}@{file_digest(weights)[:12]}"))


def load_query_encoder(model, kind: str, models_dir: Path, export: bool = True):
    """A fast encoder for single search queries with `model`'s text tower (see query_encoder.py)."""
    from .query_encoder import query_encoder as build

    return build(model, kind, models_dir, export)


def model_versions(speech: str, text: str, clip: str, models_dir: Path) -> dict[str, str]:
    """What each selected model would write beside its outputs now, without loading any of them."""
    versions = {
        "speech": f"{speech}@{package_version(get_spec('speech', speech).params['parts'][0])}",
        "text": f"{text}@{package_version(get_spec('text', text).params['package'])}",
    }
    spec = get_spec("clip", clip)
    if spec.source == "test":
        versions["clip"] = f"{spec.name}@seed{spec.params['seed']}"
    else:
        weights = clip_weights_file(spec, models_dir)
        if weights is not None:
            versions["clip"] = f"{spec.name}@{file_digest(weights)[:12]}"
    return versions
