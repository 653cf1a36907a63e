"""GP children of the bugged seeds, run in the sandbox: some fix one bug, most do not;
and the `elm solve-rate` short form of `elm compare`."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from elm_compare.counting import VerdictCache, count_successes
from elm_gp.mutator import GPConfig, GPMutator
from elm_parity.domain import ParityDomain, QuadraticDomain
from elmcore import Outcome
from elmcore.workers import evaluate_programs


def solve_rate(domain: ParityDomain | QuadraticDomain, trials: int, seed: int = 0) -> tuple[float, dict[str, int]]:
    mutator = GPMutator(GPConfig(), context=domain.mutation_context())
    cache = VerdictCache(domain, lambda programs: evaluate_programs(domain, programs))
    result = count_successes(mutator, domain.seed_programs()[0], trials, np.random.default_rng(seed), cache)
    assert result.trials == trials and sum(result.outcomes.values()) == trials
    return result.rate, result.outcomes


def test_gp_fixes_one_bug_in_parity_at_a_measurable_rate() -> None:
    rate, outcomes = solve_rate(ParityDomain(ParityDomain.Config(bugs=1)), 1500)
    assert 0.002 < rate < 0.05  # measured about 1.1 % over 100,000 trials
    assert outcomes.get(Outcome.EDIT_FAILED.value, 0) == 0


def test_gp_rarely_fixes_five_bugs() -> None:
    rate, _ = solve_rate(ParityDomain(ParityDomain.Config(bugs=5)), 500)
    assert rate == 0.0


def test_neutral_edits_keep_the_correct_seed_correct_only_sometimes() -> None:
    rate, _ = solve_rate(ParityDomain(ParityDomain.Config(bugs=0)), 300)
    assert 0.05 < rate < 0.9  # neutral edits (duplicates, no-op swaps) keep it correct


@pytest.mark.slow
def test_more_bugs_are_harder() -> None:
    one, _ = solve_rate(ParityDomain(ParityDomain.Config(bugs=1)), 10_000, seed=1)
    two, _ = solve_rate(ParityDomain(ParityDomain.Config(bugs=2)), 10_000, seed=1)
    assert one > 4 * two


def test_command_line() -> None:
    done = subprocess.run([sys.executable, "-m", "elmcore.cli", "solve-rate", "--trials", "40",
                           "--set", "domain.bugs=1"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "solved " in done.stdout and " of 40 = " in done.stdout
    bad = subprocess.run([sys.executable, "-m", "elmcore.cli", "solve-rate", "--set", "domain.bugs=9"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "bugs must be between 0 and 5" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
