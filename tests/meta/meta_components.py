"""The smallest working component of each kind, for the per-hook tests. Importable by name
(the sandbox imports the harness below by "module:function")."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from elmcore import (ArchiveStats, Child, ConditionalLearner, Dimension, Domain, Elite, Evaluation,
                     InsertResult, InsertStatus, Mutator, Outcome, Parent, PluginConfig, QDAlgorithm,
                     SandboxSpec)


def call_answer(namespace: dict[str, Any]) -> Any:
    """Harness: runs in the sandbox and returns what the program's answer() returns."""
    return namespace["answer"]()


class AnswerDomain(Domain):
    """Programs define answer(); fitness is -|answer - target|, the descriptor the answer."""

    name = "meta-answer"
    description = "answer() should return the target"

    class Config(PluginConfig):
        target: float = 42.0

    def seed_programs(self) -> list[str]:
        return ["def answer():\n    return 0.0\n"]

    def behaviour_space(self) -> list[Dimension]:
        return [Dimension("answer", -100.0, 100.0, 20)]

    def sandbox_spec(self) -> SandboxSpec:
        return SandboxSpec(harness="meta_components:call_answer", timeout_s=2.0, memory_mb=128)

    def evaluate(self, output: Any, program: str) -> Evaluation:
        if type(output) not in (int, float) or not np.isfinite(output):
            return Evaluation.failed(Outcome.INVALID, f"answer() returned {type(output).__name__}, not a finite number")
        return Evaluation.valid(-abs(output - self.config.target), (float(output),))

    def is_solution(self, evaluation: Evaluation) -> bool:
        return evaluation.outcome is Outcome.VALID and evaluation.fitness == 0.0


class AppendLineMutator(Mutator):
    """Appends a comment line holding a random number: always a valid child."""

    name = "meta-append"

    def mutate(self, parents: Sequence[Parent], rng: np.random.Generator) -> list[Child]:
        return [Child(program=p.program + f"# {int(rng.integers(1000))}\n", parent_id=p.id, operator=self.name)
                for p in parents]


class SingleNicheArchive(QDAlgorithm):
    """One niche holding the best candidate ever inserted (a hill climber as a QD algorithm)."""

    name = "meta-single-niche"

    def __init__(self, config: PluginConfig | None, space: Sequence[Dimension], seed: int = 0) -> None:
        super().__init__(config, space, seed)
        self._space = list(space)
        self._elite: Elite | None = None

    @property
    def dimensions(self) -> list[Dimension]:
        return list(self._space)

    @property
    def num_niches(self) -> int:
        return 1

    def niche_of(self, descriptors: Sequence[float]) -> int:
        return 0

    def insert(self, ids: Sequence[int], programs: Sequence[str], fitness: Sequence[float],
               descriptors: Sequence[Sequence[float]]) -> list[InsertResult]:
        before = self._elite
        best = max(range(len(ids)), key=lambda i: (fitness[i], -i), default=None)
        results = []
        for i in range(len(ids)):
            if before is None:
                status = InsertStatus.NEW
            elif fitness[i] > before.fitness:
                status = InsertStatus.IMPROVED
            else:
                status = InsertStatus.NOT_ADDED
            results.append(InsertResult(status, 0, added=status is not InsertStatus.NOT_ADDED and i == best))
        if best is not None and results[best].added:
            self._elite = Elite(ids[best], programs[best], float(fitness[best]), tuple(descriptors[best]), 0)
        return results

    def select(self, n: int, rng: np.random.Generator) -> list[Elite]:
        return [self._elite] * n if self._elite else []

    def elites(self) -> list[Elite]:
        return [self._elite] if self._elite else []

    def stats(self) -> ArchiveStats:
        if self._elite is None:
            return ArchiveStats(1, 0, 0.0, None, None)
        return ArchiveStats(1, 1, self._elite.fitness, self._elite.fitness, self._elite.fitness)


class BestProgramLearner(ConditionalLearner):
    """Remembers, per condition, the best-rewarded program seen; samples it back."""

    name = "meta-best-program"

    class Config(PluginConfig):
        default_program: str = "def answer():\n    return 0.0\n"

    def __init__(self, config: PluginConfig | None, domain: Domain | None = None,
                 conditions: Sequence[str] = ()) -> None:
        super().__init__(config, domain, conditions)
        self.best: dict[str, tuple[float, str]] = {}
        self.last: list[tuple[str, str]] = []

    def sample(self, conditions: Sequence[str], rng: np.random.Generator) -> list[Child]:
        programs = [self.best.get(c, (0.0, self.config.default_program))[1] for c in conditions]
        self.last = list(zip(conditions, programs))
        return [Child(program=p, parent_id=None, operator=self.name) for p in programs]

    def update(self, evaluations: Sequence[Evaluation], rng: np.random.Generator) -> dict[str, float]:
        improved = 0
        for (condition, program), reward in zip(self.last, self.rewards(evaluations)):
            if condition not in self.best or reward > self.best[condition][0]:
                self.best[condition] = (float(reward), program)
                improved += 1
        return {"improved": float(improved)}

    def save(self, path) -> None:
        with open(Path(path) / "best.json", "w", encoding="utf-8") as fh:
            json.dump(self.best, fh)

    def load(self, path) -> None:
        with open(Path(path) / "best.json", encoding="utf-8") as fh:
            self.best = {c: (float(r), p) for c, (r, p) in json.load(fh).items()}
