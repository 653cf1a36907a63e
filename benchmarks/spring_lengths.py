"""How far each spring of a seed walker stretches while it walks: the range of every
spring's length (after the first second, when the muscles have ramped in) against its rest
length, passive and active, at one or more spring stiffnesses.

    python benchmarks/spring_lengths.py --seed square --hz 8,20
"""

from __future__ import annotations

import argparse

import numpy as np

from elm_sodarace.physics_params import PhysicsParams
from elm_sodarace.seed_loading import load_seed
from elm_sodarace.simulation import simulate
from elm_sodarace.terrains import make_terrain
from elm_sodarace.domain import SodaraceDomain
from elm_sodarace.walker import parse_walker
from elmcore.sandbox import run_in_sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", default="square", help="seed name or .py file")
    parser.add_argument("--hz", default="8", help="comma-separated spring_frequency_hz values")
    parser.add_argument("--terrain", default="flat")
    args = parser.parse_args()
    ran = run_in_sandbox(load_seed(args.seed), SodaraceDomain().sandbox_spec())
    if not ran.ok:
        raise SystemExit(f"{args.seed}: {ran.reason}")
    walker = parse_walker(ran.output)
    for hz in [float(h) for h in args.hz.split(",")]:
        physics = PhysicsParams(spring_frequency_hz=hz)
        result = simulate(walker, make_terrain(args.terrain, {}), physics, record_every=1)
        frames = np.asarray(result.frames)[round(1.0 / physics.time_step):]
        print(f"{args.seed}, spring_frequency_hz {hz:g}: displacement {result.displacement:+.1f} units")
        print(f"  {'spring':>8} {'kind':>8} {'rest':>6} {'amplitude':>9} {'min':>6} {'max':>6}")
        for k, (i, j) in enumerate(walker.pairs.tolist()):
            lengths = np.hypot(*(frames[:, j] - frames[:, i]).T)
            kind = "active" if walker.active[k] else "passive"
            print(f"  {f'{i}-{j}':>8} {kind:>8} {walker.rest_length[k]:6.2f} {walker.amplitude[k]:9.2f} "
                  f"{lengths.min():6.2f} {lengths.max():6.2f}")


if __name__ == "__main__":
    main()
