"""CVT centroids in the unit cube: built by k-means over uniform samples, cached on disk.

Centroids live in [0, 1]^d (each dimension scaled by its range), so they depend only on
the number of dimensions, the number of centroids and samples, the seed and the k-means
iterations, and one cached file serves every range of a space of that many dimensions.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from elm_mapelites.kmeans import kmeans

CACHE_ENV = "ELM_CACHE_DIR"
FORMAT_VERSION = 1


def default_cache_dir() -> Path:
    """``$ELM_CACHE_DIR/cvt`` when set, else ``~/.cache/elm/cvt``."""
    root = os.environ.get(CACHE_ENV)
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "elm"
    return base / "cvt"


def cache_file_name(dims: int, centroids: int, samples: int, seed: int, iterations: int) -> str:
    return f"cvt-v{FORMAT_VERSION}-d{dims}-k{centroids}-n{samples}-seed{seed}-it{iterations}.npy"


def build_centroids(dims: int, centroids: int, samples: int, seed: int, iterations: int) -> np.ndarray:
    """k-means centroids of ``samples`` uniform points in [0, 1]^dims; the same arguments give
    the same centroids."""
    rng = np.random.default_rng([FORMAT_VERSION, seed])
    points = rng.random((samples, dims))
    return kmeans(points, centroids, iterations, rng)


def load_or_build_centroids(dims: int, centroids: int, samples: int, seed: int, iterations: int,
                            cache_dir: Path | None) -> tuple[np.ndarray, Path | None]:
    """Centroids from the cache when a valid file is there, else built and written to it.

    Returns the centroids and the cache file used (None without a cache). An unwritable
    cache only costs the rebuild next time, so it is a warning, not an error.
    """
    if cache_dir is None:
        return build_centroids(dims, centroids, samples, seed, iterations), None
    path = Path(cache_dir).expanduser() / cache_file_name(dims, centroids, samples, seed, iterations)
    if path.is_file():
        try:
            cached = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            cached = None
        if (cached is not None and cached.shape == (centroids, dims) and cached.dtype == np.float64
                and np.isfinite(cached).all()):
            return cached, path
    result = build_centroids(dims, centroids, samples, seed, iterations)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a run reading the cache never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.save(handle, result, allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        warnings.warn(f"cvt-map-elites: could not cache centroids in {path.parent} ({exc}); "
                      f"they will be rebuilt next time. Set cache_dir or {CACHE_ENV} to a writable folder.",
                      stacklevel=3)
        return result, None
    return result, path
