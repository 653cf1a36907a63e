"""How often directed children go where they were asked, against a placebo.

    python benchmarks/aim_hits.py RUN [RUN ...]

A directed diff run (`--set mutator.direct=true`) stores with each child its aim: the
parent's place in the behaviour space (`start`) and the target the QD algorithm proposed
(`target`), which the commit message asked for. For every valid child with an aim this
counts, in the behaviour space scaled to [0, 1] per dimension:

- hit: the child ended nearer the target than its parent was;
- placebo: the child ended nearer the mirror of the target (the opposite move from the
  same start) than its parent was.

A model that ignores the message moves as often towards either point (hit ~ placebo); one
that follows it moves towards the target more often. Also per run: children, valid ones,
how many had an aim, niches filled and QD score. Undirected runs have no aims: their row
gives the run's figures only, for comparison.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from elmcore import RunStore, StoreError, get_plugin_manager, resolve


def space_of(store: RunStore) -> tuple[np.ndarray, np.ndarray]:
    """The run's behaviour space bounds (low, high), from its stored config."""
    pm = get_plugin_manager()
    config = resolve(store.get_meta("config", kind=dict), pm)
    dims = config.domain.cls(config.domain.options).behaviour_space()
    return np.array([d.low for d in dims], dtype=float), np.array([d.high for d in dims], dtype=float)


def measure(run: Path) -> dict:
    store = RunStore.open(run, readonly=True)
    try:
        low, high = space_of(store)
        scale = np.where(high > low, high - low, 1.0)
        children = valid = aimed = hits = placebo = 0
        for record in store.iter_candidates("operator != 'seed'"):
            children += record.outcome != "duplicate"
            if record.outcome != "valid" or record.descriptors is None:
                continue
            valid += 1
            aim = (record.extras or {}).get("aim")
            if not aim:
                continue
            aimed += 1
            start = (np.array(aim["start"], dtype=float) - low) / scale
            target = (np.array(aim["target"], dtype=float) - low) / scale
            child = (np.array(record.descriptors, dtype=float) - low) / scale
            mirror = 2 * start - target
            hits += np.linalg.norm(child - target) < np.linalg.norm(start - target)
            placebo += np.linalg.norm(child - mirror) < np.linalg.norm(start - mirror)
        stats = store.last_batch_stats()
    finally:
        store.close()
    return dict(run=str(run), children=children, valid=valid, aimed=aimed, hits=int(hits), placebo=int(placebo),
                niches=stats.filled if stats else 0, qd=stats.qd_score if stats else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    args = parser.parse_args()
    print("| run | children evaluated | valid | with an aim | moved towards the target | towards its mirror | "
          "niches | QD score |")
    print("|---|---|---|---|---|---|---|---|")
    for run in args.runs:
        try:
            r = measure(run)
        except StoreError as exc:
            sys.exit(f"aim_hits: {exc}")
        print(f"| {r['run']} | {r['children']} | {r['valid']} | {r['aimed']} | {share(r['hits'], r['aimed'])} | "
              f"{share(r['placebo'], r['aimed'])} | {r['niches']} | {r['qd']:.1f} |")


def share(n: int, of: int) -> str:
    return f"{n} ({100 * n / of:.1f} %)" if of else "-"


if __name__ == "__main__":
    main()
