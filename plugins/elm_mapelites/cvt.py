"""CVT-MAP-Elites: niches are the Voronoi cells of k-means centroids spread evenly over the
behaviour box, so the niche count is fixed whatever the number of dimensions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from elm_mapelites.archive import ArchiveConfig, NicheArchive
from elm_mapelites.centroids import default_cache_dir, load_or_build_centroids
from elm_mapelites.centroid_index import CentroidIndex
from elm_mapelites.space import resolve_dimensions
from elmcore import PluginConfig
from elmcore import ConfigError
from elmcore import Dimension

MIN_SAMPLES = 100_000
SAMPLES_PER_CENTROID = 25


class CVTConfig(ArchiveConfig):
    centroids: int = Field(1728, ge=1, le=1_000_000)
    """Number of niches; 1728 = 12^3, the niche count of the paper's Sodarace grid."""
    samples: int | None = Field(None, ge=1)
    """Uniform samples of the behaviour box for k-means; None: max(100,000, 25 x centroids)."""
    kmeans_iters: int = Field(30, ge=1)
    """Lloyd iterations at most (it stops earlier once no sample changes centroid)."""
    cache_dir: str | None = None
    """Where centroids are cached; None: $ELM_CACHE_DIR/cvt, else ~/.cache/elm/cvt."""
    centroid_seed: int | None = Field(None, ge=0)
    """Seed of the centroids; None: the run's seed. Fix it to compare runs on one tessellation."""

    @model_validator(mode="after")
    def _enough_samples(self) -> "CVTConfig":
        if self.samples is not None and self.samples < self.centroids:
            raise ValueError(f"samples ({self.samples}) must be at least centroids ({self.centroids})")
        return self

    def resolved_samples(self) -> int:
        return self.samples if self.samples is not None else max(MIN_SAMPLES, SAMPLES_PER_CENTROID * self.centroids)


class CVTMapElites(NicheArchive):
    """CVT-MAP-Elites (Vassiliades et al. 2018) with the same insert, selection and stats as
    the grid archive; descriptors are clipped into the box, scaled to [0, 1] per dimension
    and go to the nearest centroid."""

    name = "cvt-map-elites"
    description = "CVT-MAP-Elites: one elite per Voronoi cell of k-means centroids over the behaviour space"
    Config = CVTConfig
    config: CVTConfig

    def __init__(self, config: PluginConfig | Mapping[str, Any] | None, space: Sequence[Dimension],
                 seed: int = 0) -> None:
        super().__init__(config, space, seed)
        self._dims = resolve_dimensions(space, self.name, self.config.ranges)
        centroid_seed = self.config.centroid_seed if self.config.centroid_seed is not None else seed
        if centroid_seed < 0:
            raise ConfigError(f"{self.name}: the seed for the centroids must be >= 0, got {centroid_seed}; "
                              f"set centroid_seed in the config")
        cache_dir = Path(self.config.cache_dir) if self.config.cache_dir is not None else default_cache_dir()
        self._unit_centroids, self.cache_file = load_or_build_centroids(
            len(self._dims), self.config.centroids, self.config.resolved_samples(), centroid_seed,
            self.config.kmeans_iters, cache_dir)
        self._index = CentroidIndex(self._unit_centroids)
        self._allocate()
        self._spans = self._highs - self._lows

    @property
    def num_niches(self) -> int:
        return self.config.centroids

    def centres(self) -> np.ndarray:
        return self.centroids

    @property
    def centroids(self) -> np.ndarray:
        """Centroids in descriptor units, shape (niches, dimensions)."""
        return self._lows + self._unit_centroids * self._spans

    def _map_to_niches(self, descriptors: np.ndarray) -> np.ndarray:
        # Clipping first sends out-of-range values (infinities included) to the niche of the
        # nearest point of the box.
        unit = np.clip(descriptors, self._lows, self._highs)
        unit -= self._lows
        unit /= self._spans
        return self._index.nearest(unit)
