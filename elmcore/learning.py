"""The loop of a conditional learner (the paper's Stage 3): draw conditions, let the learner
write one program per condition, evaluate each under its condition in the sandbox, record
every sample, let the learner learn from the evaluations; one iteration at a time.

Iteration k draws all its randomness from ``numpy.random.default_rng([seed, k])``. After
each iteration the learner's state (weights, optimiser) is saved next to the store, so a
killed run resumes from its last finished iteration (``elm resume``) and continues as an
uninterrupted one would. The state of iteration k is written to ``learner.next/`` before
the iteration is committed to the store, and swapped into ``learner/`` after: a kill at
any moment leaves either the committed iteration and its state, or neither.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from elmcore.config import ConfigError, LearnConfig, resolve_learning
from elmcore.engine import RunError, refused_config
from elmcore.rundir import new_run_meta, write_config_file
from elmcore.interfaces import ConditionalLearner, Domain
from elmcore.plugins import PluginManager
from elmcore.store import CandidateRecord, RunStore, StoreError
from elmcore.types import Child, Evaluation, Outcome
from elmcore.workers import WorkerPool

STATE = "learner"
NEXT = "learner.next"
ITERATION_FILE = "iteration"


@dataclass
class LearnProgress:
    iteration: int  # iterations finished
    iterations: int
    seconds: float
    stats: dict[str, Any] = field(default_factory=dict)


def is_learning_config(config: Any) -> bool:
    """Whether a stored config is that of a learning run (``elm learn``)."""
    return isinstance(config, dict) and "learn" in config and "learner" in config


def domains_with_conditions(pm: PluginManager, conditions: Sequence[str]) -> list[str]:
    """The installed domains that know every one of ``conditions``."""
    names = []
    for name in pm.names("domain"):
        try:
            cls = pm.get("domain", name)
            if set(conditions) <= set(cls(cls.Config()).conditions()):
                names.append(name)
        except Exception:  # a domain that cannot be built with its defaults has no say here
            continue
    return names


def conditions_by_domain(pm: PluginManager) -> dict[str, tuple[str, list[str]]]:
    """Each installed domain that has conditions: (what it calls one, their names)."""
    found = {}
    for name in pm.names("domain"):
        try:
            cls = pm.get("domain", name)
            conditions = cls(cls.Config()).conditions()
        except Exception:  # a domain that cannot be built with its defaults has no say here
            continue
        if conditions:
            found[name] = (str(getattr(cls, "condition_word", "condition")), list(conditions))
    return found


def condition_stats(conditions: Sequence[str], evaluations: Sequence[Evaluation],
                    rewards: Sequence[float]) -> dict[str, Any]:
    """Per condition: samples, mean and max reward, % valid, best fitness."""
    out: dict[str, Any] = {}
    for condition in sorted(set(conditions)):
        picked = [i for i, c in enumerate(conditions) if c == condition]
        # a VALID evaluation has a fitness (Evaluation.valid), which the checker cannot know
        valid: list[float] = [evaluations[i].fitness  # type: ignore[misc]
                              for i in picked if evaluations[i].outcome is Outcome.VALID]
        out[condition] = {"samples": len(picked), "reward_mean": float(np.mean([rewards[i] for i in picked])),
                          "reward_max": float(max(rewards[i] for i in picked)),
                          "valid_pct": 100.0 * len(valid) / len(picked),
                          "best_fitness": float(max(valid)) if valid else None}
    return out


class Learning:
    """One learning run, bound to its run directory: ``Learning.start`` or ``Learning.resume``."""

    def __init__(self, run_dir: Path, config: LearnConfig | dict[str, Any], pm: PluginManager,
                 store: RunStore | None) -> None:
        self.run_dir = Path(run_dir)
        self.config = config = resolve_learning(config, pm)
        self.pm = pm
        self.store = store
        self.domain: Domain = config.domain.build()
        self.conditions = list(config.learn.conditions)
        known = self.domain.conditions()
        unknown = [c for c in self.conditions if c not in known]
        if unknown:
            raise ConfigError(f"learn.conditions: {unknown[0]!r} is not a condition of domain {self.domain.name!r}"
                              + (f"; it has {', '.join(known)}" if known else "; it has none"))
        self.learner: ConditionalLearner = config.learner.build(self.domain, self.conditions)

    def _prepare(self) -> None:
        try:
            self.learner.prepare()
        except ValueError as exc:
            raise ConfigError(f"learner {self.learner.name!r}: {exc}") from exc

    # -- construction -----------------------------------------------------------
    @classmethod
    def start(cls, run_dir: str | Path, config: LearnConfig | dict[str, Any], pm: PluginManager) -> "Learning":
        run_dir = Path(run_dir)
        learning = cls(run_dir, config, pm, None)  # a bad component fails before anything is created
        learning._prepare()
        learning.store = RunStore.create(run_dir, meta=new_run_meta(learning.config, pm))
        write_config_file(run_dir, learning.config)
        return learning

    @classmethod
    def resume(cls, run_dir: str | Path, pm: PluginManager, iterations: int | None = None,
               workers: int | None = None) -> "Learning":
        store = RunStore.open(Path(run_dir))
        stored = store.get_meta("config", kind=dict)
        try:
            config = resolve_learning(stored or {}, pm)
        except ConfigError as exc:
            raise refused_config(run_dir, exc) from exc
        changes = {k: v for k, v in (("iterations", iterations), ("workers", workers)) if v is not None}
        if changes:
            config = config.with_learn(**changes)
        store.set_meta("config", config.as_dict())
        learning = cls(Path(run_dir), config, pm, store)
        write_config_file(learning.run_dir, config)
        learning._prepare()
        learning._restore()
        return learning

    @classmethod
    def load(cls, run_dir: str | Path, pm: PluginManager) -> "Learning":
        """A learning run as it stands, read only: its learner holds the state of the last
        finished iteration (for evaluating what it learnt)."""
        store = RunStore.open(Path(run_dir), readonly=True)
        stored = store.get_meta("config", kind=dict)
        if not is_learning_config(stored):
            store.close()
            raise RunError(f"{run_dir} is not a learning run; make one with `elm learn`")
        try:
            config = resolve_learning(stored, pm)  # type: ignore[arg-type]
        except ConfigError as exc:
            store.close()
            raise refused_config(run_dir, exc) from exc
        learning = cls(Path(run_dir), config, pm, store)
        learning._prepare()
        last = store.next_batch() - 1
        if last >= 0:
            state = learning.run_dir / STATE
            if cls._iteration_of(state) != last:
                raise RunError(f"{state} does not hold the learner of iteration {last}; run `elm resume {run_dir}` "
                               "to finish the interrupted iteration first")
            learning.learner.load(state)
        return learning

    @staticmethod
    def _iteration_of(state: Path) -> int | None:
        try:
            return int((state / ITERATION_FILE).read_text())
        except (OSError, ValueError):
            return None

    def _restore(self) -> None:
        """Load the learner's state of the last committed iteration (finishing a swap a kill
        interrupted, or dropping the state of an iteration that was never committed)."""
        assert self.store is not None
        last = self.store.next_batch() - 1
        state, pending = self.run_dir / STATE, self.run_dir / NEXT
        if pending.exists():
            if self._iteration_of(pending) == last:  # committed, not yet swapped in
                shutil.rmtree(state, ignore_errors=True)
                pending.rename(state)
            else:
                shutil.rmtree(pending)
        if last < 0:
            return
        if self._iteration_of(state) != last:
            raise RunError(f"{self.run_dir / STATE} does not hold the learner of iteration {last}, the last one in "
                           "the store; the run directory was changed by hand, start a new run")
        self.learner.load(state)

    # -- the loop -----------------------------------------------------------------
    @property
    def iterations(self) -> int:
        return self.config.learn.iterations

    def run(self, on_progress: Callable[[LearnProgress], None] | None = None) -> dict[str, Any]:
        assert self.store is not None
        learn = self.config.learn
        seed, samples, workers = learn.seed, learn.samples, learn.workers
        started = time.perf_counter()
        iteration = self.store.next_batch()
        stats: dict[str, Any] = self.store.last_stats() or {}
        if iteration >= self.iterations:
            return stats
        pools = self.pools(workers)
        try:
            while iteration < self.iterations:
                rng = np.random.default_rng([seed, iteration])
                conditions = [self.conditions[i] for i in rng.integers(0, len(self.conditions), size=samples)]
                t0 = time.perf_counter()
                children = self._call("sample", self.learner.sample, conditions, rng)
                if len(children) != samples:
                    raise RunError(f"learner {self.learner.name!r} wrote {len(children)} programs for {samples} "
                                   "conditions; a learner must write one per condition")
                t1 = time.perf_counter()
                evaluations = self.evaluate(children, conditions, pools)
                t2 = time.perf_counter()
                learner_stats = self._call("learn", self.learner.update, evaluations, rng)
                t3 = time.perf_counter()
                rewards = self.learner.rewards(evaluations)
                stats = {"iteration": iteration, **learner_stats,
                         "conditions": condition_stats(conditions, evaluations, rewards),
                         "valid_pct": 100.0 * sum(e.outcome is Outcome.VALID for e in evaluations) / samples,
                         "seconds": {"sample": round(t1 - t0, 3), "evaluate": round(t2 - t1, 3),
                                     "update": round(t3 - t2, 3)}}
                records = self._records(iteration, children, conditions, evaluations, rewards)
                self._commit(iteration, records, t1 - t0, t2 - t1, stats)
                iteration += 1
                if on_progress:
                    on_progress(LearnProgress(iteration, self.iterations, time.perf_counter() - started, stats))
        finally:
            for pool in pools.values():
                pool.close()
        return stats

    def _call(self, what: str, method: Callable[..., Any], *args: Any) -> Any:
        try:
            return method(*args)
        except Exception as exc:
            raise RunError(f"learner {self.learner.name!r} failed to {what}: {type(exc).__name__}: {exc}; "
                           "nothing of this iteration was recorded") from exc

    def pools(self, workers: int) -> dict[str, WorkerPool]:
        """A worker pool per condition, each evaluating under its condition."""
        domain = self.config.domain
        configs = {}
        for c in sorted(set(self.conditions)):
            try:
                configs[c] = domain.cls.Config.model_validate({**domain.values(), **self.domain.condition_options(c)})
            except ValueError as exc:
                raise ConfigError(f"domain {domain.name!r} under condition {c!r}: {exc}") from exc
        return {c: WorkerPool(domain.cls, options, workers=workers) for c, options in configs.items()}

    @staticmethod
    def evaluate(children: Sequence[Child], conditions: Sequence[str],
                 pools: dict[str, WorkerPool]) -> list[Evaluation]:
        results: list[Evaluation | None] = [None] * len(children)
        for condition, pool in pools.items():
            picked = [i for i, c in enumerate(conditions) if c == condition and children[i].program is not None]
            for i, evaluation in zip(picked, pool.evaluate([children[i].program for i in picked])):  # type: ignore
                results[i] = evaluation
        for i, child in enumerate(children):
            if results[i] is None:
                results[i] = Evaluation.failed(child.outcome or Outcome.EDIT_FAILED,
                                               child.reason or "the learner wrote no program")
        return results  # type: ignore[return-value]

    def _records(self, iteration: int, children: Sequence[Child], conditions: Sequence[str],
                 evaluations: Sequence[Evaluation], rewards: Sequence[float]) -> list[CandidateRecord]:
        assert self.store is not None
        first = self.store.count()
        return [CandidateRecord(
            id=first + i, batch=iteration, parent_id=None, operator=child.operator, program=child.program,
            outcome=ev.outcome, reason=ev.reason, message=condition, prompt=child.prompt,
            completion=child.completion, fitness=ev.fitness, descriptors=ev.descriptors, eval_seconds=ev.seconds,
            extras={"condition": condition, "reward": reward, **child.meta, **ev.extras})
            for i, (child, condition, ev, reward) in enumerate(zip(children, conditions, evaluations, rewards))]

    def _commit(self, iteration: int, records: list[CandidateRecord], sample_s: float, evaluate_s: float,
                stats: dict[str, Any]) -> None:
        assert self.store is not None
        state, pending = self.run_dir / STATE, self.run_dir / NEXT
        partial = self.run_dir / (NEXT + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        try:
            partial.mkdir()
            self.learner.save(partial)
            (partial / ITERATION_FILE).write_text(str(iteration))
            shutil.rmtree(pending, ignore_errors=True)
            partial.rename(pending)
        except OSError as exc:
            raise StoreError(f"cannot save the learner to {pending}: {exc.strerror or exc}; free disk space, then "
                             f"`elm resume {self.run_dir}`") from exc
        self.store.commit_batch(iteration, records, sample_s, evaluate_s, stats)
        shutil.rmtree(state, ignore_errors=True)
        pending.rename(state)
        self.pm.batch_committed(self.run_dir, iteration, stats, records)

    def close(self) -> None:
        self.learner.close()
        if self.store is not None:
            self.store.close()


__all__ = ["LearnProgress", "Learning", "conditions_by_domain", "domains_with_conditions", "is_learning_config"]
