"""The run's operators: one mutator, or a portfolio of several sharing each batch.

``elm run --mutator gp,diff`` gives a portfolio. Each batch's children are split among the
operators by ``run.portfolio``:

- ``uniform``: equal shares;
- ``adaptive`` (the default): a bandit. Each operator's record is its children and its
  successes (children that entered the archive: a new niche or a better elite, which is
  what raises the QD score), both discounted by ``DECAY`` per batch so the record follows
  the run. A child that filled a new niche is credited ``run.portfolio_credit_new_niche``,
  one that improved an elite ``run.portfolio_credit_improvement`` (1 each by default; weigh
  new niches higher to reward exploration). Its score is ``(successes + 1) / (children +
  2)``; shares are proportional to the scores above a floor of ``run.portfolio_floor``
  each, so no operator is starved. Duplicates (``elmcore.duplicates``) cost no evaluation
  and are not credited.

Counts come from the shares by largest remainder, ties to the earlier label: no randomness,
so the split of a batch is a function of the records of the batches before it, and a
resumed run rebuilds the same record from its store.

A mutator can ask for several parents per child (``Mutator.parents_per_child``, 2 for
crossover): it is handed that many parents for each child it writes.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from elmcore.aims import aim_for
from elmcore.interfaces import Mutator
from elmcore.types import Child, Dimension, Parent

if TYPE_CHECKING:
    from elmcore.islands import RunArchive

DECAY = 0.9


class PortfolioError(RuntimeError):
    """An operator misbehaved; the message names it."""


@dataclass
class Bandit:
    """Discounted children and successes per operator, and the shares they give."""

    labels: list[str]
    rule: str = "adaptive"
    floor: float = 0.1
    new_niche: float = 1.0  # credit of a child that filled an empty niche
    improvement: float = 1.0  # credit of a child that replaced a worse elite
    children: dict[str, float] = field(default_factory=dict)
    successes: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for label in self.labels:
            self.children.setdefault(label, 0.0)
            self.successes.setdefault(label, 0.0)

    def shares(self) -> dict[str, float]:
        k = len(self.labels)
        if self.rule == "uniform" or k == 1:
            return {label: 1.0 / k for label in self.labels}
        scores = {label: (self.successes[label] + 1.0) / (self.children[label] + 2.0) for label in self.labels}
        total = sum(scores.values())
        free = max(0.0, 1.0 - k * self.floor)
        return {label: self.floor + free * scores[label] / total for label in self.labels}

    def split(self, n: int) -> dict[str, int]:
        """``n`` children as whole counts in proportion to the shares (largest remainder)."""
        shares = self.shares()
        exact = {label: n * shares[label] for label in self.labels}
        counts = {label: int(np.floor(exact[label])) for label in self.labels}
        left = n - sum(counts.values())
        order = sorted(self.labels, key=lambda label: (-(exact[label] - counts[label]), self.labels.index(label)))
        for label in order[:left]:
            counts[label] += 1
        return counts

    def credit(self, outcomes: Iterable[tuple[str, bool] | tuple[str, bool, str | None]]) -> None:
        """One committed batch: (operator label, entered the archive, insert status) per child;
        an entry is credited by its status ("new": ``new_niche``, "improved": ``improvement``;
        none given: 1)."""
        for label in self.labels:
            self.children[label] *= DECAY
            self.successes[label] *= DECAY
        for label, entered, *status in outcomes:
            if label in self.children:
                self.children[label] += 1.0
                if entered:
                    kind = status[0] if status else None
                    self.successes[label] += (self.new_niche if kind == "new" else
                                              self.improvement if kind == "improved" else 1.0)


class Operators:
    """The mutators of a run (label -> mutator) and the bandit that splits each batch."""

    def __init__(self, mutators: Sequence[tuple[str, Mutator]], rule: str = "adaptive", floor: float = 0.1,
                 new_niche: float = 1.0, improvement: float = 1.0) -> None:
        self.mutators = list(mutators)
        self.labels = [label for label, _ in self.mutators]
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"the portfolio names an operator twice ({', '.join(self.labels)}); give each its own "
                             "label, e.g. gp,gp:fine")
        inventing = {label for label, m in self.mutators if m.invents}
        if inventing and len(inventing) != len(self.mutators):
            raise ValueError(f"a portfolio cannot mix operators that write programs from nothing "
                             f"({', '.join(sorted(inventing))}) with operators that mutate parents")
        if len(self.mutators) > 1 and floor * len(self.mutators) > 1.0:
            raise ValueError(f"run.portfolio_floor {floor} times {len(self.mutators)} operators is more than the "
                             "whole batch; lower it")
        self.invents = bool(inventing)
        self.bandit = Bandit(self.labels, rule, floor, new_niche, improvement)
        self.portfolio = len(self.mutators) > 1
        self.space: list[Dimension] = []  # the behaviour space in use and what a program makes, for aims
        self.subject = "program"

    @property
    def name(self) -> str:
        return ",".join(self.labels)

    def snapshot(self) -> Bandit:
        return copy.deepcopy(self.bandit)

    def children(self, n: int, archive: RunArchive, rng: np.random.Generator, bandit: Bandit | None = None
                 ) -> list[Child]:
        """A batch of ``n`` children from parents selected in ``archive`` (or invented), split
        among the operators by ``bandit`` (the current one unless given)."""
        return self.make((bandit or self.bandit).split(n), archive, rng)

    def make(self, counts: dict[str, int], archive: RunArchive, rng: np.random.Generator) -> list[Child]:
        """``counts[label]`` children from each operator (in label order), parents selected in
        ``archive`` in one draw; also how duplicates are replaced."""
        if self.invents:
            children: list[Child] = []
            for label, mutator in self.mutators:
                if counts[label]:
                    made = self._call(label, mutator.invent, counts[label], rng)
                    children.extend(self._labelled(label, made, counts[label], "programs"))
            return children
        wants = {label: counts[label] * max(1, int(getattr(m, "parents_per_child", 1))) for label, m in self.mutators}
        elites = archive.select(sum(wants.values()), rng)
        parents = [Parent(id=e.candidate_id, program=e.program, fitness=e.fitness) for e in elites]
        children = []
        start = 0
        for label, mutator in self.mutators:
            mine = parents[start:start + wants[label]]
            if mutator.directed:  # each parent with a target near it, drawn in parent order
                mine = [Parent(id=p.id, program=p.program, fitness=p.fitness,
                               aim=aim_for(self.space, self.subject, e.descriptors, archive.target(e, rng)))
                        for p, e in zip(mine, elites[start:start + wants[label]])]
            start += wants[label]
            if counts[label]:
                made = self._call(label, mutator.mutate, mine, rng)
                children.extend(self._labelled(label, made, counts[label], "children"))
        return children

    def _call(self, label: str, method, *args):  # type: ignore[no-untyped-def]
        try:
            return method(*args)
        except Exception as exc:
            raise PortfolioError(f"mutator {label!r} failed: {type(exc).__name__}: {exc}; nothing of this batch "
                                 "was recorded") from exc

    def _labelled(self, label: str, made: list[Child], expected: int, what: str) -> list[Child]:
        if len(made) != expected:
            raise PortfolioError(f"mutator {label!r} returned {len(made)} {what} where {expected} were asked for; "
                                 "a mutator must return one child per child asked for")
        if self.portfolio:
            for child in made:
                child.operator = label
        return made

    def close(self) -> None:
        for _, mutator in self.mutators:
            mutator.close()
