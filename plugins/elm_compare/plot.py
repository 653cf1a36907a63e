"""A log-scale plot of success rate against number of bugs, one line per operator, drawn
with matplotlib. A log axis has no zero, so zero counts sit on a separate "0" row below a
break in the axis, as hollow markers labelled "0 of N"; bars show the 95 % Wilson interval."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

WIDTH, HEIGHT = 960, 600
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
MARKERS = ("o", "s", "^", "D", "v")


@dataclass(frozen=True)
class Point:
    label: str  # the x category, e.g. "3" bugs
    successes: int
    trials: int
    pct: float
    low_pct: float
    high_pct: float


@dataclass(frozen=True)
class Series:
    name: str
    points: list[Point]


def decade_range(series: Sequence[Series]) -> tuple[int, int]:
    """Lowest and highest power of ten on the y axis (in %), with room below the smallest value."""
    points = [p for s in series for p in s.points if p.trials > 0]
    shown = [v for p in points for v in (p.pct, p.low_pct, p.high_pct) if v > 0]
    if not shown:
        return -3, 2
    low = math.floor(math.log10(min(shown) / 1.5))
    high = min(2, math.ceil(math.log10(max(shown))))
    return low, max(high, low + 1)


def tick_label(exponent: int) -> str:
    return f"{10.0 ** exponent:g}"


def plot_success(series: Sequence[Series], title: str, path: Path | str | BinaryIO) -> Path | BinaryIO:
    """Draw the plot into ``path`` (a PNG file, or a binary stream) and return it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    categories = list(dict.fromkeys(p.label for s in series for p in s.points)) or ["-"]
    low, high = decade_range(series)
    figure, (axis, zeros) = plt.subplots(2, 1, figsize=(WIDTH / 100, HEIGHT / 100), dpi=100, sharex=True,
                                         gridspec_kw={"height_ratios": [7, 1], "hspace": 0.06})
    figure.subplots_adjust(left=0.1, right=0.76, top=0.9, bottom=0.12)
    axis.set_yscale("log")
    axis.set_ylim(10.0 ** low, 10.0 ** high)
    axis.set_yticks([10.0 ** e for e in range(low, high + 1)], [tick_label(e) for e in range(low, high + 1)])
    axis.minorticks_off()
    axis.grid(alpha=0.3)
    axis.set_ylabel("% of single mutations that pass every test")
    zeros.set_ylim(-1, 1)
    zeros.set_yticks([0], ["0"])
    zeros.set_xticks(range(len(categories)), categories)
    zeros.set_xlabel("bugs")
    axis.spines["bottom"].set_visible(False)
    zeros.spines["top"].set_visible(False)
    axis.tick_params(bottom=False)
    for a, y in ((axis, 0.0), (zeros, 1.0)):  # the break between the log axis and the zero row
        a.plot([-0.01, 0.01], [y - 0.015 * (1 if a is axis else 7), y + 0.015 * (1 if a is axis else 7)],
               transform=a.transAxes, color="k", clip_on=False, lw=1)
    width = 0.25 / max(1, len(series))
    for number, one in enumerate(series):
        color, marker = PALETTE[number % len(PALETTE)], MARKERS[number % len(MARKERS)]
        dodge = (number - (len(series) - 1) / 2) * width
        xs = [categories.index(p.label) + dodge for p in one.points]
        positive = [(x, p) for x, p in zip(xs, one.points) if p.successes > 0]
        for (x0, p0), (x1, p1) in zip(zip(xs, one.points), list(zip(xs, one.points))[1:]):
            if p0.successes and p1.successes:
                axis.plot([x0, x1], [p0.pct, p1.pct], color=color, lw=2)
        if positive:
            axis.errorbar([x for x, _ in positive], [p.pct for _, p in positive],
                          yerr=[[p.pct - max(p.low_pct, 10.0 ** low) for _, p in positive],
                                [p.high_pct - p.pct for _, p in positive]],
                          fmt=marker, color=color, capsize=4, ms=7, label=one.name)
        zero = [(x, p) for x, p in zip(xs, one.points) if p.successes == 0 and p.trials > 0]
        for x, p in zero:
            axis.plot([x, x], [10.0 ** low, p.high_pct], color=color, lw=1)  # its interval reaches up to here
            zeros.annotate(f"0 of {p.trials:,}", (x, 0), textcoords="offset points", fontsize=8, color=color,
                           xytext=(6, 2 if number % 2 == 0 else -9))  # neighbours' labels above and below
        if zero:
            zeros.plot([x for x, _ in zero], [0] * len(zero), marker, color=color, mfc="white", ms=7,
                       label=None if positive else one.name)
            if not positive:  # an all-zero series still gets its legend entry
                axis.plot([], [], marker, color=color, mfc="white", label=one.name)
    axis.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=9)
    axis.set_title(title)
    figure.savefig(path, format="png", dpi=100)
    plt.close(figure)
    return Path(path) if isinstance(path, (str, Path)) else path
