"""Sentence embeddings for transcript segments and queries (MiniLM by default)."""
from __future__ import annotations

import numpy as np


class TextEmbedder:
    def __init__(self, model_dir: str, device: str, name: str, version: str):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a bar per load clutters the indexer's own progress

        self.name = name
        self.version = version
        self._model = SentenceTransformer(model_dir, device=device)
        self.dim = int(self._model.get_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)
