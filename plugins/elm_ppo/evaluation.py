"""`elm evaluate-learner`: the paper's Stage-3 table (its Figures 18-19). For each condition,
N programs from each source are evaluated under it; the table gives the best and the mean
fitness (a program that is not valid counts 0) and the % valid:

- ``dataset``: programs drawn from a Stage-2 dataset (``--dataset``), the data's own level;
- ``stage2``: the learner as it starts, i.e. the Stage-2 model, which ignores the condition;
- ``stage3``: the learner after the run's last finished iteration.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
import numpy as np

from elmcore import Child, Outcome
from elmcore.learning import Learning
from elmcore.plugins import PluginManager


def summarise(fitness: Sequence[float | None]) -> dict[str, float]:
    values = [f if f is not None else 0.0 for f in fitness]
    return {"best": float(max(values)), "mean": float(np.mean(values)),
            "valid_pct": 100.0 * sum(f is not None for f in fitness) / len(fitness)}


def evaluate_learner(run_dir: Path, pm: PluginManager, n: int, conditions: Sequence[str] | None = None,
                     dataset_programs: Sequence[str] | None = None, seed: int = 0,
                     workers: int = 1) -> dict[str, dict[str, dict[str, float]]]:
    """condition -> source -> {best, mean, valid_pct} over ``n`` programs."""
    trained = Learning.load(run_dir, pm)
    chosen = list(conditions or trained.conditions)
    unknown = [c for c in chosen if c not in trained.conditions]
    if unknown:
        raise ValueError(f"--terrains: the run learnt for {', '.join(trained.conditions)}, not {unknown[0]!r}")
    start = Learning(Path(run_dir), trained.config, pm, None)  # a fresh learner: the model it started from
    start.learner.prepare()
    pools = trained.pools(workers)
    table: dict[str, dict[str, dict[str, float]]] = {}
    try:
        for index, condition in enumerate(chosen):
            rng = np.random.default_rng([seed, index])
            sources: dict[str, list[Child]] = {}
            if dataset_programs:
                picks = rng.integers(0, len(dataset_programs), size=n)
                sources["dataset"] = [Child(dataset_programs[i], None, "dataset") for i in picks]
            sources["stage2"] = start.learner.sample([condition] * n, rng)
            sources["stage3"] = trained.learner.sample([condition] * n, rng)
            table[condition] = {}
            for label, children in sources.items():
                evaluations = Learning.evaluate(children, [condition] * n, {condition: pools[condition]})
                table[condition][label] = summarise(
                    [e.fitness if e.outcome is Outcome.VALID else None for e in evaluations])
    finally:
        for pool in pools.values():
            pool.close()
        start.learner.close()
        trained.close()
    return table


def format_table(table: dict[str, dict[str, dict[str, float]]], n: int, ten: str) -> str:
    labels = {"dataset": "dataset", "stage2": "Stage-2 model", "stage3": f"Stage-3 ({ten} TEN)"}
    sources = [s for s in labels if any(s in row for row in table.values())]
    header = f"{'terrain':<12} " + " ".join(f"{labels[s] + ' best/mean (valid %)':>36}" for s in sources)
    lines = [f"best and mean fitness of {n} programs per terrain (a program that is not valid counts 0)", header]
    for condition, row in table.items():
        cells = [f"{row[s]['best']:>10.1f} / {row[s]['mean']:>7.1f} ({row[s]['valid_pct']:>5.1f}%)" for s in sources]
        lines.append(f"{condition:<12} " + " ".join(f"{c:>36}" for c in cells))
    return "\n".join(lines)
