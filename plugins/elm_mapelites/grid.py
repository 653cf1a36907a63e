"""MAP-Elites over a regular grid: each dimension's [low, high] is cut into equal bins and a
niche is one cell of the grid, numbered in row-major (C) order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import numpy as np
from pydantic import Field

from elm_mapelites.archive import ArchiveConfig, NicheArchive
from elm_mapelites.space import resolve_dimensions
from elmcore import PluginConfig
from elmcore import ConfigError
from elmcore import Dimension

MAX_NICHES = 50_000_000
"""Largest grid an archive allocates (about 2 GB of arrays); more is almost surely a typo."""

PositiveInt = Annotated[int, Field(ge=1)]


class GridConfig(ArchiveConfig):
    bins: PositiveInt | list[PositiveInt] | None = None
    """Bins per dimension: one int for all, one int per dimension, or None for the domain's."""


class MapElites(NicheArchive):
    """MAP-Elites with a grid archive over any number of behaviour dimensions."""

    name = "map-elites"
    default = True
    description = "MAP-Elites: one elite per cell of a regular grid over the behaviour space"
    Config = GridConfig
    config: GridConfig

    def __init__(self, config: PluginConfig | Mapping[str, Any] | None, space: Sequence[Dimension],
                 seed: int = 0) -> None:
        super().__init__(config, space, seed)
        self._dims = resolve_dimensions(space, self.name, self.config.ranges, self.config.bins)
        self._shape = tuple(dim.bins for dim in self._dims)
        total = 1
        for b in self._shape:
            total *= b
        if total > MAX_NICHES:
            grid = " x ".join(map(str, self._shape))
            raise ConfigError(f"{self.name}: a grid of {grid} = {total:,} niches is larger than "
                              f"{MAX_NICHES:,}; use fewer bins")
        self._num_niches = total
        self._allocate()
        self._bins = np.array(self._shape, dtype=np.float64)
        self._scale = self._bins / (self._highs - self._lows)
        self._top_bin = self._bins - 1
        self._strides = np.array([int(np.prod(self._shape[i + 1:], dtype=np.int64)) for i in range(len(self._shape))],
                                 dtype=np.int64)

    @property
    def num_niches(self) -> int:
        return self._num_niches

    @property
    def shape(self) -> tuple[int, ...]:
        """Bins per dimension."""
        return self._shape

    def _map_to_niches(self, descriptors: np.ndarray) -> np.ndarray:
        cells = (descriptors - self._lows) * self._scale
        np.floor(cells, out=cells)
        # Out-of-range values (infinities included) land in the edge bins.
        np.clip(cells, 0.0, self._top_bin, out=cells)
        return cells.astype(np.int64) @ self._strides

    def cell_of(self, niche: int) -> tuple[int, ...]:
        """Per-dimension bin indices of a flat niche index."""
        if not 0 <= niche < self._num_niches:
            raise IndexError(f"{self.name}: niche {niche} out of range [0, {self._num_niches})")
        return tuple(int(i) for i in np.unravel_index(niche, self._shape))

    def niche_of_cell(self, cell: Sequence[int]) -> int:
        """Flat niche index of per-dimension bin indices."""
        if len(cell) != len(self._shape) or not all(0 <= c < b for c, b in zip(cell, self._shape)):
            raise IndexError(f"{self.name}: cell {tuple(cell)} is outside the grid {self._shape}")
        return int(np.ravel_multi_index(tuple(cell), self._shape))

    def centres(self) -> np.ndarray:
        """Each cell's centre in descriptor units, in niche order."""
        if getattr(self, "_centres", None) is None:
            cells = np.indices(self._shape).reshape(len(self._shape), -1).T.astype(np.float64)
            self._centres = self._lows + (cells + 0.5) / self._scale
        return self._centres

    def cell_bounds(self, niche: int) -> list[tuple[float, float]]:
        """[low, high) of the niche's cell in each dimension."""
        return [(dim.low + i * (dim.high - dim.low) / dim.bins, dim.low + (i + 1) * (dim.high - dim.low) / dim.bins)
                for dim, i in zip(self._dims, self.cell_of(niche))]
