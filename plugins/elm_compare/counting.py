"""Counting how many single mutations of one parent solve the task.

Each trial is one mutation of the parent. Children repeat a lot (GP children especially), so
every distinct program is run in the sandbox once and its verdict reused for every trial that
produced it; every trial is still counted. Mutation of batch k+1 overlaps the evaluation of
batch k, which runs in the background through the ``evaluate`` callable (a WorkerPool's).
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from elmcore import Child, Domain, Evaluation, Mutator, Outcome, Parent
from elm_compare.stats import wilson_interval

Evaluate = Callable[[Sequence[str]], list[Evaluation]]


class CompareError(Exception):
    """A comparison cannot go on; the message (one line) says why and what to do."""


@dataclass(frozen=True)
class Verdict:
    outcome: str
    solved: bool


class VerdictCache:
    """Verdicts of distinct programs under one domain config; each program is evaluated once."""

    def __init__(self, domain: Domain, evaluate: Evaluate) -> None:
        self.domain = domain
        self._evaluate = evaluate
        self._verdicts: dict[str, Verdict | None] = {}  # None: claimed, evaluation under way
        self.evaluated = 0

    def __len__(self) -> int:
        return len(self._verdicts)

    def claim(self, programs: Sequence[str]) -> list[str]:
        """The programs not seen before, in first-seen order, now marked as under way."""
        new = [p for p in dict.fromkeys(programs) if p not in self._verdicts]
        for program in new:
            self._verdicts[program] = None
        return new

    def evaluate(self, programs: Sequence[str]) -> None:
        """Evaluate claimed programs and store their verdicts."""
        if not programs:
            return
        try:
            evaluations = self._evaluate(programs)
            if len(evaluations) != len(programs):
                raise CompareError(f"evaluation returned {len(evaluations)} results for {len(programs)} programs")
        except BaseException:
            for program in programs:  # unclaim, so a later attempt evaluates them again
                self._verdicts.pop(program, None)
            raise
        for program, evaluation in zip(programs, evaluations):
            self._verdicts[program] = Verdict(evaluation.outcome.value, bool(self.domain.is_solution(evaluation)))
        self.evaluated += len(programs)

    def verdict(self, program: str) -> Verdict:
        verdict = self._verdicts.get(program)
        if verdict is None:
            raise KeyError(f"no verdict yet for a program of {len(program)} characters")
        return verdict


@dataclass
class TrialCount:
    """The result of N single mutations of one parent by one operator."""

    operator: str
    bugs: int | None
    trials: int = 0
    successes: int = 0  # solved by an edit whose old text is in the parent as it is (or by a whole program)
    lenient_successes: int = 0  # solved only by applying an edit leniently (its old text is not in the parent)
    outcomes: dict[str, int] = field(default_factory=dict)
    distinct_programs: int = 0  # distinct child programs among these trials
    evaluated_programs: int = 0  # of those, how many were run here (the rest came from the cache)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.successes / self.trials if self.trials else 0.0

    def interval(self) -> tuple[float, float]:
        """95 % Wilson interval of the rate."""
        return wilson_interval(self.successes, self.trials)


Progress = Callable[[TrialCount], None]


def count_successes(mutator: Mutator, parent: str, trials: int, rng: np.random.Generator,
                    cache: VerdictCache, batch_size: int = 500, bugs: int | None = None,
                    on_batch: Progress | None = None, label: str | None = None) -> TrialCount:
    """Mutate ``parent`` ``trials`` times, one mutation per trial, and count the children that
    solve the task (``domain.is_solution``). A child without a program, or with the parent's
    own (an edit that changes nothing), counts as a failed trial (``no_edit``).
    A child made by an edit that applied only leniently (``meta["edit_match"] == "lenient"``:
    its SEARCH text or diff context is not in the parent as it is) is not credited; it is
    counted apart, in ``lenient_successes``.
    ``label`` names the operator in the result (default: the mutator's name)."""
    if trials < 1 or batch_size < 1:
        raise CompareError(f"trials and batch size must be at least 1, got {trials} and {batch_size}")
    started = time.perf_counter()
    count = TrialCount(operator=label or mutator.name, bugs=bugs)
    outcomes: Counter[str] = Counter()
    seen: set[str] = set()
    evaluated_before = cache.evaluated
    in_flight: deque[tuple[list[Child], Future[None]]] = deque()

    def tally(children: list[Child], evaluation: Future[None]) -> None:
        evaluation.result()
        for child in children:
            if child.program is None or child.program == parent:  # no edit, or one that changes nothing
                outcomes[(child.outcome or Outcome.NO_EDIT).value] += 1
                continue
            seen.add(child.program)
            verdict = cache.verdict(child.program)
            outcomes[verdict.outcome] += 1
            if child.meta.get("edit_match") == "lenient":  # not credited: the edit was written against other text
                count.lenient_successes += verdict.solved
            else:
                count.successes += verdict.solved
        count.trials += len(children)
        count.outcomes = dict(outcomes)
        count.distinct_programs = len(seen)
        count.evaluated_programs = cache.evaluated - evaluated_before
        count.seconds = time.perf_counter() - started
        if on_batch is not None:
            on_batch(count)

    with ThreadPoolExecutor(1, thread_name_prefix="elm-compare-evaluate") as background:
        made = 0
        try:
            while made < trials:
                n = min(batch_size, trials - made)
                children = _mutate(mutator, parent, n, rng, count.operator)
                new = cache.claim([c.program for c in children if c.program is not None and c.program != parent])
                in_flight.append((children, background.submit(cache.evaluate, new)))
                made += n
                while len(in_flight) > 1:  # one batch is evaluated while the next is mutated
                    tally(*in_flight.popleft())
            while in_flight:
                tally(*in_flight.popleft())
        finally:
            for _, pending in in_flight:
                pending.cancel()
    return count


def _mutate(mutator: Mutator, parent: str, n: int, rng: np.random.Generator, label: str) -> list[Child]:
    try:
        children = mutator.mutate([Parent(id=None, program=parent)] * n, rng)
    except Exception as exc:  # an operator's failure (a model that will not load, a server that is down)
        message = str(exc).splitlines()[0] if str(exc) else ""
        raise CompareError(f"operator {label!r} failed: {type(exc).__name__}: {message}") from exc
    if len(children) != n:
        raise CompareError(f"operator {label!r} returned {len(children)} children for {n} parents; "
                           "a mutator must return one child per parent")
    return children
