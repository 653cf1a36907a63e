"""End-to-end throughput of `elm run` with the GP mutator: where the cores' time goes.

For parity and for Sodarace from Square and from CPPN-Fixed, runs the real engine (GP
mutation, MAP-Elites, sandboxed evaluation in a worker pool, the run store) with 1 and 2
workers, interleaved (w1, w2, w1, w2, ...; a different seed per repeat, the same for both
worker counts). Prints per run and as medians:

- evals/s end to end (wall clock from start to the last commit, worker start-up included);
- the share of the machine's core time spent simulating (the domain's trusted evaluation,
  for Sodarace the Box2D physics, from the store's per-candidate times) and running the
  programs (measured once per case by running the seed program and harness unconfined);
- the engine process's CPU per evaluation (GP mutation, archive, store);
- the 2-worker / 1-worker ratio pair by pair;
- the projected time of the paper's 1,024,000-evaluation run at the 2-worker rate.

    python benchmarks/pipeline.py [--repeats 2] [--cases parity,square,cppn_fixed]
        [--evals parity=4000,square=2000,cppn_fixed=1500] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from elmcore.config import build_config
from elmcore.engine import Engine
from elmcore.plugins import get_plugin_manager
from elmcore.sandbox import load_callable

PAPER_EVALS = 1_024_000
CASES = {
    "parity": {"domain.name": "parity"},
    "square": {"domain.name": "sodarace", "domain.seed_program": "square"},
    "cppn_fixed": {"domain.name": "sodarace", "domain.seed_program": "cppn_fixed"},
}
DEFAULT_EVALS = {"parity": 4000, "square": 2000, "cppn_fixed": 1500}


def cpu_seconds() -> float:
    """CPU time of this process and of every finished process under it (workers, programs)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def program_seconds(case: str) -> float:
    """Seconds to run the case's seed program and its harness once, in this process, unconfined:
    the program's own share of an evaluation."""
    pm = get_plugin_manager()
    config = build_config(pm, shortcuts=CASES[case])
    domain = config.domain.build()
    import importlib
    import sys

    program = domain.seed_programs()[0]
    spec = domain.sandbox_spec()
    for alias, module in spec.modules.items():  # the names programs import (Sodarace: walk_creator)
        sys.modules.setdefault(alias, importlib.import_module(module))
    harness = load_callable(spec.harness)
    code = compile(program, "program.py", "exec")
    runs = 200
    started = time.perf_counter()
    for _ in range(runs):
        namespace: dict = {"__name__": "__main__"}
        exec(code, namespace)
        harness(namespace)
    return (time.perf_counter() - started) / runs


def one_run(case: str, evals: int, workers: int, seed: int, out: Path) -> dict:
    pm = get_plugin_manager()
    config = build_config(pm, shortcuts={**CASES[case], "mutator.name": "gp", "run.evals": evals,
                                         "run.workers": workers, "run.seed": seed})
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    engine = Engine.start(out, config, pm)
    engine.run()
    wall = time.perf_counter() - started
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    engine.close()
    db = sqlite3.connect(out / "store.sqlite")
    rows = db.execute("SELECT eval_seconds, extras FROM candidates WHERE eval_seconds IS NOT NULL").fetchall()
    filled = db.execute("SELECT COUNT(DISTINCT niche) FROM candidates WHERE entered = 1").fetchone()[0]
    db.close()
    evaluate = sum(r[0] for r in rows)
    sandbox = sum(json.loads(r[1]).get("sandbox_seconds", 0.0) for r in rows if r[1])
    engine_cpu = (self_after.ru_utime + self_after.ru_stime) - (self_before.ru_utime + self_before.ru_stime)
    return {"case": case, "workers": workers, "seed": seed, "evals": evals, "wall": wall,
            "evals_per_s": evals / wall, "evaluated": len(rows), "domain_seconds": evaluate - sandbox,
            "sandbox_seconds": sandbox, "engine_cpu_ms": 1e3 * engine_cpu / evals, "niches": filled}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--evals", default=",".join(f"{k}={v}" for k, v in DEFAULT_EVALS.items()))
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    budgets = {**DEFAULT_EVALS, **{k: int(v) for k, v in (p.split("=") for p in args.evals.split(",") if p)}}
    worker_counts = [int(w) for w in args.workers.split(",")]
    cores = os.cpu_count() or 1
    print(f"machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.2f}")
    results: list[dict] = []
    program = {case: program_seconds(case) for case in cases}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for case in cases:
                for workers in worker_counts:
                    r = one_run(case, budgets[case], workers, repeat, Path(tmp) / f"{case}-{workers}-{repeat}")
                    r["program_seconds"] = program[case] * r["evaluated"]
                    r["useful_pct"] = 100 * (r["domain_seconds"] + r["program_seconds"]) / (r["wall"] * cores)
                    r["sandbox_pct"] = 100 * r["sandbox_seconds"] / (r["wall"] * cores)
                    results.append(r)
                    print(f"  {case:10s} workers {workers} seed {repeat}: {r['evals_per_s']:7.1f} evals/s, "
                          f"simulation+program {r['useful_pct']:4.1f} % of core time, sandbox round trips "
                          f"{r['sandbox_pct']:4.1f} %, engine CPU {r['engine_cpu_ms']:.2f} ms/eval, "
                          f"niches {r['niches']}, {r['wall']:.1f} s", flush=True)
    print()
    print(f"{'case':10s} {'workers':>7s} {'evals/s':>8s} {'sim+prog %':>10s} {'sandbox %':>9s} "
          f"{'engine ms/eval':>14s} {'x 1 worker':>10s} {'1,024,000 evals':>15s}")
    for case in cases:
        for workers in worker_counts:
            mine = [r for r in results if r["case"] == case and r["workers"] == workers]
            ratios = [r["evals_per_s"] / base["evals_per_s"] for r in mine for base in results
                      if base["case"] == case and base["workers"] == worker_counts[0] and base["seed"] == r["seed"]]
            rate = statistics.median(r["evals_per_s"] for r in mine)
            print(f"{case:10s} {workers:7d} {rate:8.1f} {statistics.median(r['useful_pct'] for r in mine):10.1f} "
                  f"{statistics.median(r['sandbox_pct'] for r in mine):9.1f} "
                  f"{statistics.median(r['engine_cpu_ms'] for r in mine):14.2f} "
                  f"{statistics.median(ratios):10.2f} {PAPER_EVALS / rate / 3600:13.2f} h")
    print("\nsim+prog %: the domain's evaluation (Sodarace: physics) plus the program's own run, as a share of "
          f"wall clock x {cores} cores; sandbox %: whole sandbox round trips (fork, confinement, program, JSON).")


if __name__ == "__main__":
    main()
