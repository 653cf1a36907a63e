"""The diff mutator's exploration mechanisms, one at a time: an ablation on Sodarace.

Each row is an `elm run --domain sodarace --mutator diff` (or `gp`, or a portfolio) from the same
seed program with a set of mechanisms switched on; the others are off. Rows run as separate
processes, `--parallel` at a time, each with cores / parallel torch threads (a small model's
matrices are too small for a second thread to pay, so two runs side by side write more diffs
per second than one run on both cores). A row whose run directory already holds a finished
run is not run again, and one stopped part-way (or asked for a larger --evals) is resumed
(`elm resume --evals`), so the script can be stopped and started again. It prints, per row
and seed: evaluations and the proposals they took, the share of proposals that gave no
program (the diff did not apply or the child does not parse: edit_failed, no_edit), the
share that repeated a program the run had seen (duplicates not evaluated, and with duplicate
rejection off, programs evaluated again), the share that was valid, niches filled at each
--checkpoints count of evaluations, QD score, best fitness and wall time; then per row the
means over the seeds.

    python benchmarks/ablation.py --out out/ablation --evals 5000 --seeds 0 \
        [--rows none,dedup,guided,default,temperatures,samples,direct,all,gp,gp-nodedup] \
        [--parallel 2] [--checkpoints 1000,2000,5000] [--model elm-diff-py-1m]

Rows (mechanisms on; "off" means run.deduplicate=false and mutator.guided=false). Without
guided diffs almost no diff of the shipped model applies (rows none and dedup), so the other
mechanisms are each added alone to the defaults (guided diffs and duplicate rejection):
  none          nothing: every diff written by the model, duplicates evaluated again
  dedup         duplicate rejection alone (run.deduplicate)
  guided        guided diffs alone (mutator.guided)
  default       the defaults: guided diffs and duplicate rejection
  temperatures  the defaults and temperatures 0.3 / 0.8 / 1.2 in turn (mutator.temperatures)
  samples       the defaults and four diffs per parent in one call (mutator.samples_per_parent=4)
  direct        the defaults and directed diffs (mutator.direct)
  all           every mechanism: the defaults, temperatures, samples, direct
  gp            GP (with duplicate rejection, its default)
  gp-nodedup    GP without duplicate rejection
  uniform       a portfolio of GP and the diff model (defaults), each child's operator drawn uniformly
  adaptive      the same portfolio, adaptive (a bandit), a new niche credited 1 and an improvement 0.25

Wall times are only comparable between rows that ran side by side on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from elmcore import RunStore
from elmcore.store import STORE_FILE

# `elm` through this interpreter: the runs use the same installation as the script, on PATH or not
ELM = [sys.executable, "-c", "import sys; from elmcore.cli import main; sys.argv[0] = 'elm'; main()"]
OFF = ["run.deduplicate=false", "mutator.guided=false"]
TEMPERATURES = "mutator.temperatures=[0.3,0.8,1.2]"
SAMPLES = "mutator.samples_per_parent=4"
DIRECT = "mutator.direct=true"
ROWS: dict[str, tuple[str, list[str]]] = {
    "none": ("diff", OFF),
    "dedup": ("diff", ["mutator.guided=false"]),
    "guided": ("diff", ["run.deduplicate=false"]),
    "default": ("diff", []),
    "temperatures": ("diff", [TEMPERATURES]),
    "samples": ("diff", [SAMPLES]),
    "direct": ("diff", [DIRECT]),
    "all": ("diff", [TEMPERATURES, SAMPLES, DIRECT]),
    "gp": ("gp", []),
    "gp-nodedup": ("gp", ["run.deduplicate=false"]),
    "uniform": ("gp,diff", ["run.portfolio=uniform"]),
    "adaptive": ("gp,diff", ["run.portfolio=adaptive", "run.portfolio_credit_new_niche=1",
                             "run.portfolio_credit_improvement=0.25"]),
}


def command(row: str, seed: int, args: argparse.Namespace, out: Path) -> list[str]:
    mutator, sets = ROWS[row]
    cmd = [*ELM, "run", "--domain", "sodarace", "--seed-program", args.seed_program, "--mutator", mutator,
           "--evals", str(args.evals), "--seed", str(seed), "--workers", str(args.workers), "--out", str(out),
           "--quiet"]
    if "diff" in mutator.split(",") and args.model:
        cmd += ["--model", args.model]
    for item in sets:
        cmd += ["--set", item]
    return cmd


def spent(out: Path) -> int:
    """Evaluations the run in ``out`` has committed (0 when there is none yet)."""
    if not (out / STORE_FILE).exists():
        return 0
    store = RunStore.open(out, readonly=True)
    try:
        last = store.last_batch_stats()
    finally:
        store.close()
    return last.evals if last else 0


def measure(out: Path, checkpoints: list[int]) -> dict | None:
    """The row's figures from its store; None when it has committed no batch."""
    store = RunStore.open(out, readonly=True)
    try:
        curve = [stats for _, stats in store.stats_by_batch()]
    finally:
        store.close()
    if not curve:
        return None
    db = sqlite3.connect(f"file:{out / STORE_FILE}?mode=ro", uri=True)
    proposals, duplicates = db.execute(
        "SELECT COUNT(*), SUM(outcome = 'duplicate') FROM candidates WHERE operator != 'seed'").fetchone()
    repeats = db.execute(  # evaluated programs that had been evaluated before (runs without dedup)
        "SELECT COUNT(*) - COUNT(DISTINCT program_hash) FROM candidates "
        "WHERE operator != 'seed' AND outcome != 'duplicate' AND program_hash IS NOT NULL").fetchone()[0]
    outcomes = dict(db.execute("SELECT outcome, COUNT(*) FROM candidates WHERE operator != 'seed' GROUP BY outcome"))
    first, last = db.execute("SELECT MIN(created), MAX(created) FROM candidates").fetchone()
    db.close()
    at = {}
    for mark in checkpoints:
        reached = [c for c in curve if c.evals <= mark]
        at[mark] = reached[-1].filled if reached and curve[-1].evals >= mark else None
    end = curve[-1]
    share = (lambda n: n / proposals) if proposals else (lambda n: 0.0)
    return {"evals": end.evals, "proposals": proposals, "filled": end.filled, "qd": end.qd_score,
            "best": end.max_fitness, "at": at, "valid": share(outcomes.get("valid", 0)),
            "no_program": share(outcomes.get("edit_failed", 0) + outcomes.get("no_edit", 0)),
            "repeated": share((duplicates or 0) + repeats), "seconds": (last - first) if first and last else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the runs (one per row and seed)")
    parser.add_argument("--rows", default="none,dedup,guided,default,temperatures,samples,direct,all,gp,gp-nodedup")
    parser.add_argument("--evals", type=int, default=5000)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--parallel", type=int, default=2, help="runs at once")
    parser.add_argument("--workers", type=int, default=1, help="evaluation workers per run")
    parser.add_argument("--checkpoints", default="", help="evaluation counts to report niches at (default: "
                                                          "quarters of --evals)")
    parser.add_argument("--seed-program", default="square")
    parser.add_argument("--model", default="", help="diff model (default: the mutator's default)")
    parser.add_argument("--report-only", action="store_true", help="print the table of the runs there; run nothing")
    args = parser.parse_args()
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        sys.exit(f"--rows: unknown row {unknown[0]!r}; choose from {', '.join(ROWS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    checkpoints = ([int(c) for c in args.checkpoints.split(",")] if args.checkpoints
                   else [args.evals * k // 4 for k in range(1, 5)])
    threads = max(1, (os.cpu_count() or 1) // max(1, args.parallel))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    args.out.mkdir(parents=True, exist_ok=True)

    jobs = [(row, seed, args.out / f"{row}-{seed}") for seed in seeds for row in rows]
    if not args.report_only:
        waiting = [j for j in jobs if spent(j[2]) < args.evals]
        running: list[tuple[subprocess.Popen, Any, str]] = []
        while waiting or running:
            while waiting and len(running) < args.parallel:
                row, seed, out = waiting.pop(0)
                if (out / STORE_FILE).exists():
                    cmd = [*ELM, "resume", str(out), "--evals", str(args.evals), "--quiet"]
                else:
                    cmd = command(row, seed, args, out)
                log = open(args.out / f"{row}-{seed}.log", "a")
                print(f"start {row} seed {seed}: elm {' '.join(cmd[len(ELM):])}", flush=True)
                running.append((subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), log, out.name))
            time.sleep(2)
            for job in list(running):
                proc, log, name = job
                if proc.poll() is not None:
                    running.remove(job)
                    log.close()
                    print(f"done {name} (exit {proc.returncode}; its log: {args.out / (name + '.log')})", flush=True)

    print(f"\nSodarace from {args.seed_program}, {args.evals} evaluations per run, "
          f"{args.parallel} runs at once with {threads} torch thread(s) each; {platform.machine()}, "
          f"{os.cpu_count()} cores")
    marks = " | ".join(f"niches@{c}" for c in checkpoints)
    print(f"| row | seed | evals (proposals) | no program | repeated | valid | {marks} | QD | best | wall s |")
    print("|---" * (9 + len(checkpoints)) + "|")
    summary: dict[str, list[dict]] = {}
    for row, seed, out in jobs:
        m = measure(out, checkpoints) if (out / STORE_FILE).exists() else None
        if m is None:
            print(f"| {row} | {seed} | not run |")
            continue
        summary.setdefault(row, []).append(m)
        at = " | ".join("-" if m["at"][c] is None else str(m["at"][c]) for c in checkpoints)
        print(f"| {row} | {seed} | {m['evals']} ({m['proposals']}) | {m['no_program']:.1%} | {m['repeated']:.1%} | "
              f"{m['valid']:.1%} | {at} | "
              f"{m['qd']:,.0f} | {m['best']:.1f} | {m['seconds']:,.0f} |")
    if len(seeds) > 1:
        print("\nMeans over the seeds:")
        print("| row | repeated | niches | QD | best |")
        print("|---|---|---|---|---|")
        for row, ms in summary.items():
            print(f"| {row} | {statistics.mean(m['repeated'] for m in ms):.1%} | "
                  f"{statistics.mean(m['filled'] for m in ms):.1f} | {statistics.mean(m['qd'] for m in ms):,.0f} | "
                  f"{statistics.mean(m['best'] for m in ms):.1f} |")


if __name__ == "__main__":
    main()
