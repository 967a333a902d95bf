"""Clustered synthetic unit vectors, for the vector index's tests and benchmark (seeded: every run sees the same)."""
from __future__ import annotations

import math

import numpy as np


def clustered(n: int, dim: int, *, seed: int = 0, sample_seed: int = 1, clusters: int = 200,
              rank: int = 64, noise: float = 0.3, labels: bool = False):
    """Unit vectors in `clusters` Gaussian clusters of uneven size: a centre, a spread along a per-cluster
    64-d subspace with decaying variances, and isotropic noise; like sentence/CLIP embeddings, not uniform
    noise. `seed` fixes the clusters, `sample_seed` the points drawn from them (held-out queries: another).
    With `labels`, (vectors, each vector's cluster)."""
    g = np.random.default_rng(seed)
    centres = g.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    bases = (g.standard_normal((clusters, rank, dim)) / np.sqrt(dim)).astype(np.float32)
    scales = (0.35 * np.arange(1, rank + 1) ** -0.5).astype(np.float32)
    weights = g.pareto(1.5, clusters) + 0.2
    r = np.random.default_rng(sample_seed)
    lab = r.choice(clusters, size=n, p=weights / weights.sum())
    x = np.empty((n, dim), np.float32)
    for c in np.unique(lab):
        idx = np.flatnonzero(lab == c)
        z = r.standard_normal((len(idx), rank), dtype=np.float32) * scales
        spread = r.standard_normal((len(idx), dim), dtype=np.float32) * np.float32(noise / math.sqrt(dim))
        x[idx] = centres[c] + z @ bases[c] + spread
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return (x, lab) if labels else x
