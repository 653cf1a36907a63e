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
import threading
import time
import warnings
from collections import deque
from contextlib import contextmanager
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

from pydantic import BaseModel

from elmcore.interfaces import Domain, PluginConfig
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


WORKERS_PER_CPU = 4


class TooManyWorkers(ValueError):
    """More evaluation workers asked for than this machine can sensibly run (``max_workers``)."""


def max_workers() -> int:
    """The most evaluation workers one pool may start on this machine: a few per CPU (each is
    a process with its domain loaded; more than the CPUs only queue for them)."""
    return WORKERS_PER_CPU * (os.cpu_count() or 1)


def workers_problem(workers: int, option: str = "run.workers") -> str | None:
    """Why ``workers`` local workers are too many here (one line), or None."""
    limit = max_workers()
    if workers <= limit:
        return None
    return (f"{option!r} is {workers:,}: at most {limit} evaluation workers on this machine ({WORKERS_PER_CPU} per "
            f"CPU, {os.cpu_count() or 1} CPUs; each is a process); pass --workers {limit} or fewer")


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


def _worker_main(conn: Connection, domain_cls: type[Domain], domain_config: PluginConfig | dict[str, Any]) -> None:
    die_with_parent()  # killed when the engine dies (e.g. SIGKILL), so no worker is left behind
    isolate_worker()  # first: before anything starts a thread
    hide_from_same_user()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the engine's to handle
    try:
        # a validated config arrives as it is (pickled); plain data is validated with the context
        # worker: a worker sees a narrower file system (a private /tmp), so validators skip their
        # checks of the engine's files
        if not isinstance(domain_config, BaseModel):
            domain_config = domain_cls.Config.model_validate(domain_config, context={"worker": True})
        domain = domain_cls(domain_config)
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
    def __init__(self, ctx: Any, domain_cls: type[Domain], domain_config: PluginConfig | dict[str, Any]) -> None:
        self.domain_name = getattr(domain_cls, "name", domain_cls.__name__)
        self.conn, child_conn = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child_conn, domain_cls, domain_config),
                                   daemon=True, name="elm-eval-worker")
        with _worker_environment():
            self.process.start()
        child_conn.close()
        self.task: tuple[int, list[int], list[str]] | None = None
        self.job: Job | None = None
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


class Job:
    """Programs handed to a ``WorkerPool`` together; ``result()`` waits for their evaluations,
    in the order given."""

    def __init__(self, programs: Sequence[str]) -> None:
        self.programs = list(programs)
        self.results: list[Evaluation | None] = [None] * len(self.programs)
        self.left = len(self.programs)
        self.error: BaseException | None = None
        self._done = threading.Event()
        if not self.programs:
            self._done.set()

    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout: float | None = None) -> list[Evaluation]:
        if not self._done.wait(timeout):
            raise TimeoutError(f"{self.left} of {len(self.programs)} programs are still being evaluated")
        if self.error is not None:
            raise self.error
        return [r for r in self.results if r is not None]

    def _fill(self, index: int, evaluation: Evaluation) -> None:
        if self.results[index] is None:
            self.left -= 1
        self.results[index] = evaluation
        if self.left == 0:
            self._done.set()

    def _fail(self, error: BaseException) -> None:
        if not self._done.is_set():
            self.error = error
            self._done.set()


class ChunkQueue:
    """Jobs cut into chunks for a dispatcher thread (shared by ``WorkerPool`` and the Ray pool).
    A queued chunk is ``(job, indices, tries)``; ``tries`` counts evaluations lost with a
    worker. Subclasses implement ``_slots`` (workers to spread a job over), ``_notify``
    (wake the dispatcher) and call ``_start_jobs`` once they can take jobs."""

    closed_message = "the pool was closed before these programs were evaluated"
    _dispatcher: threading.Thread  # started by the subclass

    def _start_jobs(self) -> None:
        self._queue: deque[tuple[Job, list[int], int]] = deque()
        self._jobs: set[Job] = set()
        self._lock = threading.Lock()
        self._closing = False
        self._broken: BaseException | None = None

    def _slots(self) -> int:
        raise NotImplementedError

    def _notify(self) -> None:
        raise NotImplementedError

    def submit(self, programs: Sequence[str]) -> Job:
        """Queue ``programs`` for evaluation behind what is already queued; returns at once."""
        job = Job(programs)
        if not job.programs:
            return job
        n = len(job.programs)
        chunk = max(1, min(16, -(-n // (max(1, self._slots()) * 4))))
        with self._lock:
            if self._broken is not None or self._closing:
                job._fail(self._broken or WorkerCrashed(self.closed_message))
                return job
            self._jobs.add(job)
            self._queue.extend((job, list(range(i, min(i + chunk, n))), 0) for i in range(0, n, chunk))
        self._notify()
        return job

    def evaluate(self, programs: Sequence[str]) -> list[Evaluation]:
        """Evaluate ``programs`` (in the order given) and wait for the results."""
        return self.submit(programs).result()

    def _record(self, job: Job, indices: Sequence[int], evaluations: Sequence[Evaluation]) -> None:
        with self._lock:
            for i, evaluation in zip(indices, evaluations):
                job._fill(i, evaluation)
            if job.done():
                self._jobs.discard(job)

    def _break(self, exc: BaseException) -> None:
        """The dispatcher cannot go on: every job waiting learns why."""
        with self._lock:
            self._broken = exc if isinstance(exc, WorkerCrashed) else WorkerCrashed(
                f"the evaluation dispatcher failed: {type(exc).__name__}: {exc}")
            self._fail_jobs(self._broken)

    def _fail_jobs(self, error: BaseException) -> None:
        for job in list(self._jobs):
            job._fail(error)
        self._jobs.clear()
        self._queue.clear()

    def _begin_close(self) -> bool:
        """Stop taking jobs, fail those waiting and let the dispatcher thread end (``_dispatcher``);
        False when already closing."""
        with self._lock:
            if self._closing:
                return False
            self._closing = True
            self._fail_jobs(WorkerCrashed(self.closed_message))
        self._notify()
        if self._dispatcher is not threading.current_thread():
            self._dispatcher.join(timeout=30)
        return True


class WorkerPool(ChunkQueue):
    """N evaluation workers, each holding a domain instance, fed chunks of programs.

    ``submit`` queues a job's programs in chunks and returns at once; a dispatcher thread
    hands chunks to workers as they become free, whichever job they belong to, so the next
    batch's programs keep the workers busy while the last chunks of a batch finish (no
    barrier between batches). ``evaluate`` is ``submit(...).result()``.

    If a worker dies mid-chunk, the chunk's programs are retried one at a time in a fresh
    worker, so one program that crashes trusted code is isolated and recorded as
    NOT_RUNNABLE while the others are evaluated. Workers are replaced after ``max_tasks``
    chunks, or as soon as their resident memory has grown by more than ``max_rss_growth_mb``
    since they started, to bound memory.
    """

    closed_message = "the worker pool was closed before these programs were evaluated"

    def __init__(self, domain_cls: type[Domain], domain_config: PluginConfig | dict[str, Any], workers: int = 1,
                 max_tasks: int = 500, max_rss_growth_mb: float = 256.0) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        if workers_problem(workers):
            raise TooManyWorkers(workers_problem(workers, "workers"))
        hide_from_same_user()  # without root, programs run as this user
        self._ctx = mp.get_context("spawn")
        self._domain_cls = domain_cls
        # the domain's validated Config (sent to each worker as it is), or plain data to validate there
        self._domain_config = domain_config if isinstance(domain_config, BaseModel) else dict(domain_config)
        self._max_tasks = max_tasks
        self._max_rss_growth = max_rss_growth_mb * 1024 * 1024
        self._workers: list[_Worker] = []
        try:
            for _ in range(workers):
                self._workers.append(self._spawn())
            for worker in self._workers:
                worker.wait_ready()
        except BaseException:
            for worker in self._workers:
                worker.stop()
            raise
        self._task_ids = 0
        self.crashes = 0
        self.recycled = 0
        self.confinement: Confinement = self._workers[0].confinement  # type: ignore[assignment]
        weak = self.confinement.weaknesses
        if weak:
            warnings.warn(f"the sandbox is weaker on this machine: programs can {'; '.join(weak)}. "
                          "See docs/sandbox.md (run as root, or allow user namespaces)", RuntimeWarning,
                          stacklevel=2)
        self._start_jobs()
        self._wake_r, self._wake_w = os.pipe()
        self._dispatcher = threading.Thread(target=self._dispatch, name="elm-dispatch", daemon=True)
        self._dispatcher.start()

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

    # -- jobs ------------------------------------------------------------------------
    def _slots(self) -> int:
        return len(self._workers)

    def _notify(self) -> None:
        self._wake()

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def _dispatch(self) -> None:
        try:
            while True:
                with self._lock:
                    if self._closing:
                        return
                    for worker in self._workers:
                        if not self._queue:
                            break
                        if worker.task is None:
                            self._send(worker, *self._queue.popleft())
                busy = {w.conn: w for w in self._workers if w.task is not None}
                for ready in wait([*busy, self._wake_r]):
                    if ready == self._wake_r:
                        os.read(self._wake_r, 4096)
                    else:
                        self._receive(busy[ready])  # type: ignore[index]
        except BaseException as exc:  # a replacement worker that cannot start: every job learns why
            self._break(exc)

    def _send(self, worker: _Worker, job: Job, indices: list[int], tries: int) -> None:
        self._task_ids += 1
        worker.task = (self._task_ids, indices, ["retry"] if tries else [])
        worker.job = job
        try:
            worker.conn.send((self._task_ids, [job.programs[i] for i in indices]))
        except (OSError, BrokenPipeError):
            pass  # noticed as EOF when it is received

    def _receive(self, worker: _Worker) -> None:
        assert worker.task is not None and worker.job is not None
        _, indices, flags = worker.task
        job = worker.job
        worker.task, worker.job = None, None
        try:
            _, evaluations, worker.rss = worker.conn.recv()
        except (EOFError, OSError):
            self.crashes += 1
            worker.process.join(timeout=5)  # its exit code is known once it is reaped
            code = worker.process.exitcode
            self._replace(worker)
            if flags or len(indices) == 1:
                self._record(job, indices, [Evaluation.failed(
                    Outcome.NOT_RUNNABLE, f"evaluation worker crashed on this program (exit code {code})")
                    for _ in indices])
            else:
                with self._lock:
                    self._queue.extendleft((job, [i], 1) for i in reversed(indices))
            return
        self._record(job, indices, evaluations)
        worker.tasks_done += 1
        if worker.tasks_done >= self._max_tasks or worker.rss - worker.rss_at_start > self._max_rss_growth:
            self.recycled += 1
            self._replace(worker)

    def close(self) -> None:
        if not self._begin_close():
            return
        for worker in self._workers:
            worker.stop()
        self._workers = []
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
