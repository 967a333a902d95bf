"""Vector search for one channel: a FAISS index derived from the catalog's embeddings.

The catalog (SQL) is the source of truth: every embedding lives there as float32 bytes keyed by an integer
row id. A `VectorIndex` is a cache built from those rows, one per channel (transcript MiniLM text vectors,
visual CLIP vectors...), kept up to date in place as videos come and go, saved under the data dir and
rebuilt from the catalog whenever it is missing, unreadable or out of date.

The modules, each one job:
* index.py: `VectorIndex`, the facade: checks input, serialises changes, decides when to re-train.
* structure.py: the FAISS structures (flat, IVF-SQ8, the fast-scan shortlist) and their rows.
* tuning.py: nprobe tuned to a recall target; whether the shortlist is kept.
* filtering.py: search restricted to allowed ids.
* files.py: saving and loading, with CRCs and a sidecar.
* gpu.py: the GPU copy for unfiltered searches.
"""
from .files import VectorIndexUnreadable
from .index import VectorIndex

__all__ = ["VectorIndex", "VectorIndexUnreadable"]
