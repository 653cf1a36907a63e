"""The run's archive: one QD archive, or several islands evolving side by side
(``run.islands``) that exchange elites. The engine always speaks to a ``RunArchive``; with one
island it is the QD algorithm itself (nothing is copied), so a plain run pays nothing for it.

Batch ``k`` draws its parents from island ``k % islands`` and its children compete there;
the seed batch enters every island. After every ``run.migrate_every`` batches, each island
sends its ``run.migrants`` best elites to the next island of the ring (all islands send
before any receives). Every valid candidate also enters a union archive, which is what the
run reports (niches, QD score, best): an islands run is compared with a one-archive run on
the same terms. Each batch's stats hold every island's niches and QD score.

Everything depends only on the batch index and the committed candidates, so a resumed run
rebuilds the same islands from its store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from elmcore.interfaces import QDAlgorithm
from elmcore.types import ArchiveStats, Dimension, Elite, InsertResult, IslandBatchStats


class RunArchive:
    """``count`` archives made by ``make`` and, with more than one, their union: the archive
    a run selects parents from, inserts into and reports. One island is its own union."""

    def __init__(self, make: Callable[[], QDAlgorithm], count: int = 1, migrate_every: int = 1,
                 migrants: int = 0) -> None:
        if count < 1:
            raise ValueError(f"a run needs at least one island, got {count}")
        self.islands = [make() for _ in range(count)]
        self.union = self.islands[0] if count == 1 else make()
        self.migrate_every = migrate_every
        self.migrants = migrants
        self.active = 0
        self.everywhere = False

    def use(self, batch: int, everywhere: bool = False) -> None:
        """Select from and insert into the island of ``batch`` (every island: the seed batch)."""
        self.active = batch % len(self.islands)
        self.everywhere = everywhere

    # -- the archive interface the engine uses -------------------------------------------
    @property
    def dimensions(self) -> list[Dimension]:
        return self.union.dimensions

    @property
    def num_niches(self) -> int:
        return self.union.num_niches

    def niche_of(self, descriptors: Sequence[float]) -> int:
        return self.union.niche_of(descriptors)

    def select(self, n: int, rng: np.random.Generator) -> list[Elite]:
        return self.islands[self.active].select(n, rng)  # the seed batch entered every island

    def target(self, parent: Elite, rng: np.random.Generator) -> tuple[float, ...] | None:
        return self.islands[self.active].target(parent, rng)

    def insert(self, ids: Sequence[int], programs: Sequence[str], fitness: Sequence[float],
               descriptors: Sequence[Sequence[float]]) -> list[InsertResult]:
        active = self.islands[self.active]
        results = active.insert(ids, programs, fitness, descriptors)
        if self.everywhere:
            for island in self.islands:
                if island is not active:
                    island.insert(ids, programs, fitness, descriptors)
        if self.union is not active:
            self.union.insert(ids, programs, fitness, descriptors)
        return results

    def elites(self) -> list[Elite]:
        return self.union.elites()

    def stats(self) -> ArchiveStats:
        return self.union.stats()

    # -- islands ------------------------------------------------------------------------
    @property
    def several(self) -> bool:
        """Whether the run has islands (more than one archive)."""
        return len(self.islands) > 1

    def due(self, batch: int) -> bool:
        """Whether elites migrate after ``batch``."""
        return self.several and (batch + 1) % self.migrate_every == 0

    def migrate(self) -> int:
        """Each island's best elites go to the next island of the ring; returns how many moved."""
        leaving = [sorted(island.elites(), key=lambda e: (-e.fitness, e.candidate_id))[:self.migrants]
                   for island in self.islands]
        moved = 0
        for i, elites in enumerate(leaving):
            if not elites:
                continue
            target = self.islands[(i + 1) % len(self.islands)]
            results = target.insert([e.candidate_id for e in elites], [e.program for e in elites],
                                    [e.fitness for e in elites], [e.descriptors for e in elites])
            moved += sum(r.added for r in results)
        return moved

    def island_stats(self) -> tuple[IslandBatchStats, ...]:
        """Each island's niches and QD score; empty for a run without islands."""
        if not self.several:
            return ()
        return tuple(IslandBatchStats(filled=s.filled, qd_score=s.qd_score)
                     for s in (island.stats() for island in self.islands))
