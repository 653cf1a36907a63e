"""How Sodarace seeds and their mutants spread over the behaviour space (height, width, mass).

Without a run: each seed's numeric constants are perturbed at random (each constant with
probability --rate, multiplied by exp(N(0, --sigma)); integers stay integers), the mutants
run in the sandbox and their descriptors are binned like the archive does. With --run DIR:
the descriptors of every valid candidate of that run.

    python benchmarks/sodarace_spread.py [--mutants 300] [--rate 0.3] [--sigma 0.4]
    python benchmarks/sodarace_spread.py --run RUN_DIR
"""

from __future__ import annotations

import argparse
import ast
import json
import sqlite3
from pathlib import Path

import numpy as np

from elm_seeds import list_seeds, read_seed
from elmcore.sandbox import prepare, run_in_sandbox
from elm_sodarace.behaviour import behaviour_space, descriptors
from elm_sodarace.domain import SodaraceDomain
from elm_sodarace.physics_params import DEFAULT_PHYSICS
from elm_sodarace.walker import InvalidWalker, parse_walker


class _Perturb(ast.NodeTransformer):
    def __init__(self, rng: np.random.Generator, rate: float, sigma: float) -> None:
        self.rng, self.rate, self.sigma = rng, rate, sigma

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or self.rng.random() > self.rate:
            return node
        factor = float(np.exp(self.rng.normal(0.0, self.sigma)))
        if isinstance(value, int):
            new: float | int = max(0, int(round(value * factor + self.rng.choice([-1, 0, 1]))))
        else:
            new = value * factor if value != 0 else float(self.rng.normal(0.0, self.sigma))
        return ast.copy_location(ast.Constant(new), node)


def mutants(seed: str, count: int, rate: float, sigma: float, rng: np.random.Generator) -> list[str]:
    tree = ast.parse(seed)
    return [ast.unparse(_Perturb(rng, rate, sigma).visit(ast.parse(ast.unparse(tree)))) for _ in range(count)]


def bins(values: np.ndarray) -> np.ndarray:
    dims = behaviour_space()
    cells = []
    for k, d in enumerate(dims):
        scaled = (values[:, k] - d.low) / (d.high - d.low) * d.bins
        cells.append(np.clip(np.floor(scaled), 0, d.bins - 1).astype(int))
    return np.stack(cells, axis=1)


def report(label: str, values: np.ndarray, tried: int) -> None:
    if len(values) == 0:
        print(f"{label:13s} no valid walkers of {tried}")
        return
    cells = bins(values)
    niches = len({tuple(c) for c in cells.tolist()})
    parts = []
    for k, d in enumerate(behaviour_space()):
        beyond = np.mean(values[:, k] > d.high) * 100
        used = len(set(cells[:, k].tolist()))
        lo, med, hi = np.percentile(values[:, k], [5, 50, 95])
        parts.append(f"{d.name} {lo:5.1f}/{med:5.1f}/{hi:5.1f} bins {used:2d} over {beyond:3.0f}%")
    print(f"{label:13s} {len(values):4d}/{tried:<4d} niches {niches:4d} | " + " | ".join(parts))


def from_mutants(count: int, rate: float, sigma: float, seed: int) -> None:
    spec = SodaraceDomain().sandbox_spec()
    prepare(spec)
    rng = np.random.default_rng(seed)
    print(f"{count} mutants per seed (rate {rate}, sigma {sigma}); per dimension: 5th/50th/95th percentile, "
          "bins used, share above the range (clipped into the top bin)")
    everything = []
    for name in list_seeds("sodarace"):
        values = []
        for program in mutants(read_seed("sodarace", name), count, rate, sigma, rng):
            ran = run_in_sandbox(program, spec)
            if not ran.ok:
                continue
            try:
                walker = parse_walker(ran.output)
            except InvalidWalker:
                continue
            values.append(descriptors(walker, DEFAULT_PHYSICS))
        array = np.array(values).reshape(-1, 3)
        everything.append(array)
        report(name, array, count)
    report("all seeds", np.concatenate(everything), count * len(everything))


def from_run(run_dir: Path) -> None:
    db = sqlite3.connect(f"file:{run_dir / 'store.sqlite'}?mode=ro", uri=True)
    rows = db.execute("SELECT descriptors FROM candidates WHERE outcome = 'valid'").fetchall()
    total = db.execute("SELECT COUNT(*) FROM candidates").fetchone()[0]
    values = np.array([json.loads(r[0]) for r in rows]).reshape(-1, 3)
    report(run_dir.name, values, total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=300)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--sigma", type=float, default=0.4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run", type=Path, default=None)
    args = parser.parse_args()
    if args.run is not None:
        from_run(args.run)
    else:
        from_mutants(args.mutants, args.rate, args.sigma, args.seed)


if __name__ == "__main__":
    main()
