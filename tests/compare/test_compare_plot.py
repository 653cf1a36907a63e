"""The Pillow plot: log decades chosen from the data, zero counts on their own row, one
colour per operator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageColor

from elm_compare.plot import HEIGHT, PALETTE, WIDTH, Point, Series, decade_range, plot_success, tick_label
from elm_compare.stats import wilson_interval


def point(label: str, successes: int, trials: int) -> Point:
    low, high = wilson_interval(successes, trials)
    return Point(label, successes, trials, 100 * successes / trials, 100 * low, 100 * high)


def test_decades_cover_every_value_and_interval() -> None:
    series = [Series("gp", [point("1", 430, 100_000), point("2", 4, 100_000), point("3", 0, 100_000)])]
    low, high = decade_range(series)
    assert (low, high) == (-3, 0)  # 4 of 100,000 (interval from 0.0016 %) needs 0.001 %; 0.43 % fits under 1
    assert decade_range([Series("edit", [point("1", 76, 100)])]) == (1, 2)  # never above 100 %
    assert decade_range([]) == (-3, 2)


def test_tick_labels_are_plain_numbers() -> None:
    assert [tick_label(e) for e in (-4, -1, 0, 2)] == ["0.0001", "0.1", "1", "100"]


def colour_pixels(path: Path, colour: str) -> int:
    target = np.array(ImageColor.getrgb(colour), dtype=int)
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=int)
    return int((np.abs(pixels - target).max(axis=2) < 40).sum())


def test_each_operator_gets_its_colour_and_zeros_are_drawn(tmp_path: Path) -> None:
    zeros = [Series("gp", [point("1", 10, 1000), point("2", 0, 1000)]),
             Series("gp-tree", [point("1", 0, 1000), point("2", 0, 1000)])]
    path = plot_success(zeros, "parity: test", tmp_path / "plot.png")
    with Image.open(path) as image:
        assert image.size == (WIDTH, HEIGHT)
    assert colour_pixels(path, PALETTE[0]) > 200 and colour_pixels(path, PALETTE[1]) > 200
    only_first = plot_success(zeros[:1], "parity: test", tmp_path / "one.png")
    assert colour_pixels(only_first, PALETTE[1]) < 20  # an all-zero series is still visible above
