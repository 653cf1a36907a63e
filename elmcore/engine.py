"""The ELM loop: select -> mutate -> evaluate -> insert -> record, one batch at a time.

The engine knows components only through their interfaces. Randomness for batch k comes
from ``numpy.random.default_rng([seed, k])``, so a run is a pure function of its config,
and a resumed run continues exactly where an uninterrupted one would have gone.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from elmcore.aims import NoWords, check_words
from elmcore.config import ConfigError, RunConfig, resolve, with_stored_defaults
from elmcore.duplicates import Proposals, program_key
from elmcore.interfaces import Domain, Mutator
from elmcore.islands import RunArchive
from elmcore.plugins import PluginManager
from elmcore.portfolio import Bandit, Operators, PortfolioError
from elmcore.rundir import CONFIG_FILE, new_run_meta, write_config_file
from elmcore.store import CandidateRecord, RunStore, StoreError
from elmcore.types import ArchiveStats, BatchStats, Child, Evaluation, OperatorBatchStats, Outcome
from elmcore.workers import Job, WorkerPool

STALLED_BATCHES = 5
"""A run stops (cleanly, everything stored) after this many batches in a row whose every
proposal, replacements included, repeated a program the run had already evaluated."""


class RunError(RuntimeError):
    """A run cannot go on; the message says why and what to do."""


@dataclass
class Progress:
    evals: int
    budget: int
    batch: int
    seconds: float
    new_evals: int  # evaluations done by this process (for the rate)
    stats: ArchiveStats
    counts: dict[str, int]
    operators: dict[str, dict[str, int]] = field(default_factory=dict)  # a portfolio's children and entries

    @property
    def evals_per_s(self) -> float:
        return self.new_evals / self.seconds if self.seconds > 0 else 0.0

    def percent(self, *outcomes: Outcome) -> float:
        """% of the evaluations (duplicates left out: they cost none)."""
        total = sum(n for o, n in self.counts.items() if o != Outcome.DUPLICATE.value)
        return 100.0 * sum(self.counts.get(o.value, 0) for o in outcomes) / total if total else 0.0

    @property
    def duplicate_pct(self) -> float:
        """% of the proposals that repeated a program already evaluated (not evaluated again)."""
        total = sum(self.counts.values())
        return 100.0 * self.counts.get(Outcome.DUPLICATE.value, 0) / total if total else 0.0

    @property
    def edit_ok_pct(self) -> float:
        """% of children the mutator produced a parseable program for."""
        return self.percent(Outcome.NOT_RUNNABLE, Outcome.INVALID, Outcome.VALID)

    @property
    def ran_pct(self) -> float:
        """% of children whose program ran to a result in the sandbox."""
        return self.percent(Outcome.INVALID, Outcome.VALID)

    @property
    def valid_pct(self) -> float:
        return self.percent(Outcome.VALID)


@dataclass
class _InFlight:
    """A batch submitted for evaluation: its proposals, their generation time, when it was
    submitted, the indices of the children that have a program, and the pool's job."""

    proposals: Proposals
    generate_seconds: float
    submitted: float
    runnable: list[int]
    job: Job


def refused_config(run_dir: str | Path, exc: Exception) -> RunError:
    """The error of a resume whose stored config the installed plugins no longer accept."""
    return RunError(f"the installed plugins refuse the config {run_dir} was started with ({exc}); resume it "
                    "with the plugin versions it was made with, or start a new run")


def build_components(config: RunConfig | dict[str, Any], pm: PluginManager
                     ) -> tuple[Domain, Operators, RunArchive]:
    """Instantiate the run's domain, mutators (one, or a portfolio) and QD algorithm; a
    component that refuses its config (ValueError) becomes a one-line ConfigError naming the
    section."""
    config = resolve(config, pm)
    domain = config.domain.build()
    mutators = []
    for section in config.mutators:
        mutator = section.build(context=domain.mutation_context())  # built here first: a bad config fails here
        if config.run.ray_generate_on != "local":
            from elmcore.ray_pool import RemoteMutator

            mutator = RemoteMutator(section.cls, section.options, domain.mutation_context(),
                                    config.run.ray_generate_on, config.run.ray_address)
        mutators.append((section.label or section.name, mutator))
    try:
        operators = Operators(mutators, config.run.portfolio, config.run.portfolio_floor,
                              config.run.portfolio_credit_new_niche, config.run.portfolio_credit_improvement)
    except ValueError as exc:
        raise ConfigError(f"mutator.name {config.mutator_name!r}: {exc}") from exc
    space = domain.behaviour_space()
    qd = RunArchive(lambda: config.qd.build(space=space, seed=config.run.seed), config.run.islands,
                    config.run.migrate_every, config.run.migrants)
    operators.space, operators.subject = list(qd.dimensions), domain.mutation_context().subject
    directed = [label for label, m in operators.mutators if m.directed]
    if directed:
        try:
            check_words(operators.space, domain.name)
        except NoWords as exc:
            raise ConfigError(f"mutator {directed[0]!r}: {exc}") from exc
    return domain, operators, qd


def evaluation_pool(config: RunConfig, domain_cls: type[Domain]) -> Any:
    """The run's evaluation pool: local worker processes, or Ray actors (``run.executor``)."""
    options = config.domain.options
    if config.run.executor == "ray":
        from elmcore.ray_pool import RayPool

        return RayPool(domain_cls, options, workers=config.run.workers, address=config.run.ray_address)
    return WorkerPool(domain_cls, options, workers=config.run.workers)


def _prepare(operators: Operators) -> None:
    for label, mutator in operators.mutators:
        try:
            mutator.prepare()
        except ValueError as exc:
            raise ConfigError(f"mutator {label!r}: {exc}") from exc


class Engine:
    """One run, bound to its run directory. Create with ``Engine.start`` or ``Engine.resume``."""

    def __init__(self, run_dir: Path, config: RunConfig, pm: PluginManager, store: RunStore,
                 components: tuple[Domain, Operators, RunArchive] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.config = config
        self.pm = pm
        self.store = store
        self.domain, self.operators, self.qd = components or build_components(config, pm)
        self._bandit_before_last: Bandit | None = None  # the portfolio's record before the last batch
        self.counts: dict[str, int] = store.outcome_counts()
        self.operator_counts = {op: c for op, c in store.operator_counts().items() if op != "seed"}
        self._before_last: RunArchive | None = None  # the archive before the last committed batch
        self.seen: dict[str, int] = {}  # hash of each normalised program proposed -> its first candidate
        self.stalled = store.trailing_stalled_batches()  # batches in a row with nothing but duplicates
        self._rebuild_archive()

    # -- construction -----------------------------------------------------------
    @classmethod
    def start(cls, run_dir: str | Path, config: RunConfig | dict[str, Any], pm: PluginManager) -> "Engine":
        """A new run in ``run_dir``; ``config`` is a ``RunConfig`` (``elmcore.config.build_config``)
        or plain data, which is validated first."""
        run_dir = Path(run_dir)
        config = resolve(config, pm)
        if config.run.executor == "ray" or config.run.ray_generate_on != "local":
            from elmcore.ray_pool import connect

            connect(config.run.ray_address)  # not installed or not reachable: say so before anything is created
        components = build_components(config, pm)  # a bad component fails before anything is created
        _prepare(components[1])
        store = RunStore.create(run_dir, meta=new_run_meta(config, pm))
        write_config_file(run_dir, config)
        return cls(run_dir, config, pm, store, components)

    @classmethod
    def resume(cls, run_dir: str | Path, pm: PluginManager, evals: int | None = None,
               workers: int | None = None) -> "Engine":
        store = RunStore.open(Path(run_dir))
        stored = store.get_meta("config", kind=dict)
        if not stored:
            raise RunError(f"{run_dir} holds no run config; it was not created by `elm run`")
        try:
            # the installed plugins must still accept the run's config; keys added since keep the
            # value the run had in effect (PluginConfig.stored_defaults)
            config = resolve(with_stored_defaults(stored, pm), pm)
        except ConfigError as exc:
            raise refused_config(run_dir, exc) from exc
        changes = {k: v for k, v in (("evals", evals), ("workers", workers)) if v is not None}
        if changes:
            config = config.with_run(**changes)
        store.set_meta("config", config.as_dict())
        write_config_file(Path(run_dir), config)
        engine = cls(Path(run_dir), config, pm, store)
        _prepare(engine.operators)
        return engine

    @property
    def mutator(self) -> Mutator:
        """The run's mutator (the first operator of a portfolio)."""
        return self.operators.mutators[0][1]

    def _rebuild_archive(self) -> None:
        """Re-insert every committed valid candidate, batch by batch, and check that the
        archive decisions match what was recorded when the batch was first inserted."""
        last = self.store.next_batch() - 1
        valid = dict(self.store.valid_by_batch())
        for batch in range(last + 1):
            if batch == last and self.config.run.overlap:
                self._before_last = copy.deepcopy(self.qd)  # batch last+1 was chosen from this state
            group = valid.get(batch, [])
            self.qd.use(batch, everywhere=batch == 0 and not self.operators.invents)  # the seed batch: every island
            results = self.qd.insert([c.id for c in group], [c.program for c in group], [c.fitness for c in group],
                                     [c.descriptors for c in group]) if group else []
            for candidate, result in zip(group, results):
                if result.added != candidate.entered or result.niche != candidate.niche:
                    raise RunError(
                        f"the archive rebuilt from {self.store.path} disagrees with the record at candidate "
                        f"{candidate.id} "
                        f"(batch {batch}): the run was made with another QD config or plugin version; "
                        "resume it with the versions listed by `elm plugins` at the time, or start a new run")
            if self.qd.due(batch):
                self.qd.migrate()
        if self.operators.portfolio:  # the portfolio's record, batch by batch as the run made it
            for batch, outcomes in self.store.operators_by_batch():
                if batch == last and self.config.run.overlap:
                    self._bandit_before_last = self.operators.snapshot()
                self.operators.bandit.credit(outcomes)

    # -- the loop -----------------------------------------------------------------
    @property
    def budget(self) -> int:
        return self.config.run.evals

    def run(self, on_progress: Callable[[Progress], None] | None = None) -> ArchiveStats:
        """Run batches until ``run.evals`` evaluations are done (duplicates cost none). With
        ``run.overlap`` the next batch is generated while the current one is evaluated."""
        batch_size, overlap = self.config.run.batch_size, self.config.run.overlap
        started = time.perf_counter()
        new_evals = 0
        done = self.store.evaluations()  # what the budget counts: every candidate but the duplicates
        batch = self.store.next_batch()
        if done >= self.budget:
            return self.qd.stats()
        self.seen = self._seen_programs()
        first_id = self.store.count()  # candidate ids count duplicates too
        # the children of the next batch (every proposal, duplicates included), and their generation time
        staged: tuple[Proposals, float] | None = None
        if overlap and self._before_last is not None and self._can_stage(self._before_last):
            # resuming: the uninterrupted run chose this batch's parents (and split) before the last batch was inserted
            staged = self._timed_propose(batch, min(batch_size, self.budget - done), self._before_last, first_id,
                                         self._bandit_before_last)
        self._before_last = self._bandit_before_last = None
        pool = evaluation_pool(self.config, type(self.domain))
        current: _InFlight | None = None  # the batch being evaluated
        try:
            while done < self.budget:
                if current is None:
                    if staged is None:
                        staged = self._timed_propose(batch, min(batch_size, self.budget - done), self.qd, first_id)
                    current = _InFlight(*staged, time.perf_counter(), *self._submit(staged[0].children, pool))
                    staged = None
                proposals = current.proposals
                after = done + proposals.evaluations
                following = None
                if overlap and after < self.budget and self._can_stage(self.qd):
                    # the next batch is generated while this one is evaluated, and queued behind it at
                    # once, so the workers go on to it without waiting for this batch to be inserted
                    ahead = self._timed_propose(batch + 1, min(batch_size, self.budget - after), self.qd,
                                                proposals.first_id + len(proposals.children))
                    following = _InFlight(*ahead, time.perf_counter(), *self._submit(ahead[0].children, pool))
                evaluations = dict(zip(current.runnable, current.job.result()))
                records, stats = self._commit(batch, current, evaluations, after)
                current = following
                done = after
                first_id += len(records)
                new_evals += proposals.evaluations
                self._check_going(records, proposals, stats, done)
                batch += 1
                if on_progress:
                    on_progress(Progress(done, self.budget, batch - 1, time.perf_counter() - started, new_evals,
                                         stats, dict(self.counts),
                                         copy.deepcopy(self.operator_counts) if self.operators.portfolio else {}))
        finally:
            pool.close()
            self.operators.close()
        return self.qd.stats()

    def _can_stage(self, archive: RunArchive) -> bool:
        """Whether a batch can be proposed from ``archive`` before the current one is inserted
        (not while it is empty: the seed batch decides what the first children come from)."""
        return self.operators.invents or archive.stats().filled > 0

    def _timed_propose(self, batch: int, n: int, archive: RunArchive, first_id: int,
                       bandit: Bandit | None = None) -> tuple[Proposals, float]:
        t0 = time.perf_counter()
        proposals = self._propose(batch, n, np.random.default_rng([self.config.run.seed, batch]), archive, first_id,
                                  bandit)
        return proposals, time.perf_counter() - t0

    def _commit(self, batch: int, flight: _InFlight, evaluations: dict[int, Evaluation],
                evals: int) -> tuple[list[CandidateRecord], ArchiveStats]:
        """Insert batch ``batch``'s evaluated children, credit the portfolio, migrate between
        islands, and write the batch with its statistics (``evals`` done after it) to the store;
        then the hooks hear of it. Returns its records and the archive's statistics."""
        evaluate_seconds = time.perf_counter() - flight.submitted
        proposals = flight.proposals
        self.qd.use(batch, everywhere=batch == 0 and not self.operators.invents)  # the seed batch: every island
        records = self._insert(batch, proposals, evaluations)
        stats = self.qd.stats()
        operators: dict[str, OperatorBatchStats] = {}
        if self.operators.portfolio:
            spent = [r for r in records if r.outcome is not Outcome.DUPLICATE]  # duplicates cost nothing
            self.operators.bandit.credit((r.operator, r.entered, r.status) for r in spent)
            operators = self._operator_stats(records)
        islands = self.qd.island_stats()
        migrated = self.qd.migrate() if self.qd.due(batch) else None
        committed = BatchStats(evals=evals, filled=stats.filled, niches=stats.niches, qd_score=stats.qd_score,
                               max_fitness=stats.max_fitness, duplicates=proposals.duplicates, operators=operators,
                               islands=islands, migrated=migrated)
        self.store.commit_batch(batch, records, flight.generate_seconds, evaluate_seconds, committed)
        self.pm.batch_committed(self.run_dir, batch, committed, records)
        self._tally(records)
        return records, stats

    def _tally(self, records: list[CandidateRecord]) -> None:
        """Add a committed batch to the run's outcome counts (and each portfolio operator's)."""
        for r in records:
            self.counts[r.outcome] = self.counts.get(r.outcome, 0) + 1
            if self.operators.portfolio and r.operator != "seed":
                mine = self.operator_counts.setdefault(
                    r.operator, {"children": 0, "valid": 0, "entered": 0, "duplicates": 0})
                duplicate = r.outcome is Outcome.DUPLICATE
                mine["children"] += not duplicate
                mine["duplicates"] += duplicate
                mine["valid"] += r.outcome is Outcome.VALID
                mine["entered"] += int(r.entered)

    def _check_going(self, records: list[CandidateRecord], proposals: Proposals, stats: ArchiveStats,
                     done: int) -> None:
        """Stop the run with a RunError when it cannot go on: no seed was valid (nothing is
        kept), or the mutator has proposed nothing new for ``STALLED_BATCHES`` batches."""
        if stats.filled == 0 and not self.operators.invents:
            reasons = "; ".join(sorted({r.reason or r.outcome for r in records}))[:400]
            self._discard()
            raise RunError(f"no seed program of domain {self.domain.name!r} is valid ({reasons}); "
                           f"{self.domain.seed_advice()} (nothing was kept in {self.run_dir})")
        self.stalled = self.stalled + 1 if records and not proposals.evaluations else 0
        if self.stalled >= STALLED_BATCHES:
            raise RunError(
                f"mutator {self.operators.name!r} proposed only programs the run had already evaluated "
                f"in the last {self.stalled} batches ({self.counts.get(Outcome.DUPLICATE, 0)} duplicates "
                f"in all, with run.duplicate_retries={self.config.run.duplicate_retries} replacement rounds "
                f"per batch); the run stops at {done} of {self.budget} evaluations with everything stored "
                f"in {self.run_dir}. Raise the sampling temperature or run.duplicate_retries, or choose "
                "another mutator; `elm resume` tries again")

    def _seen_programs(self) -> dict[str, int]:
        """Hash of every program the run has proposed for evaluation -> its first candidate,
        from the store (a store written before hashes were stored: hashed here)."""
        seen = self.store.program_keys()
        for cid, program in self.store.unhashed_programs():
            seen.setdefault(program_key(self.domain, program), cid)
        return seen

    def _propose(self, batch: int, n: int, rng: np.random.Generator, archive: RunArchive, first_id: int,
                 bandit: Bandit | None = None) -> Proposals:
        """Batch ``batch``: ``n`` children, and for each that repeats a program the run has
        already seen, a replacement from the same operator, up to ``run.duplicate_retries``
        rounds. Replacements draw from ``rng`` after the batch's children, so the batch is
        still a function of the seed and the committed batches."""
        proposals = Proposals(first_id)
        children = self._children(batch, n, rng, archive, bandit)
        seeding = bool(children) and all(c.operator == "seed" and c.parent_id is None for c in children) \
            and not self.operators.invents
        reject = self.config.run.deduplicate
        repeated = proposals.add(children, self.seen, self.domain, reject)
        for _ in range(self.config.run.duplicate_retries):
            if not repeated or seeding:
                break
            wanted = Counter(c.operator if self.operators.portfolio else self.operators.labels[0] for c in repeated)
            try:
                more = self.operators.make({label: wanted.get(label, 0) for label in self.operators.labels},
                                           archive, rng)
            except PortfolioError as exc:
                raise RunError(str(exc)) from exc
            repeated = proposals.add(more, self.seen, self.domain, reject)
        return proposals

    def _children(self, batch: int, n: int, rng: np.random.Generator, archive: RunArchive,
                  bandit: Bandit | None = None) -> list[Child]:
        archive.use(batch)
        if not self.operators.invents and archive.stats().filled == 0:
            if self.store.count() > 0:
                raise RunError("the archive is empty although candidates were evaluated: no seed was valid; "
                               f"start a new run: {self.domain.seed_advice()}")
            seeds = self.domain.seed_programs()[:n]
            return [Child(program=p, parent_id=None, operator="seed") for p in seeds]
        try:
            return self.operators.children(n, archive, rng, bandit)
        except PortfolioError as exc:
            raise RunError(str(exc)) from exc

    def _operator_stats(self, records: list[CandidateRecord]) -> dict[str, OperatorBatchStats]:
        """Per operator of a portfolio: its share of this batch, its children, how many entered
        the archive, and the share the bandit gives it next."""
        shares = self.operators.bandit.shares()
        spent = [r for r in records if r.outcome is not Outcome.DUPLICATE]
        out = {}
        for label in self.operators.labels:
            mine = [r for r in spent if r.operator == label]
            out[label] = OperatorBatchStats(children=len(mine), entered=sum(r.entered for r in mine),
                                            duplicates=sum(r.operator == label for r in records) - len(mine),
                                            share=round(len(mine) / max(1, len(spent)), 4),
                                            next_share=round(shares[label], 4))
        return out

    @staticmethod
    def _submit(children: list[Child], pool: Any) -> tuple[list[int], Job]:
        """Queue the children that have a program; their indices and the pool's job."""
        runnable = [i for i, c in enumerate(children) if c.program is not None and c.outcome is None]
        return runnable, pool.submit([children[i].program for i in runnable])  # type: ignore[misc]

    def _insert(self, batch: int, proposals: Proposals, evaluations: dict[int, Evaluation]) -> list[CandidateRecord]:
        children, first_id = proposals.children, proposals.first_id
        records: list[CandidateRecord] = []
        valid: list[int] = []
        for i, child in enumerate(children):
            ev = evaluations.get(i)
            if ev is None:
                outcome = child.outcome or Outcome.EDIT_FAILED
                ev = Evaluation.failed(outcome, child.reason or "the mutator produced no program")
            records.append(CandidateRecord(
                id=first_id + i, batch=batch, parent_id=child.parent_id, operator=child.operator,
                program=child.program, outcome=ev.outcome, reason=ev.reason, message=child.message,
                prompt=child.prompt, completion=child.completion, diff=child.diff, fitness=ev.fitness,
                descriptors=ev.descriptors, eval_seconds=ev.seconds,
                extras={**child.meta, **ev.extras} or None, program_hash=proposals.keys[i],
                duplicate_of=proposals.originals[i]))
            if ev.outcome is Outcome.VALID:
                if ev.fitness is None or ev.descriptors is None or not np.isfinite(ev.fitness) \
                        or len(ev.descriptors) != len(self.qd.dimensions) \
                        or not np.all(np.isfinite(ev.descriptors)):
                    rec = records[-1]
                    rec.outcome, rec.reason = Outcome.INVALID, (
                        f"domain returned a valid outcome with unusable fitness {ev.fitness!r} or descriptors "
                        f"{ev.descriptors!r} (expected {len(self.qd.dimensions)} finite numbers)")
                    continue
                valid.append(i)
        if valid:
            # the records of valid children have a fitness and descriptors (checked above)
            results = self.qd.insert([records[i].id for i in valid], [children[i].program or "" for i in valid],
                                     [records[i].fitness for i in valid],  # type: ignore[misc]
                                     [records[i].descriptors for i in valid])  # type: ignore[misc]
            for i, result in zip(valid, results):
                records[i].niche, records[i].status, records[i].entered = (result.niche, result.status,
                                                                           result.added)
        return records

    def close(self) -> None:
        self.store.close()

    def _discard(self) -> None:
        """Delete what this run wrote (its store, config.yaml, and the directory if that empties
        it): a fresh run whose seeds all failed holds nothing to resume."""
        self.store.discard()
        (self.run_dir / CONFIG_FILE).unlink(missing_ok=True)
        try:
            self.run_dir.rmdir()
        except OSError:  # other files are there: they are the user's
            pass


__all__ = ["Engine", "Progress", "RunError", "StoreError", "build_components"]
