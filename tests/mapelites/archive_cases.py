"""Archives the map-elites tests run against: the grid and a small CVT (cached in a temp dir)."""

from __future__ import annotations

from pathlib import Path

from elm_mapelites import CVTMapElites, MapElites
from elmcore.types import Dimension

SPACE = [Dimension("x", 0.0, 1.0, 4), Dimension("y", 0.0, 1.0, 4)]


def make_archive(kind: str, cache_dir: Path, **config: object) -> MapElites | CVTMapElites:
    if kind == "grid":
        return MapElites(config, SPACE, seed=0)
    return CVTMapElites({"centroids": 16, "samples": 2000, "kmeans_iters": 10, "cache_dir": str(cache_dir),
                         **config}, SPACE, seed=0)
