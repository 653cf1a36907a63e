"""Nearest-centroid lookup and Lloyd's k-means in numpy, chunked so memory stays bounded."""

from __future__ import annotations

import numpy as np

CHUNK_ELEMENTS = 1 << 18
"""Distances held at once (points x centroids) per chunk: 2 MB of float64, about L2-sized."""


def nearest_centroid(points: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid (Euclidean; lowest index on ties) for each point.

    Distances are summed dimension by dimension from exact differences, so a point's
    answer does not depend on which other points share its batch or chunk.
    """
    n, d = points.shape
    k = centroids.shape[0]
    out = np.empty(n, dtype=np.int64)
    if n == 0:
        return out
    rows = max(1, CHUNK_ELEMENTS // k)
    columns = np.ascontiguousarray(centroids.T)
    dist = np.empty((min(rows, n), k))
    diff = np.empty_like(dist)
    for start in range(0, n, rows):
        chunk = points[start:start + rows]
        m = chunk.shape[0]
        acc, tmp = dist[:m], diff[:m]
        np.subtract(chunk[:, 0:1], columns[0], out=acc)
        np.multiply(acc, acc, out=acc)
        for j in range(1, d):
            np.subtract(chunk[:, j:j + 1], columns[j], out=tmp)
            np.multiply(tmp, tmp, out=tmp)
            np.add(acc, tmp, out=acc)
        np.argmin(acc, axis=1, out=out[start:start + m])
    return out


def _assign(points: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Nearest centroid through the |c|^2 - 2 x.c expansion: a BLAS product, fast for k-means."""
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
