"""The direction of multilingual-e5's space that says which language a sentence is in, projected out
of every e5 vector so that a query finds what answers it in either language.

e5 prefers the query's own language: in a library holding Chinese, a Chinese query scores unrelated
Chinese sentences above the English sentence that answers it (bench/RESULTS.md, "Multilingual
search": zh->en MRR@10 0.25 on written sentences, 0.14 on the indexed library). The means of e5's
passage vectors of English and of Chinese sentences differ mostly along one direction; removing it
(v - (v.a)a, then unit length again) left zh->en at 0.87 and en->zh at 1.0 on those written
sentences, at a cost of 0.04 on English paraphrases (centring each language on its own mean did
better across languages and worse in English). The sentences it is made from are the emotion
training sentences (models/data/emotion_train*.tsv), which no search benchmark reads.

    .venv/bin/python -m models.language_axis     # rewrites models/data/e5_language_axis.npy
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data"
AXIS_FILE = DATA / "e5_language_axis.npy"
SOURCES = {"en": DATA / "emotion_train.tsv", "zh": DATA / "emotion_train_zh.tsv"}


def project_out(vectors: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Unit vectors with no component along `axis` (a unit vector)."""
    flat = vectors - np.outer(vectors @ axis, axis)
    norms = np.linalg.norm(flat, axis=1, keepdims=True)
    return (flat / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def sentences(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as f:
        return [row["text"] for row in csv.DictReader(f, delimiter="\t")]


def make_axis(encode_passages) -> np.ndarray:
    means = {lang: np.asarray(encode_passages(sentences(path)), np.float64).mean(axis=0)
             for lang, path in SOURCES.items()}
    axis = means["zh"] - means["en"]
    return (axis / np.linalg.norm(axis)).astype(np.float32)


def main() -> None:
    from models.text import E5Embedder

    raw = E5Embedder("multilingual-e5-small-q4", "raw", axis=None)
    axis = make_axis(raw.encode)
    np.save(AXIS_FILE, axis)
    print(f"wrote {AXIS_FILE} ({axis.shape[0]} dims) from {', '.join(f'{k}: {p.name}' for k, p in SOURCES.items())}")


if __name__ == "__main__":
    main()
