"""Operators alone against portfolios of them, on Sodarace from Square.

For each seed, runs every configuration (each operator alone, the uniform portfolio of all
of them, the adaptive one, and with --credit-improvement below --credit-new-niche also the
adaptive one crediting new niches above improvements) for the same number of evaluations and
prints niches filled and QD score per run, their means over the seeds, and for the
portfolios the share of the evaluated children each operator got in each quarter of the run.

    python benchmarks/portfolio.py [--operators gp,crossover] [--evals 20000] [--seeds 0,1,2]
        [--workers 2] [--seed-program square] [--credit-new-niche 1 --credit-improvement 0.25]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from elmcore.config import build_config
from elmcore.engine import Engine
from elmcore.plugins import get_plugin_manager


def one_run(out: Path, mutator: str, rule: str, evals: int, seed: int, workers: int, seed_program: str,
            credit: tuple[float, float] = (1.0, 1.0)) -> dict:
    pm = get_plugin_manager()
    config = build_config(pm, shortcuts={"domain.name": "sodarace", "domain.seed_program": seed_program,
                                         "mutator.name": mutator, "run.evals": evals, "run.seed": seed,
                                         "run.workers": workers, "run.portfolio": rule,
                                         "run.portfolio_credit_new_niche": credit[0],
                                         "run.portfolio_credit_improvement": credit[1]})
    started = time.perf_counter()
    engine = Engine.start(out, config, pm)
    stats = engine.run()
    engine.close()
    seconds = time.perf_counter() - started
    db = sqlite3.connect(out / "store.sqlite")
    rows = db.execute("SELECT b.batch, c.operator, COUNT(*) FROM candidates c JOIN batches b ON c.batch = b.batch "
                      "WHERE c.operator != 'seed' AND c.outcome != 'duplicate' "
                      "GROUP BY b.batch, c.operator ORDER BY b.batch").fetchall()
    db.close()
    last = max((r[0] for r in rows), default=0)
    quarters: list[dict[str, int]] = [{}, {}, {}, {}]
    for batch, operator, count in rows:
        q = min(3, 4 * batch // (last + 1))
        quarters[q][operator] = quarters[q].get(operator, 0) + count
    return {"filled": stats.filled, "qd": stats.qd_score, "best": stats.max_fitness, "seconds": seconds,
            "quarters": quarters}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operators", default="gp,crossover")
    parser.add_argument("--evals", type=int, default=20_000)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed-program", default="square")
    parser.add_argument("--credit-new-niche", type=float, default=1.0)
    parser.add_argument("--credit-improvement", type=float, default=1.0)
    parser.add_argument("--only", default="", help="comma-separated labels of the configurations to run")
    args = parser.parse_args()
    operators = [o for o in args.operators.split(",") if o]
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = [(o, o, "adaptive", (1.0, 1.0)) for o in operators] + [
        (f"uniform {'+'.join(operators)}", ",".join(operators), "uniform", (1.0, 1.0)),
        (f"adaptive {'+'.join(operators)}", ",".join(operators), "adaptive", (1.0, 1.0))]
    credit = (args.credit_new_niche, args.credit_improvement)
    if credit != (1.0, 1.0):
        runs.append((f"adaptive {credit[0]:g}/{credit[1]:g} {'+'.join(operators)}", ",".join(operators), "adaptive",
                     credit))
    if args.only:
        runs = [r for r in runs if r[0] in args.only.split(",")]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"Sodarace from {args.seed_program}, {args.evals} evaluations, {args.workers} workers, seeds {seeds}")
    results: dict[str, list[dict]] = {label: [] for label, _, _, _ in runs}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for label, mutator, rule, weights in runs:
                out = Path(tmp) / f"{label.replace(' ', '-').replace('+', '-').replace('/', '-')}-{seed}"
                r = one_run(out, mutator, rule, args.evals, seed, args.workers, args.seed_program, weights)
                results[label].append(r)
                shares = ""
                if "," in mutator:
                    shares = " | shares by quarter: " + json.dumps(
                        [{op: round(n / max(1, sum(q.values())), 2) for op, n in q.items()} for q in r["quarters"]])
                print(f"  seed {seed} {label:24s} niches {r['filled']:4d}  QD {r['qd']:10.1f}  best {r['best']:7.1f}  "
                      f"{r['seconds']:6.0f} s{shares}", flush=True)
    print()
    print(f"{'configuration':26s} {'niches (mean)':>14s} {'QD score (mean)':>16s} {'per seed (niches / QD)':s}")
    for label, rs in results.items():
        per = ", ".join(f"{r['filled']} / {r['qd']:.0f}" for r in rs)
        print(f"{label:26s} {statistics.mean(r['filled'] for r in rs):14.1f} "
              f"{statistics.mean(r['qd'] for r in rs):16.1f} {per}")


if __name__ == "__main__":
    main()
