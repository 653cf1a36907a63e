"""Runs a checked comparison plan: every operator on every bug count, evaluated through
WorkerPools (spawned workers, so the process holding a model never forks), with the result
files rewritten after each (operator, bugs) cell so an interrupted run keeps what it did."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import zlib
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from elmcore import Domain, Mutator
from elmcore import PluginManager
from elmcore import WorkerCrashed, WorkerPool
from elm_compare.counting import CompareError, TrialCount, VerdictCache, count_successes
from elm_compare.options import ComparePlan, OperatorPlan
from elm_compare.results import format_pct, write_results

PROGRESS_EVERY_S = 10.0
Echo = Callable[[str], None]


def trial_rng(seed: int, operator: str, bugs: int | None) -> np.random.Generator:
    """The generator of one (operator, bugs) cell: independent of which other cells run."""
    return np.random.default_rng([seed, zlib.crc32(operator.encode("utf-8")), 0 if bugs is None else bugs])


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"platform": platform.platform(), "python": sys.version.split()[0], "cpus": os.cpu_count(),
            "load_average_start": [round(v, 2) for v in load] if load else None}


class Comparison:
    """One ``elm compare`` run into ``out_dir``."""

    def __init__(self, plan: ComparePlan, pm: PluginManager, out_dir: Path, echo: Echo = print,
                 progress: Echo | None = None) -> None:
        self.plan, self.pm, self.out_dir = plan, pm, Path(out_dir)
        self.echo, self.progress = echo, progress
        self.counts: list[TrialCount] = []
        self.domain_cls: type[Domain] = pm.get("domain", plan.domain)
        self.domains = {b: self.domain_cls(self.domain_cls.Config(**options))
                        for b, options in plan.domain_options.items()}
        self.started = time.perf_counter()
        self.meta: dict[str, Any] = {
            "domain": plan.domain, "bugs": list(plan.bugs), "seed": plan.seed, "workers": plan.workers,
            "operators": [{"name": o.name, "mutator": o.mutator, "config": o.options, "trials": o.trials,
                           "batch_size": o.batch_size}
                          for o in plan.operators],
            "settings": plan.settings, "command": " ".join(["elm", *sys.argv[1:]]),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
            "complete": False}
        self._pools: dict[str, WorkerPool] = {}
        self._mutators: list[Mutator] = []  # prepared and not yet run, in plan order
        self._caches: dict[str, VerdictCache] = {}

    def prepare(self) -> None:
        """Build and prepare every operator (load its model, check its server settings), so a
        bad model fails before any trial is made or any file written."""
        try:
            for operator in self.plan.operators[len(self._mutators):]:
                self._mutators.append(self._mutator(operator))
        except BaseException:
            self._close_mutators()
            raise

    def run(self) -> list[TrialCount]:
        """Every operator on every bug count (preparing them first if that was not done)."""
        try:
            self.prepare()
            for operator in self.plan.operators:
                self._run_operator(operator, self._mutators[0])
                self._mutators.pop(0).close()  # frees its model before the next operator runs
            self.meta["complete"] = True
            self._write()
        finally:
            self._close_mutators()
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()
        return self.counts

    def _close_mutators(self) -> None:
        while self._mutators:
            self._mutators.pop(0).close()

    def _run_operator(self, operator: OperatorPlan, mutator: Mutator) -> None:
        for bugs in self.plan.bugs:
            domain = self.domains[bugs]
            count = count_successes(mutator, domain.seed_programs()[0], operator.trials,
                                    trial_rng(self.plan.seed, operator.name, bugs), self._cache(bugs),
                                    operator.batch_size, bugs=bugs, on_batch=self._progress_printer(operator),
                                    label=operator.name)
            self.counts.append(count)
            self._write()
            low, high = count.interval()
            self.echo(f"{operator.name} bugs {'seed' if bugs is None else bugs}: solved {count.successes:,} of "
                      f"{count.trials:,} = {format_pct(100 * count.rate)} % (95 % {format_pct(100 * low)}-"
                      f"{format_pct(100 * high)}) | {count.distinct_programs:,} distinct children | "
                      f"{count.seconds:.1f} s" + (f" | {count.lenient_successes:,} more solved by edits applied "
                                                  "leniently, not credited" if count.lenient_successes else ""))

    def _mutator(self, operator: OperatorPlan) -> Mutator:
        cls = self.pm.get("mutator", operator.mutator)
        context = next(iter(self.domains.values())).mutation_context()
        try:
            mutator = cls(cls.Config(**operator.options), context=context)
            mutator.prepare()
        except Exception as exc:  # a model that will not load, a missing key: the plugin's own message
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            prefix = "" if isinstance(exc, ValueError) else f"{type(exc).__name__}: "
            raise CompareError(f"operator {operator.name!r}: {prefix}{message} (elm compare takes an operator's "
                               f"keys as --set {operator.name}.KEY=VALUE, e.g. --set {operator.name}.model=PATH)"
                               ) from exc
        return mutator

    def _cache(self, bugs: int | None) -> VerdictCache:
        """One worker pool and verdict cache per distinct domain config, shared by all operators."""
        options = self.plan.domain_options[bugs]
        key = json.dumps(options, sort_keys=True, default=str)
        if key not in self._caches:
            try:
                pool = WorkerPool(self.domain_cls, options, workers=self.plan.workers)
            except WorkerCrashed as exc:
                raise CompareError(f"evaluation workers did not start: {exc}") from exc
            self._pools[key] = pool
            self._caches[key] = VerdictCache(self.domains[bugs], pool.evaluate)
        return self._caches[key]

    def _progress_printer(self, operator: OperatorPlan) -> Callable[[TrialCount], None]:
        last = [time.monotonic()]

        def show(count: TrialCount) -> None:
            if self.progress is None or time.monotonic() - last[0] < PROGRESS_EVERY_S:
                return
            last[0] = time.monotonic()
            rate = count.trials / count.seconds if count.seconds else 0.0
            self.progress(f"  {operator.name} bugs {count.bugs}: {count.trials:,}/{operator.trials:,} trials, "
                          f"{count.successes:,} solved, {count.distinct_programs:,} distinct, {rate:,.0f} trials/s")

        return show

    def _write(self) -> list[Path]:
        load = os.getloadavg() if hasattr(os, "getloadavg") else None
        self.meta["machine"]["load_average_now"] = [round(v, 2) for v in load] if load else None
        self.meta["seconds"] = round(time.perf_counter() - self.started, 1)
        m = self.meta["machine"]
        self.meta["machine"]["note"] = (
            f"seed {self.plan.seed}, {self.plan.workers} evaluation worker(s), {self.meta['seconds']:.0f} s in all; "
            f"{m['platform']}, Python {m['python']}, {m['cpus']} CPUs, load average (1/5/15 min) "
            f"{m['load_average_start']} at the start, {m['load_average_now']} at the end.")
        return write_results(self.out_dir, self.meta, self.counts)
