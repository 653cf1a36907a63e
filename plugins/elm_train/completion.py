"""The generalisation test of the ELM paper (its Appendix F): a model is given the first
half of a program it has not seen (the first half of its lines) and writes the rest, ``n``
times; every completion is evaluated in the sandbox, and the best one's fitness is
reported as a percentage of the original program's fitness (0 % when no completion is
valid; no percentage when the original itself is not valid or does not move).

Programs come from a dataset's held-out split, from ``.py`` files, or by name from the
domain's seed programs (for Sodarace: wheel, galloper and runner, walkers from lineages
no Stage-1 run here starts from).
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from elmcore import Outcome
from elmcore import RunConfig
from elm_train.dataset_dir import MANIFEST, DatasetError, load_split, read_manifest


class CompletionError(ValueError):
    """A completion task that cannot be set up; the message names the input."""


@dataclass(frozen=True)
class Task:
    name: str
    program: str
    source: str


def first_half(program: str) -> str:
    """The first half of the program's lines (rounded down), each with its newline."""
    lines = program.splitlines(keepends=True)
    return "".join(lines[:len(lines) // 2])


def _dataset_tasks(path: Path, count: int) -> list[Task]:
    try:
        manifest = read_manifest(path)
        if manifest.get("kind") != "programs":
            raise CompletionError(f"--complete {path}: a dataset of {manifest.get('kind')}, not of programs")
        rows = load_split(path, "test")
    except DatasetError as exc:
        raise CompletionError(str(exc)) from None
    if not rows:
        raise CompletionError(f"--complete {path}: the dataset has no held-out programs (it was made with "
                              "--holdout 0); pass program files instead")
    rows.sort(key=lambda r: hashlib.sha256(r["program"].encode()).digest())
    return [Task(f"held-out {r['seed']} #{r['candidate_id']}", r["program"], f"{path}: {r['run']}")
            for r in rows[:count]]


def _seed_task(name: str, resolved: RunConfig, pm: Any) -> Task:
    section = resolved.domain
    if "seed_program" not in section.values():
        raise CompletionError(f"--complete {name}: not a file or directory, and domain {section.name!r} "
                              "has no named seed programs")
    cls = section.cls
    try:
        domain = cls(cls.Config(**{**section.values(), "seed_program": name}))
    except ValueError as exc:
        first = str(exc).strip().splitlines()[-1]
        raise CompletionError(f"--complete {name}: not a file, a directory or a seed program ({first})") from None
    return Task(name, domain.seed_programs()[0], f"seed {name}")


def completion_tasks(specs: list[str], resolved: RunConfig, pm: Any, per_dataset: int) -> list[Task]:
    """The programs to complete, in the order given."""
    found: list[Task] = []
    for spec in specs:
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            path = Path(part)
            if path.is_dir() and (path / MANIFEST).is_file():
                found.extend(_dataset_tasks(path, per_dataset))
            elif path.is_dir():
                files = sorted(path.glob("*.py"))
                if not files:
                    raise CompletionError(f"--complete {path}: a directory without .py files or a dataset")
                found.extend(Task(f.stem, f.read_text(), str(f)) for f in files)
            elif path.is_file():
                found.append(Task(path.stem, path.read_text(), str(path)))
            else:
                found.append(_seed_task(part, resolved, pm))
    for task in found:
        if len(task.program.splitlines()) < 2:
            raise CompletionError(f"--complete: {task.source} has fewer than two lines; nothing to complete")
    return found


def run_completions(resolved: RunConfig, pm: Any, specs: list[str], n: int, per_dataset: int,
                    quiet: bool = False) -> list[dict[str, Any]]:
    """One row per program: its fitness, the best of ``n`` completions of its first half,
    and how many completions parsed, ran and were valid."""
    from elmcore import WorkerPool

    tasks = completion_tasks(specs, resolved, pm, per_dataset)
    mutator = resolved.mutator.build()
    mutator.prepare()  # a model that cannot be loaded fails here, before any evaluation
    pool = WorkerPool(resolved.domain.cls, resolved.domain.options, workers=resolved.run.workers)
    rows: list[dict[str, Any]] = []
    try:
        originals = pool.evaluate([t.program for t in tasks])
        for index, (task, original) in enumerate(zip(tasks, originals)):
            prefix = first_half(task.program)
            mutator.config = mutator.config.model_copy(update={"prefix": prefix})
            children = mutator.invent(n, np.random.default_rng([resolved.run.seed, index]))
            programs = [c.program for c in children if c.program is not None]
            evaluations = pool.evaluate(programs)
            valid = [e.fitness for e in evaluations if e.outcome is Outcome.VALID and e.fitness is not None]
            ran = sum(e.outcome in (Outcome.VALID, Outcome.INVALID) for e in evaluations)
            base = original.fitness if original.outcome is Outcome.VALID else None
            best = max(valid) if valid else None
            row = {"program": task.name, "source": task.source, "lines": len(task.program.splitlines()),
                   "given_lines": len(prefix.splitlines()), "original_fitness": base,
                   "original_reason": None if base is not None else original.reason, "completions": n,
                   "parsed": len(programs), "ran": ran, "valid": len(valid), "best_fitness": best,
                   # no valid completion scores 0 % of a valid original (the paper's best-of-N)
                   "best_percent": (100.0 * (best or 0.0) / base) if base else None}
            rows.append(row)
            if not quiet:
                print(f"[{index + 1}/{len(tasks)}] {task.name}: {_percent(row['best_percent'])} of the original, "
                      f"{len(valid)}/{n} valid", file=sys.stderr)
    finally:
        pool.close()
        mutator.close()
    return rows


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_table(rows: list[dict[str, Any]]) -> None:
    """The completion table on stdout, with the mean percentage of the rows that have one."""
    header = f"{'program':<28} {'lines':>5} {'given':>5} {'original':>9} {'best':>9} {'best %':>7} {'valid':>9}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['program'][:28]:<28} {r['lines']:>5} {r['given_lines']:>5} {_number(r['original_fitness']):>9} "
              f"{_number(r['best_fitness']):>9} {_percent(r['best_percent']):>7} "
              f"{r['valid']:>4}/{r['completions']:<4}")
    scored = [r["best_percent"] for r in rows if r["best_percent"] is not None]
    if scored:
        print(f"mean best % over {len(scored)} program(s): {sum(scored) / len(scored):.1f}%")
