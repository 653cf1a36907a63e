"""Per-program cost of the sandbox and of the evaluation worker pool.

Prints: how programs are confined here, the one-off cost of isolating a worker
(namespaces and mounts), the fork+confine+JSON round trip for a trivial program in this
process, the time to start a worker, and the evaluations/s of WorkerPool on the parity
domain at 1 and 2 workers.

    python benchmarks/sandbox_overhead.py [--programs 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time

from elmcore import sandbox
from elmcore.evaluation import WorkerPool
from elmcore.plugins import get_plugin_manager
from elmcore.sandbox import run_in_sandbox

ISOLATION_TIMER = """
import time
from elmcore.namespaces import isolate_worker
t = time.perf_counter(); iso = isolate_worker(); t = time.perf_counter() - t
print(f"{t * 1e3:.2f} ms ({iso.describe()})")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=2000)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, uid {os.geteuid()}, load {os.getloadavg()[0]:.2f}")
    if hasattr(sandbox, "confinement"):
        print(f"confinement in this process: {sandbox.confinement().describe()}")
        timed = subprocess.run([sys.executable, "-c", ISOLATION_TIMER], capture_output=True, text=True)
        print(f"worker isolation, once per worker: {timed.stdout.strip() or timed.stderr.strip()[-200:]}")

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
    print(f"sandbox round trip in this process (fork, confine, exec, harness, JSON): {per * 1e3:.2f} ms/program")

    programs = [program] * args.programs
    for workers in (1, 2):
        started = time.perf_counter()
        with WorkerPool(domain_cls, {}, workers=workers) as pool:
            ready = time.perf_counter() - started
            pool.evaluate(programs[:50])
            started = time.perf_counter()
            results = pool.evaluate(programs)
            seconds = time.perf_counter() - started
        assert all(r.outcome.value == "valid" for r in results)
        print(f"worker pool, {workers} worker(s): ready in {ready:.2f} s; "
              f"{len(programs) / seconds:.0f} evaluations/s ({seconds / len(programs) * workers * 1e3:.2f} ms "
              "per evaluation per worker)")


if __name__ == "__main__":
    main()
