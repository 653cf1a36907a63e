"""Per-program cost of the sandbox and of the evaluation worker pool.

Prints: the fork+limits+JSON round trip for a trivial program in this process, and the
evaluations/s of WorkerPool on the parity domain at 1 and 2 workers.

    python benchmarks/sandbox_overhead.py [--programs 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from elmcore.evaluation import WorkerPool
from elmcore.plugins import get_plugin_manager
from elmcore.sandbox import run_in_sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=2000)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")

    domain_cls = get_plugin_manager().get("domain", "parity")
    domain = domain_cls(domain_cls.Config())
    program = domain.seed_programs()[0]
    spec = domain.sandbox_spec()
    run_in_sandbox(program, spec)  # warm: imports the harness
    n = max(200, args.programs // 4)
    started = time.perf_counter()
    for _ in range(n):
        assert run_in_sandbox(program, spec).ok
    per = (time.perf_counter() - started) / n
    print(f"sandbox round trip (fork, limits, exec, harness, JSON): {per * 1e3:.2f} ms/program")

    programs = [program] * args.programs
    for workers in (1, 2):
        with WorkerPool(domain_cls, {}, workers=workers) as pool:
            pool.evaluate(programs[:50])
            started = time.perf_counter()
            results = pool.evaluate(programs)
            seconds = time.perf_counter() - started
        assert all(r.outcome.value == "valid" for r in results)
        print(f"worker pool, {workers} worker(s): {len(programs) / seconds:.0f} evaluations/s")


if __name__ == "__main__":
    main()
