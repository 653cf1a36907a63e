"""The grid: descriptor -> cell mapping, edge bins, index round trip and config errors."""

from __future__ import annotations

import itertools

import numpy as np
import pydantic
import pytest

from elm_mapelites import MapElites
from elmcore.types import Dimension

SPACE3 = [Dimension("height", 0.0, 12.0, 12), Dimension("width", -6.0, 6.0, 12), Dimension("mass", 0.0, 1.0, 12)]


def test_domain_defaults_give_the_grid_shape():
    archive = MapElites(None, SPACE3)
    assert archive.shape == (12, 12, 12) and archive.num_niches == 1728
    assert [d.name for d in archive.dimensions] == ["height", "width", "mass"]


def test_bins_as_int_or_list_and_ranges_override():
    assert MapElites({"bins": 5}, SPACE3).shape == (5, 5, 5)
    archive = MapElites({"bins": [2, 3, 4], "ranges": [[0, 1], [0, 1], [0, 2]]}, SPACE3)
    assert archive.shape == (2, 3, 4) and archive.num_niches == 24
    assert [(d.low, d.high) for d in archive.dimensions] == [(0, 1), (0, 1), (0, 2)]
    assert archive.niche_of((0.99, 0.5, 1.99)) == archive.niche_of_cell((1, 1, 3))


def test_descriptors_map_to_equal_width_bins():
    archive = MapElites({"bins": [4]}, [Dimension("x", 0.0, 1.0, 10)])
    assert [archive.niche_of((v,)) for v in (0.0, 0.24, 0.25, 0.5, 0.74, 0.76, 0.999)] == [0, 0, 1, 2, 2, 3, 3]


@pytest.mark.parametrize("value, cell", [(-5.0, 0), (1.0, 3), (7.0, 3), (float("-inf"), 0), (float("inf"), 3)])
def test_out_of_range_values_go_to_the_edge_bins(value, cell):
    archive = MapElites({"bins": 4}, [Dimension("x", 0.0, 1.0, 10), Dimension("y", 0.0, 1.0, 10)])
    assert archive.cell_of(archive.niche_of((value, 0.6))) == (cell, 2)


def test_multi_dimensional_index_round_trip():
    archive = MapElites({"bins": [3, 4, 2, 5]}, [Dimension(f"d{i}", 0.0, 1.0, 2) for i in range(4)])
    cells = list(itertools.product(range(3), range(4), range(2), range(5)))
    assert [archive.niche_of_cell(c) for c in cells] == list(range(archive.num_niches))
    for niche, cell in enumerate(cells):
        assert archive.cell_of(niche) == cell
        centre = [(lo + hi) / 2 for lo, hi in archive.cell_bounds(niche)]
        assert archive.niche_of(centre) == niche
    points = np.random.default_rng(0).uniform(0, 1, (500, 4))
    expected = [archive.niche_of_cell(tuple(int(v * b) for v, b in zip(p, (3, 4, 2, 5)))) for p in points]
    assert archive.niches_of(points).tolist() == expected


def test_cell_index_errors():
    archive = MapElites({"bins": 3}, SPACE3)
    with pytest.raises(IndexError, match="outside the grid"):
        archive.niche_of_cell((0, 3, 0))
    with pytest.raises(IndexError, match="out of range"):
        archive.cell_of(27)


def test_wrong_bins_length_names_the_dimensions():
    with pytest.raises(ValueError, match=r"bins has 2 entries but the behaviour space has 3 dimensions "
                                         r"\(height, width, mass\)"):
        MapElites({"bins": [4, 4]}, SPACE3)


def test_wrong_ranges_length():
    with pytest.raises(ValueError, match="ranges has 1 entries but the behaviour space has 3 dimensions"):
        MapElites({"ranges": [[0, 1]]}, SPACE3)


@pytest.mark.parametrize("config, message", [
    ({"ranges": [[0, 1], [2, 1], [0, 1]]}, r"ranges\[1\]: high \(1.0\) must exceed low \(2.0\)"),
    ({"ranges": [[0, 1], [0, 1], [0, float("inf")]]}, r"ranges\[2\].*must be finite"),
    ({"ranges": [[0, 1, 2], [0, 1], [0, 1]]}, r"ranges\.0"),
    ({"bins": 0}, "greater than or equal to 1"),
    ({"bins": [3, -1, 3]}, "greater than or equal to 1"),
    ({"bin": 3}, "Extra inputs are not permitted"),
    ({"qd_score_offset": float("nan")}, "qd_score_offset must be a finite number"),
])
def test_bad_config_values_are_clear_errors(config, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        MapElites(config, SPACE3)


def test_huge_grids_and_empty_spaces_are_refused():
    with pytest.raises(ValueError, match="use fewer bins"):
        MapElites({"bins": 1000}, SPACE3)
    with pytest.raises(ValueError, match="no dimensions"):
        MapElites(None, [])


def test_config_object_of_another_type_is_refused():
    with pytest.raises(TypeError, match="config must be a GridConfig"):
        MapElites(3, SPACE3)  # type: ignore[arg-type]
