"""The archive logic MAP-Elites and CVT-MAP-Elites share: batch insert, uniform selection,
incremental statistics and the stored elites.

A subclass only says how many niches there are and how descriptors map to niche indices;
everything else lives here once. Elites are kept as program text and numbers (numpy arrays
for fitness, occupancy, descriptors and candidate ids, a list for the program text), never
as live objects, so an archive is cheap to rebuild by re-inserting a run's candidates.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import field_validator

from elmcore import PluginConfig, QDAlgorithm
from elmcore import ArchiveStats, Dimension, Elite, InsertResult, InsertStatus

NEIGHBOURS = 6
"""A target for a parent is drawn from the empty niches among its nearest NEIGHBOURS niches
(the weakest of them when all are filled)."""

# Insert status codes used inside the vectorised insert; index into _STATUSES.
_NEW, _IMPROVED, _NOT_ADDED = 0, 1, 2
_STATUSES = (InsertStatus.NEW, InsertStatus.IMPROVED, InsertStatus.NOT_ADDED)


class ArchiveConfig(PluginConfig):
    """Settings every niche archive takes."""

    ranges: list[tuple[float, float]] | None = None
    """One [low, high] per dimension, replacing the domain's ranges; None keeps them."""
    qd_score_offset: float = 0.0
    """QD score = sum over filled niches of (fitness - offset); set it below the lowest
    fitness the domain can give so that filling a niche never lowers the score."""

    @field_validator("ranges")
    @classmethod
    def _ranges_ordered(cls, ranges: list[tuple[float, float]] | None) -> list[tuple[float, float]] | None:
        for i, (low, high) in enumerate(ranges or ()):
            if not (math.isfinite(low) and math.isfinite(high)):
                raise ValueError(f"ranges[{i}] = [{low}, {high}] must be finite numbers")
            if not high > low:
                raise ValueError(f"ranges[{i}]: high ({high}) must exceed low ({low})")
        return ranges

    @field_validator("qd_score_offset")
    @classmethod
    def _offset_finite(cls, offset: float) -> float:
        if not math.isfinite(offset):
            raise ValueError(f"qd_score_offset must be a finite number, got {offset}")
        return offset


class NicheArchive(QDAlgorithm):
    """A QD archive of one elite per niche over a fixed set of niches.

    Subclasses set ``self._dims`` and implement ``num_niches`` and ``niches_of`` before
    calling ``_allocate()``.
    """

    Config = ArchiveConfig
    config: ArchiveConfig

    def __init__(self, config: PluginConfig | Mapping[str, Any] | None, space: Sequence[Dimension],
                 seed: int = 0) -> None:
        if isinstance(config, Mapping):
            config = self.Config.model_validate(dict(config))
        elif config is not None and not isinstance(config, self.Config):
            raise TypeError(f"{self.name}: config must be a {self.Config.__name__}, a mapping or None, "
                            f"got {type(config).__name__}")
        super().__init__(config, space, seed)
        self._dims: list[Dimension] = list(space)

    # -- the mapping a subclass provides -------------------------------------------
    @property
    @abstractmethod
    def num_niches(self) -> int: ...

    @abstractmethod
    def _map_to_niches(self, descriptors: np.ndarray) -> np.ndarray:
        """Flat niche indices (int64, shape (n,)) of checked, finite-or-infinite (n, d) descriptors."""

    # -- storage ---------------------------------------------------------------------
    def _allocate(self) -> None:
        k, d = self.num_niches, len(self._dims)
        self._occupied = np.zeros(k, dtype=bool)
        self._fitness = np.full(k, -np.inf)
        self._descriptors = np.zeros((k, d))
        self._candidate_ids = np.full(k, -1, dtype=np.int64)
        self._programs: list[str | None] = [None] * k
        self._elite_cache: list[Elite | None] = [None] * k
        self._result_cache: dict[int, InsertResult] = {}
        # Occupied niches in the order they were first filled: uniform selection draws from here.
        self._filled_order = np.empty(k, dtype=np.int64)
        self._filled = 0
        self._fitness_sum = 0.0
        self._max_fitness = -math.inf
        self._lows = np.array([dim.low for dim in self._dims])
        self._highs = np.array([dim.high for dim in self._dims])

    @property
    def dimensions(self) -> list[Dimension]:
        return list(self._dims)

    # -- descriptors -> niches ----------------------------------------------------------
    def _checked_descriptors(self, descriptors: Any, ids: Sequence[int] | None = None) -> np.ndarray:
        d = len(self._dims)
        try:
            array = np.asarray(descriptors, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{self.name}: descriptors must be numbers, {d} per candidate ({exc})") from None
        if array.ndim != 2 or array.shape[1] != d:
            raise ValueError(f"{self.name}: descriptors must have {d} values per candidate "
                             f"({', '.join(x.name for x in self._dims)}), got shape {array.shape}")
        nan_rows, nan_cols = np.nonzero(np.isnan(array))
        if nan_rows.size:
            row, col = int(nan_rows[0]), int(nan_cols[0])
            who = f"candidate id {ids[row]}" if ids is not None else f"row {row}"
            raise ValueError(f"{self.name}: descriptor {self._dims[col].name!r} of {who} is NaN; "
                             f"only evaluations with numeric descriptors can enter the archive")
        return array

    def niches_of(self, descriptors: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
        """Flat niche indices of many descriptors at once; NaN is a ``ValueError``."""
        return self._map_to_niches(self._checked_descriptors(descriptors))

    def niche_of(self, descriptors: Sequence[float]) -> int:
        return int(self.niches_of([descriptors])[0])

    # -- insert ----------------------------------------------------------------------
    def insert(self, ids: Sequence[int], programs: Sequence[str], fitness: Sequence[float],
               descriptors: Sequence[Sequence[float]]) -> list[InsertResult]:
        """Offer a batch; statuses are judged against the archive before the batch, and per
        niche the fittest candidate wins (earlier in the batch on ties; a tie with the
        current elite keeps the elite). Checks the whole batch before changing anything."""
        n = len(ids)
        if not (len(programs) == len(fitness) == len(descriptors) == n):
            raise ValueError(f"{self.name}: insert needs as many programs, fitness values and descriptors "
                             f"as ids; got {n} ids, {len(programs)} programs, {len(fitness)} fitness, "
                             f"{len(descriptors)} descriptors")
        if n == 0:
            return []
        try:
            id_array = np.asarray(ids, dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{self.name}: candidate ids must be integers, got {list(ids)[:5]!r}...") from None
        fit = np.asarray(fitness, dtype=np.float64)
        if fit.shape != (n,):
            raise ValueError(f"{self.name}: fitness must be one number per candidate, got shape {fit.shape}")
        bad = np.flatnonzero(~np.isfinite(fit))
        if bad.size:
            raise ValueError(f"{self.name}: fitness of candidate id {ids[int(bad[0])]} is {fit[bad[0]]}; "
                             f"only finite fitness can enter the archive")
        for i, program in enumerate(programs):
            if not isinstance(program, str):
                raise ValueError(f"{self.name}: program of candidate id {ids[i]} must be source text (str), "
                                 f"got {type(program).__name__}")
        desc = self._checked_descriptors(descriptors, ids)
        niches = self._map_to_niches(desc)

        was_filled = self._occupied[niches]
        old_fit = self._fitness[niches]
        status = np.where(was_filled, np.where(fit > old_fit, _IMPROVED, _NOT_ADDED), _NEW)

        # Best candidate per niche: sort by niche, then by descending fitness; lexsort is
        # stable, so among equal fitness the earlier candidate comes first.
        order = np.lexsort((-fit, niches))
        sorted_niches = niches[order]
        first_of_niche = np.empty(n, dtype=bool)
        first_of_niche[0] = True
        np.not_equal(sorted_niches[1:], sorted_niches[:-1], out=first_of_niche[1:])
        winners = order[first_of_niche]
        winners = winners[status[winners] != _NOT_ADDED]
        winners.sort()  # batch order, so the fill order (and selection) is deterministic

        added = np.zeros(n, dtype=bool)
        added[winners] = True
        if winners.size:
            self._store(winners, niches[winners], was_filled[winners], old_fit[winners],
                        fit, desc, id_array, programs)

        return self._results(niches * 6 + status * 2 + added)

    def _results(self, codes: np.ndarray) -> list[InsertResult]:
        """InsertResults for codes niche * 6 + status * 2 + added. Results are immutable, so
        one instance per code is made once and shared: building them dominated insert time."""
        cache = self._result_cache
        results = list(map(cache.get, codes.tolist()))
        for i, result in enumerate(results):
            if result is None:
                niche, rest = divmod(int(codes[i]), 6)
                result = cache[int(codes[i])] = InsertResult(_STATUSES[rest // 2], niche, bool(rest % 2))
                results[i] = result
        return results

    def _store(self, winners: np.ndarray, cells: np.ndarray, replaced: np.ndarray, replaced_fit: np.ndarray,
               fit: np.ndarray, desc: np.ndarray, ids: np.ndarray, programs: Sequence[str]) -> None:
        new_cells = cells[~replaced]
        self._filled_order[self._filled:self._filled + new_cells.size] = new_cells
        self._filled += int(new_cells.size)
        win_fit = fit[winners]
        self._fitness_sum += float(win_fit.sum() - replaced_fit[replaced].sum())
        self._max_fitness = max(self._max_fitness, float(win_fit.max()))
        self._occupied[cells] = True
        self._fitness[cells] = win_fit
        self._descriptors[cells] = desc[winners]
        self._candidate_ids[cells] = ids[winners]
        for i, cell in zip(winners.tolist(), cells.tolist()):
            self._programs[cell] = programs[i]
            self._elite_cache[cell] = None

    # -- reading ---------------------------------------------------------------------
    def _elites_at(self, cells: np.ndarray) -> list[Elite]:
        # Elite objects are immutable: each is built once and reused until its niche changes.
        cache = self._elite_cache
        chosen = cells.tolist()
        elites = [cache[cell] for cell in chosen]
        for i, elite in enumerate(elites):
            if elite is None:
                cell = chosen[i]
                elite = cache[cell] = Elite(candidate_id=int(self._candidate_ids[cell]), program=self._programs[cell],
                                            fitness=float(self._fitness[cell]),
                                            descriptors=tuple(self._descriptors[cell].tolist()), niche=cell)
                elites[i] = elite
        return elites

    def select(self, n: int, rng: np.random.Generator) -> list[Elite]:
        """``n`` elites drawn uniformly, with replacement, from the occupied niches."""
        if n < 0:
            raise ValueError(f"{self.name}: cannot select a negative number of parents ({n})")
        if self._filled == 0 or n == 0:
            return []
        picks = rng.integers(0, self._filled, size=n)
        return self._elites_at(self._filled_order[picks])

    def centres(self) -> np.ndarray:
        """Each niche's centre in descriptor units, shape (niches, dimensions)."""
        raise NotImplementedError(f"{self.name} does not say where its niches are")

    def target(self, parent: Elite, rng: np.random.Generator) -> tuple[float, ...] | None:
        """The centre of a niche near ``parent``'s: one of the empty niches among its nearest
        ``NEIGHBOURS`` (distance in units of each dimension's range), drawn uniformly; when all
        of them are filled, the one with the weakest elite."""
        centres = self.centres()
        gaps = (centres - np.asarray(parent.descriptors, dtype=np.float64)) / (self._highs - self._lows)
        distance = (gaps * gaps).sum(axis=1)
        if 0 <= parent.niche < len(distance):
            distance[parent.niche] = np.inf
        near = np.argsort(distance, kind="stable")[:NEIGHBOURS]
        empty = near[~self._occupied[near]]
        pick = empty[int(rng.integers(empty.size))] if empty.size else near[int(np.argmin(self._fitness[near]))]
        return tuple(float(v) for v in centres[pick])

    def elites(self) -> list[Elite]:
        """Every elite, in niche order."""
        return self._elites_at(np.flatnonzero(self._occupied))

    def elite_at(self, niche: int) -> Elite | None:
        """The elite of one niche, or None when it is empty."""
        if not 0 <= niche < self.num_niches:
            raise IndexError(f"{self.name}: niche {niche} out of range [0, {self.num_niches})")
        if not self._occupied[niche]:
            return None
        return self._elites_at(np.array([niche]))[0]

    def stats(self) -> ArchiveStats:
        filled = self._filled
        if filled == 0:
            return ArchiveStats(niches=self.num_niches, filled=0, qd_score=0.0, max_fitness=None,
                                mean_fitness=None)
        return ArchiveStats(niches=self.num_niches, filled=filled,
                            qd_score=self._fitness_sum - self.config.qd_score_offset * filled,
                            max_fitness=self._max_fitness, mean_fitness=self._fitness_sum / filled)

    def __len__(self) -> int:
        return self._filled
