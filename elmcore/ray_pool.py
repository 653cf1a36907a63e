"""Evaluation on a Ray cluster (``run.executor: ray``), with the promises of the local pool.

``RayPool`` has ``WorkerPool``'s interface (``submit``, ``evaluate``, ``close``,
``confinement``). It starts ``workers`` Ray actors, one CPU each, anywhere in the cluster;
each actor runs a local ``WorkerPool`` of one worker on its node, so every program runs in
the same sandbox as in a local run, every layer on, and a node where a layer is missing says
so as a local worker does. The engine stays the single writer of the store: Ray only
evaluates, and evaluation results do not depend on where they were computed, so a run with
``ray`` gives the same archive and store rows as one with ``local``.

A chunk whose actor is lost (the actor crashed, its node was removed) is evaluated again by
a fresh actor; a program's result is recorded once, whichever copy returns first.

``RemoteMutator`` runs a mutator in a Ray actor (``run.ray_generate_on``: ``gpu`` asks for a
node with a GPU), so the node that runs the engine needs none. It gets the same parents and
the same random generator as a local mutator, so it writes the same children.

Ray is an optional dependency: ``pip install -e ".[ray]"``.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from elmcore.types import Evaluation
from elmcore.workers import ChunkQueue, WorkerCrashed

if TYPE_CHECKING:
    from elmcore.interfaces import Mutator

RAY_MISSING = ("--executor ray needs Ray, which is not installed: pip install -e \".[ray]\" "
               "(or pip install 'ray>=2.9')")
ACTOR_RETRIES = 3  # fresh actors tried for one chunk before the run stops


class RayUnavailable(RuntimeError):
    """Ray is not installed or the cluster cannot be reached; the message says what to do."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable(RAY_MISSING) from exc
    return ray


def _reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast when nothing listens at ``HOST:PORT`` (Ray itself retries for minutes)."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms: Ray resolves them
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise RayUnavailable(f"no Ray cluster answers at {address} ({exc.strerror or exc}); check "
                             "run.ray_address (`ray status` on a cluster node shows the address)") from None


def connect(address: str | None) -> Any:
    """Join the cluster at ``address`` (``auto``, ``ray://host:10001``, ``host:6379``), or start
    a local Ray instance when there is none; once per process."""
    ray = import_ray()
    if not ray.is_initialized():
        if address:
            _reachable(address)
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "configure_logging": False}
        if address:
            kwargs["address"] = address
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            raise RayUnavailable(f"could not connect to {where}: {str(exc).splitlines()[0]}; check "
                                 "run.ray_address (`ray status` on a cluster node shows it)") from exc
    return ray


class _Evaluator:
    """The Ray actor: a one-worker ``WorkerPool`` on its node."""

    def __init__(self, domain_cls: type, domain_config: Any) -> None:
        from elmcore.workers import WorkerPool

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the engine reports weaknesses, once
            self.pool = WorkerPool(domain_cls, domain_config, workers=1)

    def describe(self) -> tuple[str, Any]:
        import socket

        return socket.gethostname(), self.pool.confinement

    def evaluate(self, programs: list[str]) -> list[Evaluation]:
        return self.pool.evaluate(programs)

    def close(self) -> None:
        self.pool.close()


class RayPool(ChunkQueue):
    """``workers`` Ray actors evaluating chunks of programs; the interface of ``WorkerPool``."""

    replace_timeout_s = 60.0  # how long a lost actor's replacement may wait for room in the cluster
    closed_message = "the Ray pool was closed before these programs were evaluated"

    def __init__(self, domain_cls: type, domain_config: Any, workers: int = 1, address: str | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.ray = connect(address)
        self._actor_class = self.ray.remote(num_cpus=1, max_restarts=0)(_Evaluator)
        self._domain_cls, self._domain_config = domain_cls, domain_config
        self.crashes = 0  # actors lost
        self._actors = [self._start_actor() for _ in range(workers)]
        described = self._describe(self._actors)
        self.confinement = described[0][1]
        for host, confinement in described:
            weak = confinement.weaknesses
            if weak:
                warnings.warn(f"the sandbox is weaker on Ray node {host}: programs can {'; '.join(weak)}. "
                              "See docs/sandbox.md (run as root, or allow user namespaces)", RuntimeWarning,
                              stacklevel=2)
        self._start_jobs()
        self._running: dict[Any, tuple[Any, Any, list[int], int]] = {}  # object ref -> actor, job, indices, tries
        self._idle = list(self._actors)
        self._wake = threading.Event()
        self._dispatcher = threading.Thread(target=self._dispatch, name="elm-ray-dispatch", daemon=True)
        self._dispatcher.start()

    # -- actors -------------------------------------------------------------------
    def _start_actor(self) -> Any:
        return self._actor_class.remote(self._domain_cls, self._domain_config)

    def _describe(self, actors: list[Any]) -> list[tuple[str, Any]]:
        try:
            return self.ray.get([a.describe.remote() for a in actors])
        except self.ray.exceptions.RayTaskError as exc:
            cause = exc.cause if getattr(exc, "cause", None) is not None else exc
            raise WorkerCrashed(f"a Ray evaluation actor could not start: {cause}") from None
        except self.ray.exceptions.RayActorError as exc:
            raise WorkerCrashed(f"a Ray evaluation actor died while starting: {str(exc).splitlines()[0]}; "
                                "check that elm and its dependencies are installed on every node") from None

    def _replacement(self) -> Any | None:
        """A fresh actor for a lost one, or None when the cluster has no room for it within
        ``replace_timeout_s`` (a node was removed and the others are full)."""
        fresh = self._start_actor()
        try:
            self.ray.get(fresh.describe.remote(), timeout=self.replace_timeout_s)
        except self.ray.exceptions.GetTimeoutError:
            self.ray.kill(fresh)
            return None
        return fresh

    @property
    def size(self) -> int:
        return len(self._actors)

    # -- jobs ---------------------------------------------------------------------
    def _slots(self) -> int:
        return len(self._actors)

    def _notify(self) -> None:
        self._wake.set()

    def _dispatch(self) -> None:
        ray = self.ray
        try:
            while True:
                with self._lock:
                    if self._closing:
                        return
                    while self._idle and self._queue:
                        job, indices, tries = self._queue.popleft()
                        if job.done():  # failed meanwhile
                            continue
                        actor = self._idle.pop()
                        ref = actor.evaluate.remote([job.programs[i] for i in indices])
                        self._running[ref] = (actor, job, indices, tries)
                    refs = list(self._running)
                if not refs:
                    self._wake.wait(0.5)
                    self._wake.clear()
                    continue
                ready, _ = ray.wait(refs, num_returns=1, timeout=0.05)
                for ref in ready:
                    self._collect(ref)
        except BaseException as exc:
            self._break(exc)

    def _collect(self, ref: Any) -> None:
        ray = self.ray
        actor, job, indices, tries = self._running.pop(ref)
        try:
            evaluations = ray.get(ref)
        except ray.exceptions.RayActorError:  # the actor or its node is gone: the chunk is evaluated again
            self.crashes += 1
            if tries + 1 > ACTOR_RETRIES:
                raise WorkerCrashed(f"Ray evaluation actors were lost {ACTOR_RETRIES + 1} times on one chunk; "
                                    "check the cluster (`ray status`)") from None
            fresh = self._replacement()
            with self._lock:
                if fresh is None:  # no room in the cluster now: the other actors carry on
                    self._actors.remove(actor)
                else:
                    self._actors[self._actors.index(actor)] = fresh
                    self._idle.append(fresh)
                self._queue.appendleft((job, indices, tries + 1))
            if not self._actors:
                raise WorkerCrashed("every Ray evaluation actor was lost and none could be started again; "
                                    "check the cluster (`ray status`)")
            return
        except ray.exceptions.RayTaskError as exc:  # the actor's pool could not replace a worker
            cause = exc.cause if getattr(exc, "cause", None) is not None else exc
            raise WorkerCrashed(f"a Ray evaluation actor failed: {cause}") from None
        self._record(job, indices, evaluations)
        with self._lock:
            self._idle.append(actor)

    def close(self) -> None:
        if not self._begin_close():
            return
        for actor in self._actors:
            try:
                self.ray.get(actor.close.remote(), timeout=30)
            except Exception:  # a lost actor has nothing left to close
                pass
            self.ray.kill(actor)
        self._actors = []

    def __enter__(self) -> "RayPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Generator:
    """The Ray actor holding a mutator (and its model)."""

    def __init__(self, mutator_cls: type, options: Any, context: Any) -> None:
        self.mutator = mutator_cls(options, context=context)

    def prepare(self) -> None:
        self.mutator.prepare()

    def mutate(self, parents: list[Any], rng: Any) -> tuple[list[Any], Any]:
        children = self.mutator.mutate(parents, rng)
        return children, rng.bit_generator.state  # the caller's generator moves on as if it ran here

    def invent(self, n: int, rng: Any) -> tuple[list[Any], Any]:
        children = self.mutator.invent(n, rng)
        return children, rng.bit_generator.state

    def close(self) -> None:
        self.mutator.close()


class RemoteMutator:
    """A mutator that runs in a Ray actor; the engine uses it as the mutator itself."""

    def __init__(self, mutator_cls: type[Mutator], options: Any, context: Any, place: str,
                 address: str | None = None) -> None:
        self.ray = connect(address)
        resources = {"num_gpus": 1} if place == "gpu" else {"num_cpus": 1}
        self.name = mutator_cls.name
        self.invents = bool(getattr(mutator_cls, "invents", False))
        self.parents_per_child = int(getattr(mutator_cls, "parents_per_child", 1))
        self.directed = bool(mutator_cls(options, context=context).directed)  # wants parents with aims
        self.config = options
        self._actor = self.ray.remote(**resources, max_restarts=0)(_Generator).remote(mutator_cls, options, context)

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return self.ray.get(getattr(self._actor, method).remote(*args))
        except self.ray.exceptions.RayTaskError as exc:
            cause = exc.cause if getattr(exc, "cause", None) is not None else exc
            raise cause from None

    def prepare(self) -> None:
        self._call("prepare")

    def mutate(self, parents: Sequence[Any], rng: Any) -> list[Any]:
        children, rng.bit_generator.state = self._call("mutate", list(parents), rng)
        return children

    def invent(self, n: int, rng: Any) -> list[Any]:
        children, rng.bit_generator.state = self._call("invent", n, rng)
        return children

    def close(self) -> None:
        try:
            self._call("close")
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"RemoteMutator({self.name!r}, pid {os.getpid()})"
