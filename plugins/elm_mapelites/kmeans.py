"""Lloyd's k-means in numpy, used to place the CVT centroids."""

from __future__ import annotations

import numpy as np

from elm_mapelites.centroid_index import CHUNK_ELEMENTS, CentroidIndex


def _assign(points: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Nearest centroid of each point: bucketed where that prunes well (few dimensions), else
    through the |c|^2 - 2 x.c expansion, a BLAS product."""
    index = CentroidIndex(centroids)
    if index.is_bucketed:
        return index.nearest(points)
    n, k = points.shape[0], centroids.shape[0]
    rows = max(1, (CHUNK_ELEMENTS * 8) // k)
    half_norms = 0.5 * np.einsum("ij,ij->i", centroids, centroids)
    out = np.empty(n, dtype=np.int64)
    for start in range(0, n, rows):
        scores = points[start:start + rows] @ centroids.T
        np.subtract(half_norms, scores, out=scores)
        np.argmin(scores, axis=1, out=out[start:start + rows])
    return out


def kmeans(points: np.ndarray, k: int, iterations: int, rng: np.random.Generator) -> np.ndarray:
    """Lloyd's algorithm from ``k`` distinct random points; stops early once no point moves.

    A centroid that loses all its points is moved onto the point farthest from its own
    centroid, so every one of the ``k`` centroids ends up in use.
    """
    n, d = points.shape
    if not 1 <= k <= n:
        raise ValueError(f"k-means needs 1 <= k <= number of points, got k={k} with {n} points")
    centroids = points[rng.choice(n, size=k, replace=False)].copy()
    labels = np.full(n, -1, dtype=np.int64)
    for _ in range(iterations):
        new_labels = _assign(points, centroids)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        counts = np.bincount(labels, minlength=k)
        sums = np.stack([np.bincount(labels, weights=points[:, j], minlength=k) for j in range(d)], axis=1)
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled, None]
        empty = np.flatnonzero(~filled)
        if empty.size:
            error = np.einsum("ij,ij->i", points - centroids[labels], points - centroids[labels])
            far = np.argsort(-error, kind="stable")[:empty.size]
            centroids[empty] = points[far]
    return centroids
