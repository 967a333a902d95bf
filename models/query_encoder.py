"""Query encoders: the text towers a search runs on each query, exported to ONNX and run by ONNX Runtime.

A search encodes one short text, and on a CPU PyTorch is a poor fit for that: its per-call overhead
is large next to a 10-token forward pass, and its OpenMP threads spin while they wait, so on a busy
machine (other requests, an indexer) they burn the cores they compete for. The same graph in ONNX
Runtime, with spinning off, costs a fraction of the CPU (bench/search_latency.py prints both).

Same weights, float32: every export is checked against PyTorch on a few texts when it is loaded,
and a graph that does not agree (cosine below MIN_AGREEMENT), cannot be exported or cannot be
loaded is not used: the PyTorch model encodes instead, and a warning says why. The ONNX files are
a cache under the models folder, named by the model version and EXPORT_FORMAT.
"""
from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np

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
        self._encode = model.encode if kind == "text" else model.encode_texts

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts))


class OnnxQueryEncoder:
    runtime = "onnxruntime"

    def __init__(self, path: Path, tokenize):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = cpu_threads()
        # waiting threads sleep instead of spinning: under load the cores go to work, not to waiting
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._tokenize = tokenize

    def encode(self, texts: list[str]) -> np.ndarray:
        feed = self._tokenize(list(texts))
        vectors = self._session.run(None, {name: feed[name] for name in self._inputs})[0]
        return np.ascontiguousarray(vectors, dtype=np.float32)


def query_encoder(model, kind: str, folder: Path, export: bool = True):
    """The fastest faithful encoder for single queries: `kind` is "text" (a TextEmbedder) or "clip"
    (a ClipModel's text tower). export=False uses an ONNX file only when one was made before (a
    one-shot command would spend longer exporting than encoding)."""
    if getattr(model, "device", "cpu") != "cpu":
        return TorchQueryEncoder(model, kind)
    key = (kind, model.version)
    with _lock:
        if key in _sessions:
            return _sessions[key]
        path = folder / "onnx" / f"{_slug(model.version)}.{kind}.v{EXPORT_FORMAT}.onnx"
        if not path.is_file() and not export:
            return TorchQueryEncoder(model, kind)
        try:
            encoder = _open_checked(model, kind, path)
        except Exception as exc:  # any failure leaves the PyTorch model, which is always right
            log.warning("query encoding for %s stays on PyTorch: %s", model.version, exc)
            return TorchQueryEncoder(model, kind)
        _sessions[key] = encoder
        return encoder


def _open_checked(model, kind: str, path: Path) -> OnnxQueryEncoder:
    tokenize = _text_tokenizer(model) if kind == "text" else _clip_tokenizer(model)
    for attempt in ("saved", "fresh"):
        if attempt == "fresh" or not path.is_file():
            _export(model, kind, path)
        try:
            encoder = OnnxQueryEncoder(path, tokenize)
            agreement = _agreement(encoder, TorchQueryEncoder(model, kind))
        except Exception as exc:  # a truncated or foreign file: export again
            if attempt == "fresh":
                raise
            log.warning("query encoder file %s is unreadable (%s); exporting it again", path, exc)
            continue
        if agreement >= MIN_AGREEMENT:
            return encoder
        if attempt == "fresh":
            raise ExportUnsupported(f"the exported graph disagrees with PyTorch (cosine {agreement:.6f})")
    raise AssertionError("unreachable")


def _agreement(a, b) -> float:
    va, vb = a.encode(list(PROBE_TEXTS)), b.encode(list(PROBE_TEXTS))
    return float(np.min(np.sum(va * vb, axis=1)))


def _slug(version: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", version)


# -- tokenizers: numpy feeds for the graphs --------------------------------------------------------

def _text_tokenizer(model):
    st = model._model
    tokenizer, max_length = st[0].tokenizer, st.max_seq_length

    def tokenize(texts):
        batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="np")
        return {name: np.asarray(value, np.int64) for name, value in batch.items()}
    return tokenize


def _clip_tokenizer(model):
    tokenizer = model._tokenizer

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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's notes on Python values it freezes; the check below decides
            torch.onnx.export(module.eval(), example, tmp, input_names=names, output_names=["vector"],
                              dynamic_axes={name: {0: "batch", 1: "tokens"} for name in names}
                              | {"vector": {0: "batch"}}, opset_version=17, dynamo=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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
