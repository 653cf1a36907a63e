"""Turns program text into trusted ``Evaluation`` objects: sandbox, then domain code.

``evaluate_programs`` does it in the calling process (it forks one sandbox child per
program). ``WorkerPool`` does it in N spawned worker processes, so the engine — which may
hold an LLM and its threads — never forks, and a crash inside trusted native code (a
physics engine) takes down only a worker, which is replaced. Each worker first moves into
private network, mount and IPC namespaces (``sandbox.isolate_worker``), and is recycled
after a number of chunks or when its memory has grown too much.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
import warnings
from collections import deque
from contextlib import contextmanager
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

from elmcore.interfaces import Domain
from elmcore.sandbox import (SINGLE_THREADED, Confinement, confinement, isolate_worker, prepare,
                             run_in_sandbox, start_forker)
from elmcore.sandbox.privileges import die_with_parent, hide_from_same_user
from elmcore.types import Evaluation, Outcome


def evaluate_programs(domain: Domain, programs: Sequence[str]) -> list[Evaluation]:
    """Run each program in the sandbox and judge its output with the domain."""
    spec = domain.sandbox_spec()
    prepare(spec)
    results: list[Evaluation] = []
    for program in programs:
        started = time.perf_counter()
        ran = run_in_sandbox(program, spec)
        if not ran.ok:
            evaluation = Evaluation.failed(Outcome.NOT_RUNNABLE, ran.reason)
        else:
            try:
                evaluation = domain.evaluate(ran.output, program)
            except Exception as exc:  # a domain bug must not end a days-long run
                evaluation = Evaluation.failed(
                    Outcome.INVALID, f"domain {domain.name!r} failed to evaluate: {type(exc).__name__}: {exc}"[:500])
        evaluation.seconds = time.perf_counter() - started
        evaluation.extras.setdefault("sandbox_seconds", ran.seconds)
        results.append(evaluation)
    return results


def rss_bytes(pid: int | str = "self") -> int:
    """Resident memory of a process (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


# One thread per worker keeps it able to enter a user namespace (which only a
# single-threaded process may do), and two workers from competing for the cores with BLAS
# thread pools. Set only where the user did not.
WORKER_ENVIRONMENT = SINGLE_THREADED


@contextmanager
def _worker_environment() -> Iterator[None]:
    added = [k for k in WORKER_ENVIRONMENT if k not in os.environ]
    os.environ.update({k: WORKER_ENVIRONMENT[k] for k in added})
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _worker_main(conn: Connection, domain_cls: type[Domain], domain_config: dict[str, Any]) -> None:
    die_with_parent()  # killed when the engine dies (e.g. SIGKILL), so no worker is left behind
    isolate_worker()  # first: before anything starts a thread
    hide_from_same_user()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the engine's to handle
    try:
        # context worker: the engine has checked the config; a worker sees a narrower file system
        # (a private /tmp), so validators skip their checks of the engine's files
        domain = domain_cls(domain_cls.Config.model_validate(domain_config, context={'worker': True}))
        prepare(domain.sandbox_spec())
        start_forker()  # the first process of the worker's PID namespace: it forks the programs
    except Exception as exc:  # tell the engine why, instead of dying silently
        try:
            conn.send(("failed", f"{type(exc).__name__}: {exc}"[:500], None))
        except OSError:
            pass
        return
    conf = confinement()
    try:
        conn.send(("ready", os.getpid(), conf))
        while True:
            message = conn.recv()
            if message is None:
                return
            task_id, programs = message
            conn.send((task_id, evaluate_programs(domain, programs), rss_bytes()))
    except (EOFError, OSError):  # the engine went away
        return


class WorkerCrashed(RuntimeError):
    pass


class _Worker:
    def __init__(self, ctx: Any, domain_cls: type[Domain], domain_config: dict[str, Any]) -> None:
        self.domain_name = getattr(domain_cls, "name", domain_cls.__name__)
        self.conn, child_conn = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child_conn, domain_cls, domain_config),
                                   daemon=True, name="elm-eval-worker")
        with _worker_environment():
            self.process.start()
        child_conn.close()
        self.task: tuple[int, list[int], list[str]] | None = None
        self.tasks_done = 0
        self.confinement: Confinement | None = None
        self.rss_at_start = 0
        self.rss = 0

    def wait_ready(self, timeout: float = 120.0) -> None:
        if not self.conn.poll(timeout):
            raise WorkerCrashed("evaluation worker did not start within "
                                f"{timeout:.0f} s (exit code {self.process.exitcode})")
        try:
            state, detail, self.confinement = self.conn.recv()
        except EOFError as exc:
            raise WorkerCrashed(f"evaluation worker failed to start (exit code {self.process.exitcode}); "
                                "run with --workers 1 and check the domain config") from exc
        if state == "failed":
            raise WorkerCrashed(f"evaluation worker could not set up domain {self.domain_name!r}: {detail}")
        self.rss_at_start = self.rss = rss_bytes(self.process.pid or 0)

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=2)
        self.conn.close()


class WorkerPool:
    """N evaluation workers, each holding a domain instance, fed chunks of programs.

    Chunks are handed out as workers become free. If a worker dies mid-chunk, the chunk's
    programs are retried one at a time in a fresh worker, so one program that crashes
    trusted code is isolated and recorded as NOT_RUNNABLE while the others are evaluated.
    Workers are replaced after ``max_tasks`` chunks, or as soon as their resident memory
    has grown by more than ``max_rss_growth_mb`` since they started, to bound memory.
    """

    def __init__(self, domain_cls: type[Domain], domain_config: dict[str, Any], workers: int = 1,
                 max_tasks: int = 500, max_rss_growth_mb: float = 256.0) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        hide_from_same_user()  # without root, programs run as this user
        self._ctx = mp.get_context("spawn")
        self._domain_cls = domain_cls
        self._domain_config = dict(domain_config)
        self._max_tasks = max_tasks
        self._max_rss_growth = max_rss_growth_mb * 1024 * 1024
        self._workers = [self._spawn() for _ in range(workers)]
        for worker in self._workers:
            worker.wait_ready()
        self._task_ids = 0
        self.crashes = 0
        self.recycled = 0
        self.confinement: Confinement = self._workers[0].confinement  # type: ignore[assignment]
        weak = self.confinement.weaknesses
        if weak:
            warnings.warn(f"the sandbox is weaker on this machine: programs can {'; '.join(weak)}. "
                          "See docs/sandbox.md (run as root, or allow user namespaces)", RuntimeWarning,
                          stacklevel=2)

    @property
    def size(self) -> int:
        return len(self._workers)

    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, self._domain_cls, self._domain_config)

    def _replace(self, worker: _Worker) -> _Worker:
        worker.stop()
        fresh = self._spawn()
        fresh.wait_ready()
        self._workers[self._workers.index(worker)] = fresh
        return fresh

    def evaluate(self, programs: Sequence[str]) -> list[Evaluation]:
        results: list[Evaluation | None] = [None] * len(programs)
        if not programs:
            return []
        chunk = max(1, min(16, -(-len(programs) // (len(self._workers) * 4))))
        queue: deque[tuple[list[int], bool]] = deque(
            (list(range(i, min(i + chunk, len(programs)))), False) for i in range(0, len(programs), chunk))
        busy: dict[Connection, _Worker] = {}
        while queue or busy:
            for worker in list(self._workers):
                if not queue:
                    break
                if worker.task is None:
                    indices, retry = queue.popleft()
                    self._task_ids += 1
                    worker.task = (self._task_ids, indices, ["retry"] if retry else [])
                    try:
                        worker.conn.send((self._task_ids, [programs[i] for i in indices]))
                    except (OSError, BrokenPipeError):
                        pass  # noticed as EOF below
                    busy[worker.conn] = worker
            for conn in wait(list(busy)):
                worker = busy.pop(conn)  # type: ignore[index]
                assert worker.task is not None
                task_id, indices, flags = worker.task
                worker.task = None
                try:
                    got_id, evaluations, worker.rss = conn.recv()  # type: ignore[union-attr]
                except (EOFError, OSError):
                    self.crashes += 1
                    worker.process.join(timeout=5)  # its exit code is known once it is reaped
                    code = worker.process.exitcode
                    self._replace(worker)
                    if flags or len(indices) == 1:
                        for i in indices:
                            results[i] = Evaluation.failed(
                                Outcome.NOT_RUNNABLE, f"evaluation worker crashed on this program (exit code {code})")
                    else:
                        queue.extendleft(([i], True) for i in reversed(indices))
                    continue
                for i, evaluation in zip(indices, evaluations):
                    results[i] = evaluation
                worker.tasks_done += 1
                if worker.tasks_done >= self._max_tasks or worker.rss - worker.rss_at_start > self._max_rss_growth:
                    self.recycled += 1
                    self._replace(worker)
        return [r for r in results if r is not None]

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers = []

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
