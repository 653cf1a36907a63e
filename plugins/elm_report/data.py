"""What a report shows of a run, read from its store: the run's settings, its progress
batch by batch, the outcome mix, the operators, the archive's elites, the best elites and the
lineage of the best one. Queries group in SQLite, so a 100,000-candidate run reads quickly."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elmcore import is_learning_config
from elmcore import CandidateRecord, RunStore, StoreError, edited_store_error

OUTCOMES = ("no_edit", "edit_failed", "duplicate", "not_runnable", "invalid", "valid")
MAX_LINEAGE = 200


class ReportError(ValueError):
    """A run cannot be reported; the message says why and what to do."""


@dataclass
class RunData:
    path: Path
    config: dict[str, Any]
    label: str = ""
    candidates: int = 0  # every proposal stored, duplicates included
    evaluations: int = 0  # what the budget counts: all but the duplicates
    budget: int | None = None
    curve: list[dict[str, float | None]] = field(default_factory=list)  # per batch: evals, filled, qd, best
    outcome_by_batch: list[tuple[int, dict[str, int]]] = field(default_factory=list)  # (evals so far, counts)
    outcomes: dict[str, int] = field(default_factory=dict)
    operators: dict[str, dict[str, int]] = field(default_factory=dict)  # operator -> outcome counts + entered
    elites: list[tuple[float, tuple[float, ...]]] = field(default_factory=list)  # fitness, descriptors
    top: list[CandidateRecord] = field(default_factory=list)
    lineage: list[CandidateRecord] = field(default_factory=list)  # seed first, best last

    def setting(self, section: str, key: str) -> Any:
        values = self.config.get(section)
        return values.get(key) if isinstance(values, dict) else None

    @property
    def domain(self) -> str:
        return str(self.setting("domain", "name"))

    @property
    def duplicate_pct(self) -> float:
        """% of the proposals that repeated a program already evaluated (not evaluated again)."""
        return 100.0 * (self.candidates - self.evaluations) / self.candidates if self.candidates else 0.0

    @property
    def last(self) -> dict[str, float | None]:
        return self.curve[-1] if self.curve else {}


def read_run(run_dir: Path, top: int = 5) -> RunData:
    try:
        store = RunStore.open(run_dir, readonly=True)
    except StoreError as exc:
        raise ReportError(str(exc)) from None
    try:
        config = store.get_meta("config", kind=dict) or {}
        if is_learning_config(config):
            raise ReportError(f"{run_dir} is a learning run (`elm learn`); report shows runs of `elm run` and "
                              "`elm sample`: see it with `elm status` and `elm evaluate-learner`")
        run = RunData(Path(run_dir), config)
        run.candidates = store.count()
        run.evaluations = store.evaluations()
        run.budget = run.setting("run", "evals")
        ends = {}  # batch -> evaluations by its end (a store made before duplicates were kept: candidates)
        for batch, stats in store.stats_by_batch():
            ends[batch] = stats.evals
            run.curve.append({"evals": stats.evals, "filled": stats.filled, "qd_score": stats.qd_score,
                              "max_fitness": stats.max_fitness, "niches": stats.niches})
        run.outcome_by_batch = [(ends.get(b, 0), counts) for b, counts in sorted(store.outcomes_by_batch().items())]
        run.outcomes = store.outcome_counts()
        run.operators = store.outcomes_by_operator()
        run.elites = [(fitness, descriptors) for _, fitness, descriptors in store.current_elites()]
        run.top = store.top_elites(top)
        best = run.top[0] if run.top else store.best()
        if best is not None:
            chain = [best]
            while chain[-1].parent_id is not None and len(chain) < MAX_LINEAGE:
                parent = store.get(chain[-1].parent_id)
                if parent is None:
                    break
                chain.append(parent)
            run.lineage = chain[::-1]
        for record in (*run.top, *run.lineage):
            _check_fitness(store, record.id, record.fitness)
        return run
    except StoreError as exc:  # a hand-edited or damaged store: one line, as `elm status` gives
        raise ReportError(str(exc)) from None
    finally:
        store.close()


def _check_fitness(store: RunStore, cid: int, fitness: Any) -> None:
    """A stored fitness is a finite number or none; anything else is an edited store."""
    if fitness is not None and not (isinstance(fitness, (int, float)) and math.isfinite(fitness)):
        raise edited_store_error(store.path, f"the fitness of candidate {cid} is {str(fitness)[:40]!r}, "
                                             "not a finite number")


def label_runs(runs: list[RunData]) -> None:
    """Each run's label: mutator, seed program, seed; the directory name where two agree."""
    for run in runs:
        seed_program = run.setting("domain", "seed_program")
        parts = [str(run.setting("mutator", "name")), f"seed {run.setting('run', 'seed')}"]
        if seed_program:
            parts.insert(1, str(seed_program))
        run.label = " · ".join(parts)
    labels = [r.label for r in runs]
    for run in runs:
        if labels.count(run.label) > 1:
            run.label = f"{run.label} ({run.path.name})"


def read_compare(out_dir: Path) -> dict[str, Any] | None:
    """An `elm compare` output directory's results.json, or None when the directory has none."""
    path = Path(out_dir) / "results.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: not readable JSON ({exc}); rerun `elm compare` to write it again") from None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise ReportError(f"{path}: not the results of `elm compare` (no rows)")
    return data
