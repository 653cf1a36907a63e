"""Every hostile or broken program ends as an outcome with a reason, while the evaluation
goes on, and nothing escapes: no file written or removed outside the program's scratch
directory, no network contact, no process left, no change to the engine.

The programs run the way a run runs them: through a ``WorkerPool`` of the real parity and
Sodarace domains (with a 1 s timeout), i.e. with every layer of the sandbox. A second
pass runs the parity programs in this process (``evaluate_programs``): no namespaces,
so the per-program layers alone must hold.
"""

from __future__ import annotations

import re

import pytest

from elmcore.sandbox import confinement
from elmcore.workers import WorkerPool, evaluate_programs
from hostile_domains import QUICK_SODARACE_CONFIG, QuickParity, QuickSodarace
from hostile_programs import ALL_PROGRAMS, PARITY_OK, PARITY_PROGRAMS, Hostile


def layers_missing(hostile: Hostile, conf) -> list[str]:
    have = {"landlock": conf.landlock_abi > 0, "seccomp": conf.seccomp, "root": conf.sandbox_uid is not None,
            "namespaces": conf.isolation is not None and conf.isolation.filesystem}
    return [need for need in hostile.needs if not have[need]]


def check_outcome(hostile: Hostile, evaluation, conf) -> None:
    if layers_missing(hostile, conf):
        return  # the outcome may differ; the escape checks still apply
    outcome = evaluation.outcome.value
    assert outcome in hostile.expect, f"{hostile.name}: {outcome} ({evaluation.reason})"
    if outcome != "valid":
        assert evaluation.reason, f"{hostile.name}: {outcome} without a reason"
    if hostile.reason:
        assert re.search(hostile.reason, evaluation.reason or ""), f"{hostile.name}: reason {evaluation.reason!r}"


@pytest.fixture(scope="module")
def pools(surroundings):
    with WorkerPool(QuickParity, {}, workers=2) as parity, \
            WorkerPool(QuickSodarace, QUICK_SODARACE_CONFIG, workers=2) as sodarace:
        yield {"parity": parity, "sodarace": sodarace}


def test_workers_are_fully_confined(pools):
    for pool in pools.values():
        conf = pool.confinement
        assert conf.isolation.network and conf.isolation.filesystem and conf.isolation.ipc, conf.describe()
        assert conf.seccomp and conf.landlock_abi >= 1 and conf.weaknesses == [], conf.describe()


@pytest.mark.parametrize("hostile", ALL_PROGRAMS, ids=lambda h: f"{h.domain}-{h.name}")
def test_hostile_program_in_a_worker(hostile, pools, surroundings):
    pool = pools[hostile.domain]
    pids = pool.worker_pids()
    [evaluation] = pool.evaluate([surroundings.fill(hostile.code)])
    surroundings.assert_nothing_escaped(pids)
    assert pool.worker_pids() == pids and pool.crashes == 0, "a program took down its worker"
    check_outcome(hostile, evaluation, pool.confinement)


def test_workers_still_evaluate_correctly_after_the_battery(pools, surroundings):
    """Nothing a program did in its child carried over into the worker."""
    parity_ok = "def parity(b1, b2, b3, b4):\n    return (b1 + b2 + b3 + b4) % 2\n"
    evaluations = pools["parity"].evaluate([parity_ok] * 4)
    assert all(e.outcome.value == "valid" and e.fitness == 1.0 for e in evaluations)
    soda = pools["sodarace"].evaluate([surroundings.fill(h.code) for h in ALL_PROGRAMS
                                       if h.name == "absurd_amplitudes"])
    assert soda[0].outcome.value == "valid" and soda[0].fitness > 0


IN_PROCESS = [h for h in PARITY_PROGRAMS if "namespaces" not in h.needs and h.reason != "timeout"]


@pytest.mark.parametrize("hostile", IN_PROCESS, ids=lambda h: h.name)
def test_hostile_program_without_namespaces(hostile, surroundings):
    """evaluate_programs in this process: uid, Landlock, seccomp and limits only."""
    conf = confinement()
    [evaluation] = evaluate_programs(QuickParity(), [surroundings.fill(hostile.code)])
    surroundings.assert_nothing_escaped()
    check_outcome(hostile, evaluation, conf)


def test_the_battery_is_large_enough():
    assert len(PARITY_PROGRAMS) >= 25 and len(ALL_PROGRAMS) - len(PARITY_PROGRAMS) >= 20
    assert PARITY_OK in PARITY_PROGRAMS[0].code
