"""Throughput of `elm run` with Ray actors against local worker processes on the same cores.

Runs GP on Sodarace from Square with N workers through the engine, alternating local worker
processes, Ray (a local Ray instance of this machine's cores) and, with --two-nodes, Ray on
a two-node cluster simulated on this machine (``ray.cluster_utils.Cluster``: a head and one
more node, the workers split between them). Each run is timed from the engine's start to its
last commit (worker or actor start-up included; connecting to Ray is not). Prints evals/s per
run, the medians, and the ratio to local pair by pair; checks that every store is the same.

    python benchmarks/ray_executor.py [--evals 3000] [--workers 2] [--repeats 3] [--two-nodes]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import ray

from elmcore.config import build_config
from elmcore.engine import Engine
from elmcore.plugins import get_plugin_manager

QUIET = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}


def one_run(out: Path, evals: int, workers: int, executor: str) -> float:
    pm = get_plugin_manager()
    config = build_config(pm, shortcuts={"domain.name": "sodarace", "domain.seed_program": "square",
                                         "mutator.name": "gp", "run.evals": evals, "run.workers": workers,
                                         "run.executor": executor})
    started = time.perf_counter()
    engine = Engine.start(out, config, pm)
    engine.run()
    rate = evals / (time.perf_counter() - started)
    engine.close()
    return rate


def content(out: Path) -> list:
    db = sqlite3.connect(out / "store.sqlite")
    try:
        return db.execute("SELECT id, program, outcome, fitness, niche, entered FROM candidates ORDER BY id").fetchall()
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--two-nodes", action="store_true", help="also a simulated two-node cluster")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.evals} evaluations, {args.workers} workers")
    kinds = ["local", "ray"] + (["ray, 2 nodes"] if args.two_nodes else [])
    rates: dict[str, list[float]] = {k: [] for k in kinds}
    reference = None
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for kind in kinds:
                cluster = None
                if kind == "ray":
                    ray.init(num_cpus=args.workers, **QUIET)
                elif kind == "ray, 2 nodes":
                    from ray.cluster_utils import Cluster

                    half = max(1, args.workers // 2)
                    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": half})
                    cluster.add_node(num_cpus=args.workers - half)
                    ray.init(address=cluster.address, **QUIET)
                out = Path(tmp) / f"{kind.replace(', ', '-').replace(' ', '')}-{repeat}"
                try:
                    rates[kind].append(one_run(out, args.evals, args.workers, "local" if kind == "local" else "ray"))
                finally:
                    if kind != "local":
                        ray.shutdown()
                    if cluster is not None:
                        cluster.shutdown()
                rows = content(out)
                reference = reference or rows
                same = "same store" if rows == reference else "STORE DIFFERS"
                print(f"  {kind:13s} run {repeat}: {rates[kind][-1]:6.1f} evals/s ({same})", flush=True)
    print()
    for kind, values in rates.items():
        ratios = [r / base for r, base in zip(values, rates["local"])]
        print(f"{kind:13s} median {statistics.median(values):6.1f} evals/s; "
              f"x local, pair by pair: {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")


if __name__ == "__main__":
    main()
