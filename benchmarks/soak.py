"""Memory over a long run: `elm run` (parity + gp by default) for 100,000 evaluations while
the resident memory (RSS) of the engine and of each evaluation worker is sampled.

Prints one line per sample and a summary: engine RSS after the first tenth of the run and
at the end, the range of worker RSS, and how many workers were replaced (recycled).

    python benchmarks/soak.py [--evals 100000] [--workers 2] [--interval 10] [--domain parity]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024


@dataclass
class Sample:
    seconds: float
    evals: int
    engine_mb: float
    workers_mb: dict[int, float]


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB
    except (OSError, IndexError, ValueError):
        return 0.0


def workers_of(pid: int) -> list[int]:
    """The engine's evaluation workers: its children that run multiprocessing's spawn_main."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                parent = int(fh.read().rsplit(")", 1)[1].split()[1])
            if parent != pid:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if b"spawn_main" in fh.read():
                    found.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return found


def evals_done(store: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1)
        try:
            return db.execute("SELECT COUNT(*) FROM candidates").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--domain", default="parity")
    parser.add_argument("--mutator", default="gp")
    parser.add_argument("--out", type=Path, help="run directory (default: a temporary one)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="elm-soak-")) / "run"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.2f}; run directory {out}")
    engine = subprocess.Popen([sys.executable, "-m", "elmcore.cli", "run", "--domain", args.domain, "--mutator",
                               args.mutator, "--evals", str(args.evals), "--workers", str(args.workers), "--quiet",
                               "--out", str(out)], stderr=subprocess.PIPE, text=True)
    started = time.time()
    samples: list[Sample] = []
    seen_workers: set[int] = set()
    print(f"{'s':>7} {'evals':>8} {'engine MB':>10}  workers MB")
    while engine.poll() is None:
        time.sleep(args.interval)
        workers = {pid: rss_mb(pid) for pid in workers_of(engine.pid)}
        seen_workers.update(workers)
        sample = Sample(time.time() - started, evals_done(out / "store.sqlite"), rss_mb(engine.pid), workers)
        if sample.engine_mb == 0.0:
            break
        samples.append(sample)
        print(f"{sample.seconds:7.0f} {sample.evals:8d} {sample.engine_mb:10.1f}  "
              + " ".join(f"{mb:.1f}" for mb in workers.values()), flush=True)
    code = engine.wait()
    if code != 0:
        sys.exit(f"elm run failed ({code}): {engine.stderr.read()[-2000:]}")
    total = evals_done(out / "store.sqlite")
    seconds = time.time() - started
    steady = [s for s in samples if s.evals >= total // 10]
    worker_mb = [mb for s in samples for mb in s.workers_mb.values() if mb > 0]
    print(f"\n{total} evaluations in {seconds:.0f} s ({total / seconds:.0f} evals/s, {args.workers} workers)")
    if steady:
        print(f"engine RSS: {steady[0].engine_mb:.1f} MB at {steady[0].evals} evals, {steady[-1].engine_mb:.1f} MB "
              f"at {steady[-1].evals} evals (max {max(s.engine_mb for s in samples):.1f} MB)")
    if worker_mb:
        print(f"worker RSS: {min(worker_mb):.1f}-{max(worker_mb):.1f} MB; "
              f"{len(seen_workers)} worker processes seen for {args.workers} slots "
              f"({len(seen_workers) - args.workers} replacements)")


if __name__ == "__main__":
    main()
