"""The worker pool's jobs: queued behind each other without a barrier, results in order,
and a closed pool fails what it had not evaluated."""

from __future__ import annotations

import pytest

from elmcore.types import Outcome
from elmcore.workers import WorkerCrashed, WorkerPool
from toys import NumberDomain

SLOW = "def value():\n    x = 0\n    for i in range(20_000_000):\n        x += 1\n    return 3\n"


def number(v) -> str:
    return f"def value():\n    return {v}\n"


def test_jobs_give_their_results_in_order():
    with WorkerPool(NumberDomain, {"timeout_s": 5.0}, workers=2) as pool:
        first = pool.submit([number(v) for v in range(10)])
        second = pool.submit([number(v) for v in range(10, 15)] + ["def value():\n    return 'x'\n"])
        empty = pool.submit([])
        got_second, got_first = second.result(), first.result()
        assert empty.done() and empty.result() == []
    assert [e.descriptors for e in got_first] == [(float(v),) for v in range(10)]
    assert [e.descriptors for e in got_second[:5]] == [(float(v),) for v in range(10, 15)]
    assert got_second[5].outcome is Outcome.INVALID


def test_a_free_worker_takes_the_next_job_while_a_slow_chunk_runs():
    """No barrier between jobs: with one worker busy on a slow program, the other evaluates
    the job queued after it, which finishes first."""
    with WorkerPool(NumberDomain, {"timeout_s": 30.0}, workers=2) as pool:
        slow = pool.submit([SLOW])
        quick = pool.submit([number(v) for v in range(4)])
        quick.result()
        assert not slow.done()
        assert slow.result()[0].descriptors == (3.0,)


def test_closing_fails_what_was_not_evaluated():
    pool = WorkerPool(NumberDomain, {"timeout_s": 30.0}, workers=1)
    pending = pool.submit([SLOW, SLOW])
    pool.close()
    with pytest.raises(WorkerCrashed, match="closed before these programs were evaluated"):
        pending.result()
    later = pool.submit([number(1)])
    with pytest.raises(WorkerCrashed, match="closed"):
        later.result()
