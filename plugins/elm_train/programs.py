"""Program records: the Stage-2 dataset, read from run stores.

Every program that ever entered a map in the given runs (not only the final map) is a
candidate; it is kept when its fitness reaches ``threshold`` times the best fitness seen
in its niche across all the runs (the ELM paper used 50 % and 80 %). Niches are only
comparable between runs that share the domain settings and the QD config, so runs that
differ there are refused. Identical programs are kept once, at their best fitness.

A record's ``prompt`` is empty and its ``completion`` is the whole program: a model
trained on them writes programs from nothing (``elm sample``). Each record says where it
came from: run, candidate id, niche, fitness, descriptors, and the seed program its
lineage starts from (the run's seed program, ``root_id`` the first candidate of that
lineage).

The held-out split takes exactly ``round(holdout * N)`` records: those whose program has
the smallest SHA-256, so the choice depends only on the programs, not on their order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from elm_train.records import ExportError, open_run

IGNORED_DOMAIN_KEYS = ("seed_program",)
"""Domain settings that may differ between runs whose maps are pooled."""


@dataclass(frozen=True)
class ProgramRecord:
    """One program of the Stage-2 dataset, with its provenance."""

    program: str
    prompt: str
    completion: str
    run: str
    candidate_id: int
    niche: int
    fitness: float
    descriptors: list[float]
    seed: str
    root_id: int


@dataclass
class RunInfo:
    """What one run contributes: its label, seed and the counts of the export."""

    path: str
    domain: str
    seed: str
    entered: int = 0
    kept: int = 0
    excluded: bool = False


def seed_label(config: dict[str, Any]) -> str:
    """The name of a run's seed program as a user types it (``cppn-fixed``; a path's file
    stem), or the domain's name when the domain has no seed setting."""
    domain = config.get("domain") if isinstance(config.get("domain"), dict) else {}
    seed = domain.get("seed_program")
    if not isinstance(seed, str) or not seed:
        return str(domain.get("name", "seed"))
    return Path(seed).stem.replace("_", "-") if seed.endswith(".py") else seed.replace("_", "-")


def keeps(fitness: float, best: float, threshold: float) -> bool:
    """Whether ``fitness`` is within the threshold of its niche's ``best``: at least
    ``threshold * best`` for a positive best (in general, at most ``(1 - threshold) * |best|``
    below it)."""
    return fitness >= best - (1.0 - threshold) * abs(best)


def _shared_settings(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    domain = {k: v for k, v in (config.get("domain") or {}).items() if k not in IGNORED_DOMAIN_KEYS}
    return domain, dict(config.get("qd") or {})


def _first_difference(a: dict[str, Any], b: dict[str, Any]) -> str:
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            return f"{key}: {json.dumps(a.get(key))} against {json.dumps(b.get(key))}"
    return "?"


def _entered(run_dir: Path) -> tuple[dict[str, Any], list[tuple[int, int | None, str, float, list[float], int]]]:
    """The run's config and its entered candidates: (id, parent id, program, fitness, descriptors, niche)."""
    store = open_run(run_dir)
    try:
        config = store.get_meta("config", kind=dict) or {}
        rows = [(c.id, c.parent_id, c.program or "", float(c.fitness), [float(x) for x in c.descriptors or ()],
                 int(c.niche))
                for c in store.iter_candidates("entered = 1 AND program IS NOT NULL AND fitness IS NOT NULL "
                                               "AND niche IS NOT NULL")]
    finally:
        store.close()
    return config, rows


def _roots(rows: Sequence[tuple[int, int | None, str, float, list[float], int]]) -> dict[int, int]:
    """Candidate id -> the first candidate of its lineage. Every parent was an elite, so
    the entered candidates hold every lineage whole."""
    parent = {cid: pid for cid, pid, *_ in rows}
    roots: dict[int, int] = {}
    for cid in parent:
        path = []
        node = cid
        while node not in roots:
            up = parent.get(node)
            if up is None or up not in parent:  # a seed, or a parent that never entered (a hand-made store)
                roots[node] = node
                break
            path.append(node)
            node = up  # ids grow from parent to child: no cycles
        for n in path:
            roots[n] = roots[node]
    return roots


def program_records(run_dirs: Sequence[Path], threshold: float,
                    exclude_seeds: Sequence[str] = ()) -> tuple[list[ProgramRecord], list[RunInfo], dict[str, Any]]:
    """The kept programs of the runs (deduplicated), what each run contributed, and the
    shared settings of the runs (``domain`` without its seed, ``qd``)."""
    if not 0 < threshold <= 1:
        raise ExportError(f"--threshold {threshold}: must be above 0 and at most 1 (the paper used 0.5 and 0.8)")
    excluded = {s.strip().replace("_", "-") for s in exclude_seeds if s.strip()}
    if not run_dirs:
        raise ExportError("no run directories given; pass the run directories of `elm run`")
    infos: list[RunInfo] = []
    candidates: list[tuple[str, tuple]] = []
    roots_of: dict[str, dict[int, int]] = {}
    shared: tuple[dict[str, Any], dict[str, Any]] | None = None
    first_run = ""
    for run_dir in run_dirs:
        config, rows = _entered(Path(run_dir))
        settings = _shared_settings(config)
        name = str(settings[0].get("name"))
        info = RunInfo(path=str(run_dir), domain=name, seed=seed_label(config), entered=len(rows))
        infos.append(info)
        if shared is None:
            shared, first_run = settings, str(run_dir)
        elif settings[0].get("name") != shared[0].get("name"):
            raise ExportError(f"{run_dir} is a run of domain {name!r} but {first_run} is of "
                              f"{shared[0].get('name')!r}; export the runs of one domain at a time")
        elif settings != shared:
            what, a, b = (("domain", settings[0], shared[0]) if settings[0] != shared[0]
                          else ("qd", settings[1], shared[1]))
            raise ExportError(f"{run_dir} and {first_run} differ in their {what} settings "
                              f"({_first_difference(a, b)}), so their niches cannot be compared; export them "
                              "separately")
        if info.seed in excluded:
            info.excluded = True
            continue
        roots_of[str(run_dir)] = _roots(rows)
        candidates.extend((str(run_dir), row) for row in rows)
    assert shared is not None
    best: dict[int, float] = {}
    for _, (_, _, _, fitness, _, niche) in candidates:
        best[niche] = max(best.get(niche, fitness), fitness)
    chosen: dict[str, ProgramRecord] = {}
    seeds = {i.path: i.seed for i in infos}
    for run, (cid, _, program, fitness, descriptors, niche) in candidates:
        if not keeps(fitness, best[niche], threshold):
            continue
        record = ProgramRecord(program=program, prompt="", completion=program, run=run, candidate_id=cid,
                               niche=niche, fitness=fitness, descriptors=descriptors, seed=seeds[run],
                               root_id=roots_of[run][cid])
        held = chosen.get(program)
        if held is None or fitness > held.fitness:
            chosen[program] = record
    records = list(chosen.values())
    for info in infos:
        info.kept = sum(1 for r in records if r.run == info.path)
    return records, infos, {"domain": shared[0], "qd": shared[1]}


def program_digest(program: str) -> bytes:
    return hashlib.sha256(program.encode("utf-8", "surrogatepass")).digest()


def split_programs(records: Sequence[ProgramRecord], holdout: float) -> tuple[list[dict], list[dict]]:
    """(train, test) rows: exactly ``round(holdout * len(records))`` records held out, those
    whose programs hash lowest; both sides in the records' order."""
    count = round(holdout * len(records))
    ranked = sorted(range(len(records)), key=lambda i: program_digest(records[i].program))
    test_ids = set(ranked[:count])
    train = [asdict(r) for i, r in enumerate(records) if i not in test_ids]
    test = [asdict(r) for i, r in enumerate(records) if i in test_ids]
    return train, test
