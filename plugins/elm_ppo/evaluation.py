"""`elm evaluate-learner`: the paper's Stage-3 table (its Figures 18-19). For each condition,
N programs from each source are evaluated under it; the table gives the best and the mean
fitness (a program that is not valid counts 0), the % valid and, with ``extra``, the mean of
one numeric extra of the domain's over the valid programs (Sodarace: ``displacement``, the
signed distance walked, which tells which way the walkers go):

- ``dataset``: programs drawn from a Stage-2 dataset (``--dataset``), the data's own level;
- ``stage2``: the learner as it starts, i.e. the Stage-2 model, which ignores the condition;
- one column per learning run: its learner after the run's last finished iteration
  (``stage3-discrete``, ``stage3-vision``: by the run's TEN; by run directory where two
  runs share one).

Every run must have started from the same model and learnt for the conditions asked about.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
import numpy as np

from elmcore import Child, Evaluation, Outcome
from elmcore import Learning
from elmcore import PluginManager

Table = dict[str, dict[str, dict[str, float | None]]]


def summarise(evaluations: Sequence[Evaluation], extra: str | None = None) -> dict[str, float | None]:
    """best and mean fitness (not valid: 0), % valid, and the mean of the numeric ``extra`` over
    the valid programs that report it (None when none does)."""
    values = [e.fitness if e.outcome is Outcome.VALID and e.fitness is not None else 0.0 for e in evaluations]
    cell: dict[str, float | None] = {
        "best": float(max(values)), "mean": float(np.mean(values)),
        "valid_pct": 100.0 * sum(e.outcome is Outcome.VALID for e in evaluations) / len(evaluations)}
    if extra is not None:
        reported = [float(e.extras[extra]) for e in evaluations if e.outcome is Outcome.VALID
                    and isinstance(e.extras.get(extra), (int, float)) and not isinstance(e.extras[extra], bool)]
        cell["extra_mean"] = float(np.mean(reported)) if reported else None
    return cell


def run_labels(runs: Sequence[Learning]) -> list[str]:
    """``stage3-<ten>`` per run, or ``stage3-<run directory>`` where two runs share a TEN."""
    tens = [str(run.config.learner.values().get("ten", "learnt")) for run in runs]
    if len(set(tens)) == len(tens):
        return [f"stage3-{ten}" for ten in tens]
    names = [run.run_dir.name for run in runs]
    if len(set(names)) == len(names):
        return [f"stage3-{name}" for name in names]
    return [f"stage3-{i + 1}" for i in range(len(runs))]


def evaluate_learner(run_dirs: Path | Sequence[Path], pm: PluginManager, n: int,
                     conditions: Sequence[str] | None = None, dataset_programs: Sequence[str] | None = None,
                     seed: int = 0, workers: int = 1, extra: str | None = None) -> Table:
    """condition -> source -> {best, mean, valid_pct[, extra_mean]} over ``n`` programs."""
    dirs = [Path(run_dirs)] if isinstance(run_dirs, (str, Path)) else [Path(d) for d in run_dirs]
    if not dirs:
        raise ValueError("give at least one learning run")
    trained: list[Learning] = []
    start: Learning | None = None
    pools = {}
    try:
        for run_dir in dirs:
            trained.append(Learning.load(run_dir, pm))
        first = trained[0]
        chosen = list(conditions or first.conditions)
        model = first.config.learner.values().get("model")
        for run in trained:
            unknown = [c for c in chosen if c not in run.conditions]
            if unknown:
                raise ValueError(f"--terrains: the run {run.run_dir} learnt for {', '.join(run.conditions)}, "
                                 f"not {unknown[0]!r}")
            if run.config.learner.values().get("model") != model:
                raise ValueError(f"{run.run_dir} started from the model {run.config.learner.values().get('model')}, "
                                 f"{first.run_dir} from {model}: compare runs of one Stage-2 model")
        labels = run_labels(trained)
        start = Learning(first.run_dir, first.config, pm, None)  # a fresh learner: the model it started from
        start.learner.prepare()
        pools = first.pools(workers)
        table: Table = {}
        for index, condition in enumerate(chosen):
            rng = np.random.default_rng([seed, index])
            sources: dict[str, list[Child]] = {}
            if dataset_programs:
                picks = rng.integers(0, len(dataset_programs), size=n)
                sources["dataset"] = [Child(dataset_programs[i], None, "dataset") for i in picks]
            sources["stage2"] = start.learner.sample([condition] * n, rng)
            for label, run in zip(labels, trained):
                sources[label] = run.learner.sample([condition] * n, rng)
            table[condition] = {}
            for label, children in sources.items():
                evaluations = Learning.evaluate(children, [condition] * n, {condition: pools[condition]})
                table[condition][label] = summarise(evaluations, extra)
        return table
    finally:
        for pool in pools.values():
            pool.close()
        if start is not None:
            start.learner.close()
        for run in trained:
            run.close()


def format_table(table: Table, n: int, extra: str | None = None) -> str:
    sources = list(next(iter(table.values())))
    width = 36 if extra else 28
    header = f"{'terrain':<12} " + " ".join(f"{s:>{width}}" for s in sources)
    what = "best / mean (valid %" + (f", mean {extra}" if extra else "") + ")"
    lines = [f"{what} of {n} programs per terrain and source (a program that is not valid counts 0)", header]
    for condition, row in table.items():
        cells = []
        for s in sources:
            cell = row[s]
            text = f"{cell['best']:.1f} / {cell['mean']:.1f} ({cell['valid_pct']:.1f}%"
            if extra:
                text += ", -" if cell.get("extra_mean") is None else f", {cell['extra_mean']:+.1f}"
            cells.append(text + ")")
        lines.append(f"{condition:<12} " + " ".join(f"{c:>{width}}" for c in cells))
    return "\n".join(lines)
