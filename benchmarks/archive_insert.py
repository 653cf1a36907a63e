"""Throughput of the MAP-Elites archives: batched inserts and parent selection.

Inserts batches of random candidates (uniform descriptors, 5 % outside the box, normal
fitness) into a 12x12x12 grid and a 1728-centroid CVT, once with Python lists (what the
engine passes) and once with numpy arrays, then times ``select``.

    python benchmarks/archive_insert.py [--batches 4000] [--batch-size 512] [--bins 12]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import numpy as np

from elm_mapelites import CVTMapElites, MapElites
from elmcore.types import Dimension


def make_batches(count: int, size: int, dims: int, as_lists: bool, seed: int = 0) -> list[tuple]:
    rng = np.random.default_rng(seed)
    programs = ["def f():\n    return 0\n"] * size
    batches = []
    for b in range(count):
        ids = np.arange(b * size, (b + 1) * size)
        fitness = rng.normal(size=size)
        descriptors = rng.uniform(-0.05, 1.05, (size, dims))
        if as_lists:
            batches.append((ids.tolist(), programs, fitness.tolist(), [tuple(d) for d in descriptors.tolist()]))
        else:
            batches.append((ids, programs, fitness, descriptors))
    return batches


def time_inserts(archive, batches: list[tuple]) -> float:
    start = time.perf_counter()
    for batch in batches:
        archive.insert(*batch)
    return time.perf_counter() - start


def time_selects(archive, calls: int, size: int) -> float:
    rng = np.random.default_rng(1)
    start = time.perf_counter()
    for _ in range(calls):
        archive.select(size, rng)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--bins", type=int, default=12)
    parser.add_argument("--dims", type=int, default=3)
    parser.add_argument("--select-calls", type=int, default=2000)
    args = parser.parse_args()

    space = [Dimension(f"d{i}", 0.0, 1.0, args.bins) for i in range(args.dims)]
    niches = args.bins ** args.dims
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} cpus; {args.batches} batches of {args.batch_size}, {args.dims} dims")
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        CVTMapElites({"centroids": niches, "cache_dir": cache}, space, seed=0)
        built = time.perf_counter() - start
        start = time.perf_counter()
        CVTMapElites({"centroids": niches, "cache_dir": cache}, space, seed=0)
        loaded = time.perf_counter() - start
        print(f"cvt-map-elites setup ({niches} centroids): k-means {built:.2f} s, from cache {loaded:.3f} s")

        lists = make_batches(args.batches, args.batch_size, args.dims, as_lists=True)
        arrays = make_batches(args.batches, args.batch_size, args.dims, as_lists=False)
        adds = args.batches * args.batch_size
        selected = args.select_calls * args.batch_size
        print(f"{'algorithm':<16} {'inputs':<7} {'adds/s':>12} {'filled':>8} {'selects/s':>12}")
        for name, build in [
            ("map-elites", lambda: MapElites({"bins": args.bins}, space)),
            ("cvt-map-elites", lambda: CVTMapElites({"centroids": niches, "cache_dir": cache}, space)),
        ]:
            for label, batches in [("lists", lists), ("numpy", arrays)]:
                archive = build()
                seconds = time_inserts(archive, batches)
                select_rate = selected / time_selects(archive, args.select_calls, args.batch_size)
                print(f"{name:<16} {label:<7} {adds / seconds:>12,.0f} {archive.stats().filled:>8} "
                      f"{select_rate:>12,.0f}")


if __name__ == "__main__":
    main()
