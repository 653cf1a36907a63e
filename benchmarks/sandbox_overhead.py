"""Per-program cost of the sandbox and of the evaluation worker pool.

Prints: how programs are confined here, the one-off cost of isolating a worker
(namespaces and mounts), a bare fork round trip (fork, exec the program, call the
harness, JSON through a pipe; no confinement at all) in this process, the sandbox round
trip for the same program (every layer on), the time to start a worker, and the
evaluations/s of WorkerPool on the parity domain at 1 and 2 workers. Next to each
wall-clock figure, the CPU time per program of this process and every process under it
(less sensitive to other load on the machine than wall-clock time).

    python benchmarks/sandbox_overhead.py [--programs 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import platform
import subprocess
import sys
import time

from elmcore import sandbox
from elmcore.plugins import get_plugin_manager
from elmcore.sandbox import load_callable, run_in_sandbox
from elmcore.workers import WorkerPool

# The least a child per program can cost: fork, exec, harness, JSON back, reap. Defined from
# this text here and in the forker-like interpreter (which must not import this module's
# dependencies: it has to stay as small as a forker).
BARE_FORK = """
def bare_fork(program, harness, fork=os.fork):
    read_fd, write_fd = os.pipe()
    pid = fork()
    if pid == 0:
        namespace = {}
        exec(compile(program, "<program>", "exec"), namespace)
        os.write(write_fd, json.dumps(harness(namespace)).encode())
        os._exit(0)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 1 << 16):
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks))
"""
_DEFINED: dict = {"os": os, "json": json}
exec(BARE_FORK, _DEFINED)  # noqa: S102 - this file's own text
bare_fork = _DEFINED["bare_fork"]

# A bare fork round trip in a process loaded like a forker (its standard modules, the
# domain's harness and preload), without the forker's protocol or any confinement layer: the
# least a child per program costs in the process that forks the children.
FORKER_LIKE = """
import json, os, resource, sys, time
from elmcore.sandbox import forker
for name in forker.STANDARD_MODULES:
    __import__(name)
harness, _ = forker.prepare(sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]))
program, n = sys.stdin.read(), int(sys.argv[4])
""" + BARE_FORK + """
def cpu():
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
for fork in (os.fork, forker.fork):  # the interpreter's fork, and the forker's (no after-fork hooks)
    for _ in range(20):
        bare_fork(program, harness, fork)
    started, used = time.perf_counter(), cpu()
    for _ in range(n):
        bare_fork(program, harness, fork)
    print((time.perf_counter() - started) / n, (cpu() - used) / n)
"""

ISOLATION_TIMER = """
import time
from elmcore.sandbox.namespaces import isolate_worker
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
    harness = load_callable(spec.harness)
    started, cpu = time.perf_counter(), cpu_seconds()
    for _ in range(n):
        bare_fork(program, harness)
    bare, bare_cpu = (time.perf_counter() - started) / n, (cpu_seconds() - cpu) / n
    print(f"bare fork round trip in this process (no confinement): {bare * 1e3:.2f} ms/program, "
          f"CPU {bare_cpu * 1e3:.2f} ms")
    started, cpu = time.perf_counter(), cpu_seconds()
    for _ in range(n):
        assert run_in_sandbox(program, spec).ok
    per, per_cpu = (time.perf_counter() - started) / n, (cpu_seconds() - cpu) / n
    print(f"sandbox round trip in this process (fork, confine, exec, harness, JSON): {per * 1e3:.2f} ms/program, "
          f"CPU {per_cpu * 1e3:.2f} ms; {(per - bare) * 1e3:.2f} ms ({(per_cpu - bare_cpu) * 1e3:.2f} ms CPU) "
          "more than the bare fork")
    for how, (like, like_cpu) in zip(("os.fork()", "the forker's fork(), without after-fork hooks"),
                                     forker_like_fork(program, spec, n)):
        print(f"bare fork round trip in a process loaded like a forker, {how} (no protocol, no confinement): "
              f"{like * 1e3:.2f} ms/program, CPU {like_cpu * 1e3:.2f} ms; the sandbox round trip is "
              f"{per / like:.2f}x its wall time and {per_cpu / like_cpu:.2f}x its CPU")

    programs = [program] * args.programs
    for workers in (1, 2):
        started = time.perf_counter()
        with WorkerPool(domain_cls, {}, workers=workers) as pool:
            ready = time.perf_counter() - started
            pool.evaluate(programs[:50])
            started, cpu = time.perf_counter(), cpu_seconds()
            results = pool.evaluate(programs)
            seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        assert all(r.outcome.value == "valid" for r in results)
        print(f"worker pool, {workers} worker(s): ready in {ready:.2f} s; "
              f"{len(programs) / seconds:.0f} evaluations/s ({seconds / len(programs) * workers * 1e3:.2f} ms "
              f"per evaluation per worker; CPU {cpu / len(programs) * 1e3:.2f} ms per evaluation, all processes)")


def forker_like_fork(program: str, spec, n: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds per bare fork round trip in a fresh interpreter loaded like a forker:
    with ``os.fork`` and with the forker's own ``fork``."""
    from elmcore.sandbox.runner import forker_environment
    env = forker_environment([os.path.abspath(p) if p else os.getcwd() for p in sys.path])
    done = subprocess.run([sys.executable, "-c", FORKER_LIKE, spec.harness, json.dumps(dict(spec.modules)),
                           json.dumps(list(spec.preload)), str(n)], input=program, capture_output=True,
                          text=True, env=env, cwd="/", check=True)
    return [(float(wall), float(cpu)) for wall, cpu in (line.split() for line in done.stdout.splitlines())]


def cpu_seconds() -> float:
    """CPU time of this process, its reaped children, and its live descendants (workers,
    forkers) with what they reaped."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime
    ticks = os.sysconf("SC_CLK_TCK")
    parents = {os.getpid()}
    stats = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                stats.append((int(entry), int(fields[1]), sum(int(f) for f in fields[11:15])))
            except (OSError, ValueError, IndexError):
                continue
    while True:  # descendants, level by level
        level = [(pid, used) for pid, ppid, used in stats if ppid in parents and pid not in parents]
        if not level:
            return total
        parents |= {pid for pid, _ in level}
        total += sum(used for _, used in level) / ticks


if __name__ == "__main__":
    main()
