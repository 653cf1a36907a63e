"""The report's figures, drawn with matplotlib (Agg, no display) and returned as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from itertools import combinations
import numpy as np

from elm_report.data import OUTCOMES, RunData
from elmcore import Dimension

OUTCOME_COLOURS = {"no_edit": "#bbbbbb", "edit_failed": "#e69f00", "duplicate": "#56b4e9", "not_runnable": "#d55e00",
                   "invalid": "#cc79a7", "valid": "#009e73"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    _pyplot().close(figure)
    return buffer.getvalue()


def progress(runs: Sequence[RunData]) -> bytes:
    """QD score, niches filled and best fitness against evaluations, one line per run."""
    plt = _pyplot()
    figure, axes = plt.subplots(1, 3, figsize=(15, 4))
    for key, title, axis in zip(("qd_score", "filled", "max_fitness"), ("QD score", "niches filled", "best fitness"),
                                axes):
        for run in runs:
            points = [(c["evals"], c[key]) for c in run.curve if c.get(key) is not None]
            if points:
                axis.plot(*zip(*points), label=run.label)
        axis.set_title(title)
        axis.set_xlabel("evaluations")
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    return _png(figure)


def outcome_mix(run: RunData, buckets: int = 50) -> bytes:
    """The share of each outcome over the run, in up to ``buckets`` groups of batches."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7.5, 3.2))
    groups = np.array_split(np.arange(len(run.outcome_by_batch)), min(buckets, max(len(run.outcome_by_batch), 1)))
    xs, shares = [], {o: [] for o in OUTCOMES}
    for group in groups:
        if len(group) == 0:
            continue
        counts = {o: sum(run.outcome_by_batch[i][1].get(o, 0) for i in group) for o in OUTCOMES}
        total = sum(counts.values()) or 1
        xs.append(run.outcome_by_batch[group[-1]][0])
        for o in OUTCOMES:
            shares[o].append(100.0 * counts[o] / total)
    if xs:
        axis.stackplot(xs, *[shares[o] for o in OUTCOMES], labels=[o.replace("_", " ") for o in OUTCOMES],
                       colors=[OUTCOME_COLOURS[o] for o in OUTCOMES], step="post" if len(xs) == 1 else None)
    axis.set_ylim(0, 100)
    axis.set_ylabel("% of children proposed")
    axis.set_xlabel("evaluations")
    axis.set_title(f"outcomes: {run.label}")
    axis.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return _png(figure)


def _bin(values: np.ndarray, dim: Dimension) -> np.ndarray:
    cells = np.floor((values - dim.low) / (dim.high - dim.low) * dim.bins).astype(int)
    return np.clip(cells, 0, dim.bins - 1)


def archive(run: RunData, dims: Sequence[Dimension]) -> bytes:
    """The archive as heatmaps of the best fitness, one per pair of behaviour dimensions
    (the projection: the best over the other dimensions); white where no elite is."""
    plt = _pyplot()
    pairs = list(combinations(range(len(dims)), 2)) or [(0, 0)]
    figure, axes = plt.subplots(1, len(pairs), figsize=(4.6 * len(pairs), 4), squeeze=False)
    fitness = np.array([f for f, _ in run.elites]) if run.elites else np.zeros(0)
    points = np.array([d for _, d in run.elites]) if run.elites else np.zeros((0, len(dims)))
    low, high = (float(fitness.min()), float(fitness.max())) if len(fitness) else (0.0, 1.0)
    image = None
    for axis, (a, b) in zip(axes[0], pairs):
        grid = np.full((dims[b].bins if a != b else 1, dims[a].bins), np.nan)
        if len(fitness):
            xs = _bin(points[:, a], dims[a])
            ys = _bin(points[:, b], dims[b]) if a != b else np.zeros(len(xs), dtype=int)
            for x, y, f in zip(xs, ys, fitness):
                if np.isnan(grid[y, x]) or f > grid[y, x]:
                    grid[y, x] = f
        extent = (dims[a].low, dims[a].high, dims[b].low, dims[b].high) if a != b else (dims[a].low, dims[a].high, 0, 1)
        image = axis.imshow(grid, origin="lower", aspect="auto", extent=extent, cmap="viridis", vmin=low,
                            vmax=high if high > low else low + 1)
        axis.set_xlabel(dims[a].name)
        axis.set_ylabel(dims[b].name if a != b else "")
    if image is not None:
        figure.colorbar(image, ax=list(axes[0]), label="fitness", shrink=0.85)
    figure.suptitle(f"archive: {run.label} ({len(run.elites):,} niches filled)")
    return _png(figure)
