"""A log-scale plot of success rate against number of bugs, one line per operator, drawn
with Pillow (no plotting library needed). A log axis has no zero, so zero counts sit on a
separate "0" row below a break in the axis, as hollow markers labelled "0 of N"; bars show
the 95 % Wilson interval."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 960, 600
SCALE = 2  # drawn at twice the size, then scaled down: smooth lines without anti-aliasing support
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
MARKERS = ("circle", "square", "triangle", "diamond", "down")


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


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size * SCALE)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


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


class _Canvas:
    def __init__(self, categories: list[str], decades: tuple[int, int]) -> None:
        self.image = Image.new("RGB", (WIDTH * SCALE, HEIGHT * SCALE), "white")
        self.draw = ImageDraw.Draw(self.image)
        self.left, self.right, self.top, self.bottom = 90, WIDTH - 230, 50, HEIGHT - 100
        self.zero = self.bottom + 30  # the row of zero counts, below the axis break
        self.categories = categories
        self.decades = decades

    def s(self, value: float) -> float:
        return value * SCALE

    def x(self, index: int) -> float:
        step = (self.right - self.left) / max(1, len(self.categories))
        return self.left + step * (index + 0.5)

    def y(self, pct: float) -> float:
        """Pixel row of a positive percentage; zero sits on the zero row."""
        if pct <= 0:
            return self.zero
        low, high = self.decades
        fraction = (math.log10(pct) - low) / (high - low)
        return self.bottom - fraction * (self.bottom - self.top)

    def line(self, points: Sequence[tuple[float, float]], color: str, width: float = 1.0, dashed: bool = False) -> None:
        scaled = [(self.s(px), self.s(py)) for px, py in points]
        if not dashed:
            self.draw.line(scaled, fill=color, width=max(1, round(self.s(width))))
            return
        for (x0, y0), (x1, y1) in zip(scaled, scaled[1:]):
            length = math.hypot(x1 - x0, y1 - y0)
            dash = self.s(6)
            steps = max(1, int(length // dash))
            for k in range(0, steps, 2):
                a, b = k / steps, min(1.0, (k + 1) / steps)
                self.draw.line([(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a), (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b)],
                               fill=color, width=max(1, round(self.s(width))))

    def text(self, xy: tuple[float, float], text: str, size: int = 12, color: str = "black",
             anchor: str = "la") -> None:
        self.draw.text((self.s(xy[0]), self.s(xy[1])), text, fill=color, font=_font(size), anchor=anchor)

    def marker(self, xy: tuple[float, float], shape: str, color: str, hollow: bool = False, radius: float = 5) -> None:
        cx, cy, r = self.s(xy[0]), self.s(xy[1]), self.s(radius)
        fill = "white" if hollow else color
        width = max(1, round(self.s(1.5)))
        if shape == "circle":
            self.draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill, outline=color, width=width)
        elif shape == "square":
            self.draw.rectangle([cx - r * 0.9, cy - r * 0.9, cx + r * 0.9, cy + r * 0.9], fill=fill, outline=color,
                                width=width)
        else:
            corners = {"triangle": [(0, -1.2), (1.1, 0.8), (-1.1, 0.8)],
                       "down": [(0, 1.2), (1.1, -0.8), (-1.1, -0.8)],
                       "diamond": [(0, -1.3), (1.1, 0), (0, 1.3), (-1.1, 0)]}[shape]
            self.draw.polygon([(cx + dx * r, cy + dy * r) for dx, dy in corners], fill=fill, outline=color,
                              width=width)

    def vertical_text(self, xy: tuple[float, float], text: str, size: int = 13) -> None:
        font = _font(size)
        box = self.draw.textbbox((0, 0), text, font=font)
        strip = Image.new("RGBA", (box[2] - box[0] + 4, box[3] - box[1] + 4), (255, 255, 255, 0))
        ImageDraw.Draw(strip).text((2 - box[0], 2 - box[1]), text, fill="black", font=font)
        rotated = strip.rotate(90, expand=True)
        position = (round(self.s(xy[0]) - rotated.width / 2), round(self.s(xy[1]) - rotated.height / 2))
        self.image.paste(rotated, position, rotated)


def plot_success(series: Sequence[Series], title: str, path: Path | str) -> Path:
    """Draw the plot and save it as a PNG at ``path``."""
    categories = list(dict.fromkeys(p.label for s in series for p in s.points)) or ["-"]
    canvas = _Canvas(categories, decade_range(series))
    _axes(canvas, title)
    zero_labels: dict[int, int] = {}
    for number, one in enumerate(series):
        color, shape = PALETTE[number % len(PALETTE)], MARKERS[number % len(MARKERS)]
        dodge = (number - (len(series) - 1) / 2) * min(8.0, 40.0 / max(1, len(series)))
        placed = [(canvas.x(categories.index(p.label)) + dodge, canvas.y(p.pct if p.successes else 0.0), p)
                  for p in one.points if p.trials > 0]
        for (x0, y0, p0), (x1, y1, p1) in zip(placed, placed[1:]):
            canvas.line([(x0, y0), (x1, y1)], color, width=2, dashed=not (p0.successes and p1.successes))
        for px, py, p in placed:
            top, bottom = canvas.y(p.high_pct), canvas.y(p.low_pct)
            canvas.line([(px, top), (px, bottom)], color, width=1)
            canvas.line([(px - 3, top), (px + 3, top)], color, width=1)
            canvas.marker((px, py), shape, color, hollow=not p.successes)
            if not p.successes:
                index = categories.index(p.label)
                stack = zero_labels.get(index, 0)
                zero_labels[index] = stack + 1
                canvas.text((px + 9, py - 16 - 15 * stack), f"0 of {p.trials:,}", size=11, color=color)
        _legend_entry(canvas, number, one.name, color, shape)
    notes = ["bars: 95 % Wilson interval", "hollow, on the 0 row: none solved"]
    for k, note in enumerate(notes):
        canvas.text((canvas.right + 20, canvas.top + 30 * len(series) + 20 + 18 * k), note, size=11, color="#555555")
    path = Path(path)
    canvas.image.resize((WIDTH, HEIGHT), Image.LANCZOS).save(path, format="PNG")
    return path


def _axes(canvas: _Canvas, title: str) -> None:
    low, high = canvas.decades
    for exponent in range(low, high + 1):
        y = canvas.y(10.0 ** exponent)
        canvas.line([(canvas.left, y), (canvas.right, y)], "#dddddd")
        canvas.line([(canvas.left - 6, y), (canvas.left, y)], "black")
        canvas.text((canvas.left - 10, y), tick_label(exponent), size=12, anchor="rm")
        if exponent < high:
            for factor in range(2, 10):
                minor = canvas.y(factor * 10.0 ** exponent)
                canvas.line([(canvas.left - 3, minor), (canvas.left, minor)], "black")
    zero = canvas.zero
    canvas.line([(canvas.left - 6, zero), (canvas.left, zero)], "black")
    canvas.text((canvas.left - 10, zero), "0", size=12, anchor="rm")
    for index, label in enumerate(canvas.categories):
        x = canvas.x(index)
        canvas.line([(x, zero), (x, zero + 6)], "black")
        canvas.text((x, zero + 10), label, size=12, anchor="ma")
    gap_top, gap_bottom = canvas.bottom + 8, zero - 8  # the axis break between the log scale and zero
    canvas.line([(canvas.left, canvas.top), (canvas.left, gap_top)], "black", width=1.2)
    canvas.line([(canvas.left, gap_bottom), (canvas.left, zero), (canvas.right, zero)], "black", width=1.2)
    for y in (gap_top, gap_bottom):
        canvas.line([(canvas.left - 5, y + 3), (canvas.left + 5, y - 3)], "black", width=1.2)
    canvas.text(((canvas.left + canvas.right) / 2, 18), title, size=15, anchor="ma")
    canvas.text(((canvas.left + canvas.right) / 2, zero + 34), "number of bugs", size=13, anchor="ma")
    canvas.vertical_text((24, (canvas.top + canvas.zero) / 2), "% of single mutations that solve (log scale)")


def _legend_entry(canvas: _Canvas, number: int, name: str, color: str, shape: str) -> None:
    x, y = canvas.right + 20, canvas.top + 10 + 30 * number
    canvas.line([(x, y), (x + 36, y)], color, width=2)
    canvas.marker((x + 18, y), shape, color)
    canvas.text((x + 46, y), name, size=13, anchor="lm")
