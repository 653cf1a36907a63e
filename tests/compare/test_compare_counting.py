"""Counting successes of single mutations: every trial counts, every distinct program is
evaluated once, the batch size does not change the count, failures are one-line errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from elm_compare.counting import CompareError, TrialCount, VerdictCache, count_successes
from elmcore import Child, Dimension, Domain, Evaluation, Mutator, Outcome, Parent, SandboxSpec

# a cycle of children: program text (None = the operator produced nothing) and whether it solves
CYCLE: list[tuple[str | None, bool]] = [("good", True), ("bad", False), (None, False), ("good", True),
                                        ("other", False), ("bad", False), ("ugly", False)]


class JudgeDomain(Domain):
    """Solved iff the evaluation says so; never runs anything."""

    name = "judge"

    def seed_programs(self) -> list[str]:
        return ["parent"]

    def behaviour_space(self) -> list[Dimension]:
        return [Dimension("x", 0.0, 1.0, 1)]

    def sandbox_spec(self) -> SandboxSpec:
        return SandboxSpec(harness="none:none")

    def evaluate(self, output: Any, program: str) -> Evaluation:
        raise AssertionError("not used")

    def is_solution(self, evaluation: Evaluation) -> bool:
        return evaluation.outcome is Outcome.VALID and evaluation.extras.get("solved") is True


class CyclingMutator(Mutator):
    """Child k of the whole sequence is CYCLE[k % len(CYCLE)], whatever the batch size."""

    name = "cycle"

    def __init__(self) -> None:
        super().__init__()
        self.made = 0

    def mutate(self, parents: Sequence[Parent], rng: np.random.Generator) -> list[Child]:
        children = []
        for parent in parents:
            program, _ = CYCLE[self.made % len(CYCLE)]
            self.made += 1
            children.append(Child(program=program, parent_id=parent.id, operator=self.name,
                                  outcome=None if program else Outcome.EDIT_FAILED, reason=None if program else "x"))
        return children


class RecordingEvaluator:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, programs: Sequence[str]) -> list[Evaluation]:
        self.seen.extend(programs)
        solved = dict(p for p in CYCLE if p[0] is not None)
        return [Evaluation.valid(1.0, (0.5,), solved=solved[p]) if p != "ugly"
                else Evaluation.failed(Outcome.NOT_RUNNABLE, "raised") for p in programs]


def run(trials: int, batch_size: int, cache: VerdictCache | None = None,
        evaluator: RecordingEvaluator | None = None) -> tuple[TrialCount, RecordingEvaluator]:
    evaluator = evaluator or RecordingEvaluator()
    cache = VerdictCache(JudgeDomain(), evaluator) if cache is None else cache
    count = count_successes(CyclingMutator(), "parent", trials, np.random.default_rng(0), cache, batch_size, bugs=2)
    return count, evaluator


@pytest.mark.parametrize("batch_size", [1, 2, 3, 7, 50, 1000])
def test_every_trial_counts_and_each_program_is_evaluated_once(batch_size: int) -> None:
    trials = 100
    count, evaluator = run(trials, batch_size)
    expected = sum(CYCLE[k % len(CYCLE)][1] for k in range(trials))
    assert (count.trials, count.successes, count.bugs, count.operator) == (trials, expected, 2, "cycle")
    assert sorted(evaluator.seen) == ["bad", "good", "other", "ugly"]  # once each, whatever the batching
    assert count.distinct_programs == 4 and count.evaluated_programs == 4
    outcomes = count.outcomes
    assert sum(outcomes.values()) == trials
    assert outcomes["edit_failed"] == sum(CYCLE[k % len(CYCLE)][0] is None for k in range(trials))
    assert outcomes["not_runnable"] == sum(CYCLE[k % len(CYCLE)][0] == "ugly" for k in range(trials))
    assert count.rate == expected / trials
    low, high = count.interval()
    assert low < count.rate < high


def test_a_shared_cache_evaluates_nothing_twice_but_counts_again() -> None:
    evaluator = RecordingEvaluator()
    cache = VerdictCache(JudgeDomain(), evaluator)
    first, _ = run(30, 4, cache, evaluator)
    second, _ = run(30, 4, cache, evaluator)
    assert len(evaluator.seen) == 4 and second.evaluated_programs == 0
    assert (second.trials, second.successes, second.distinct_programs) == (first.trials, first.successes, 4)


def test_progress_is_reported_per_batch() -> None:
    seen: list[int] = []
    count_successes(CyclingMutator(), "parent", 10, np.random.default_rng(0),
                    VerdictCache(JudgeDomain(), RecordingEvaluator()), 4, on_batch=lambda c: seen.append(c.trials))
    assert seen == [4, 8, 10]


class Broken(Mutator):
    name = "broken"

    def mutate(self, parents: Sequence[Parent], rng: np.random.Generator) -> list[Child]:
        raise RuntimeError("model file missing\nsecond line")


class Short(Mutator):
    name = "short"

    def mutate(self, parents: Sequence[Parent], rng: np.random.Generator) -> list[Child]:
        return []


@pytest.mark.parametrize("mutator,message", [
    (Broken(), "operator 'broken' failed: RuntimeError: model file missing"),
    (Short(), "operator 'short' returned 0 children for 5 parents"),
])
def test_operator_failures_are_one_line_errors(mutator: Mutator, message: str) -> None:
    with pytest.raises(CompareError) as caught:
        count_successes(mutator, "parent", 5, np.random.default_rng(0),
                        VerdictCache(JudgeDomain(), RecordingEvaluator()))
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_a_failed_evaluation_leaves_no_half_claimed_programs() -> None:
    calls = {"n": 0}

    def flaky(programs: Sequence[str]) -> list[Evaluation]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("worker pipe closed")
        return RecordingEvaluator()(programs)

    cache = VerdictCache(JudgeDomain(), flaky)
    with pytest.raises(OSError):
        count_successes(CyclingMutator(), "parent", 7, np.random.default_rng(0), cache, 7)
    count = count_successes(CyclingMutator(), "parent", 7, np.random.default_rng(0), cache, 7)
    assert count.successes == 2 and count.evaluated_programs == 4


def test_bad_trial_counts() -> None:
    with pytest.raises(CompareError, match="at least 1"):
        run(0, 10)
