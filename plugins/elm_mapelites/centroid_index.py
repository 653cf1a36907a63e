"""Exact nearest-centroid lookup in the unit cube, sped up by a coarse bucket grid.

Each bucket of a coarse grid over [0, 1]^d keeps the centroids that can be nearest to some
point inside it (those no farther from the bucket than the bucket's worst-case nearest
distance), so a point is compared with a few dozen centroids instead of all of them. The
answer is the same as a full scan (`nearest_centroid`), ties included: distances are
summed in the same order and candidates are kept in index order.
"""

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


MAX_BUCKETS = 4096
# Slack on the pruning bound, far above rounding error, so a borderline centroid is kept.
BOUND_SLACK = 1e-9


class CentroidIndex:
    """Nearest centroid of points in [0, 1]^d (lowest index on ties)."""

    def __init__(self, centroids: np.ndarray) -> None:
        self.centroids = np.ascontiguousarray(centroids, dtype=np.float64)
        k, d = self.centroids.shape
        per_dim = int(np.floor(MAX_BUCKETS ** (1.0 / d) + 1e-9))
        self._per_dim = per_dim
        self._table: np.ndarray | None = None
        if per_dim >= 2:
            table = self._candidate_table(per_dim)
            # Pruning that keeps more than a quarter of the centroids is not worth the gathers.
            if table.shape[1] * 4 <= k:
                self._table = table
        # Coordinates per dimension with an extra row at +inf that pads the candidate lists.
        padded = np.vstack([self.centroids, np.full((1, d), np.inf)])
        self._columns = [np.ascontiguousarray(padded[:, j]) for j in range(d)]
        self._strides = per_dim ** np.arange(d - 1, -1, -1, dtype=np.int64)

    @property
    def is_bucketed(self) -> bool:
        """Whether lookups use the bucket table (False: a full scan per point)."""
        return self._table is not None

    @property
    def candidates_per_bucket(self) -> int:
        """Centroids compared per point (all of them when bucketing does not pay)."""
        return self._table.shape[1] if self._table is not None else self.centroids.shape[0]

    def _candidate_table(self, per_dim: int) -> np.ndarray:
        k, d = self.centroids.shape
        edges = np.arange(per_dim + 1) / per_dim
        lo, hi = edges[:-1, None], edges[1:, None]  # (per_dim, 1) bucket bounds along one axis
        # Squared distances along one axis, (per_dim, k) per dimension: from a bucket's slab to a
        # centroid at the nearest point (gap) and at the farthest point (reach).
        gap = [np.maximum(np.maximum(lo - c, c - hi), 0.0) ** 2 for c in self.centroids.T]
        reach = [np.maximum(np.abs(c - lo), np.abs(c - hi)) ** 2 for c in self.centroids.T]
        masks = []
        for first in range(per_dim):  # one slab of buckets at a time bounds the memory
            near, far = gap[0][first][None, :], reach[0][first][None, :]
            for j in range(1, d):
                near = (near[:, None, :] + gap[j][None, :, :]).reshape(-1, k)
                far = (far[:, None, :] + reach[j][None, :, :]).reshape(-1, k)
            bound = far.min(axis=1, keepdims=True) * (1 + BOUND_SLACK) + BOUND_SLACK
            masks.append(near <= bound)
        mask = np.concatenate(masks)  # buckets in row-major order, as ``nearest`` numbers them
        counts = mask.sum(axis=1)
        table = np.full((mask.shape[0], int(counts.max())), k, dtype=np.int64)
        bucket, centroid = np.nonzero(mask)  # row-major: centroids ascending within a bucket
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        table[bucket, np.arange(bucket.size) - starts[bucket]] = centroid
        return table

    def nearest(self, points: np.ndarray) -> np.ndarray:
        """Index of the nearest centroid for each row of ``points`` (already in [0, 1]^d)."""
        if self._table is None:
            return nearest_centroid(points, self.centroids)
        n = points.shape[0]
        out = np.empty(n, dtype=np.int64)
        rows = max(1, CHUNK_ELEMENTS // self._table.shape[1])
        for start in range(0, n, rows):
            out[start:start + rows] = self._nearest_in_buckets(points[start:start + rows])
        return out

    def _nearest_in_buckets(self, points: np.ndarray) -> np.ndarray:
        n, d = points.shape
        cells = np.floor(points * self._per_dim)
        np.clip(cells, 0, self._per_dim - 1, out=cells)
        candidates = self._table[cells.astype(np.int64) @ self._strides]
        acc = self._columns[0][candidates]
        np.subtract(points[:, 0:1], acc, out=acc)
        np.multiply(acc, acc, out=acc)
        for j in range(1, d):
            tmp = self._columns[j][candidates]
            np.subtract(points[:, j:j + 1], tmp, out=tmp)
            np.multiply(tmp, tmp, out=tmp)
            np.add(acc, tmp, out=acc)
        return candidates[np.arange(n), np.argmin(acc, axis=1)]
