"""CVT-MAP-Elites: k-means centroids, their disk cache, and the nearest-centroid lookup."""

from __future__ import annotations

import numpy as np
import pydantic
import pytest

import elm_mapelites.centroids as centroids_module
from elm_mapelites import CVTMapElites
from elm_mapelites.centroid_index import CentroidIndex, nearest_centroid
from elm_mapelites.centroids import build_centroids, cache_file_name, default_cache_dir
from elm_mapelites.kmeans import kmeans
from elmcore.types import Dimension

SPACE = [Dimension("x", 0.0, 10.0, 5), Dimension("y", -1.0, 1.0, 5), Dimension("z", 0.0, 1.0, 5)]
SMALL = {"centroids": 40, "samples": 4000, "kmeans_iters": 15}


def cvt(tmp_path, seed=0, **config):
    return CVTMapElites({**SMALL, "cache_dir": str(tmp_path), **config}, SPACE, seed=seed)


def test_centroids_cover_the_box_and_are_all_used(tmp_path):
    archive = cvt(tmp_path)
    cents = archive.centroids
    assert cents.shape == (40, 3) and archive.num_niches == 40
    assert (cents >= [0, -1, 0]).all() and (cents <= [10, 1, 1]).all()
    # Each centroid is its own nearest centroid, and uniform points reach every niche about equally.
    assert archive.niches_of(cents).tolist() == list(range(40))
    points = np.random.default_rng(0).uniform([0, -1, 0], [10, 1, 1], (40_000, 3))
    counts = np.bincount(archive.niches_of(points), minlength=40)
    assert counts.min() > 0.4 * counts.mean() and counts.max() < 2.0 * counts.mean()


def test_centroids_are_cached_and_the_second_construction_loads_them(tmp_path, monkeypatch):
    first = cvt(tmp_path)
    assert first.cache_file is not None and first.cache_file.parent == tmp_path
    assert first.cache_file.name == cache_file_name(3, 40, 4000, 0, 15)

    def no_rebuild(*args, **kwargs):
        raise AssertionError("centroids were rebuilt instead of loaded from the cache")

    monkeypatch.setattr(centroids_module, "build_centroids", no_rebuild)
    second = cvt(tmp_path)
    np.testing.assert_array_equal(first.centroids, second.centroids)
    # Centroids live in the unit cube, so other ranges reuse the same file.
    other = CVTMapElites({**SMALL, "cache_dir": str(tmp_path), "ranges": [[0, 1]] * 3}, SPACE)
    np.testing.assert_allclose(other.centroids, (first.centroids - [0, -1, 0]) / [10, 2, 1])


def test_centroids_are_deterministic_for_a_seed_and_differ_across_seeds(tmp_path):
    a = cvt(tmp_path / "a", seed=7)
    b = cvt(tmp_path / "b", seed=7)
    c = cvt(tmp_path / "c", seed=8)
    np.testing.assert_array_equal(a.centroids, b.centroids)
    assert not np.allclose(a.centroids, c.centroids)
    fixed = cvt(tmp_path / "d", seed=8, centroid_seed=7)
    np.testing.assert_array_equal(a.centroids, fixed.centroids)


def test_a_corrupt_cache_file_is_rebuilt(tmp_path):
    good = cvt(tmp_path).centroids
    good_file = tmp_path / cache_file_name(3, 40, 4000, 0, 15)
    good_file.write_bytes(b"not an npy file")
    np.testing.assert_array_equal(cvt(tmp_path).centroids, good)
    assert np.load(good_file).shape == (40, 3)


def test_cache_dir_defaults_to_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("ELM_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path / "cvt"
    archive = CVTMapElites(SMALL, SPACE)
    assert archive.cache_file.parent == tmp_path / "cvt"
    monkeypatch.delenv("ELM_CACHE_DIR")
    assert default_cache_dir().parts[-3:] == (".cache", "elm", "cvt")


def test_an_unwritable_cache_is_a_warning(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.warns(UserWarning, match="could not cache centroids"):
        archive = CVTMapElites({**SMALL, "cache_dir": str(blocker / "cvt")}, SPACE)
    assert archive.cache_file is None and archive.num_niches == 40


def test_out_of_range_descriptors_go_to_the_niche_of_the_nearest_box_point(tmp_path):
    archive = cvt(tmp_path)
    outside = np.array([[-5.0, 3.0, 0.5], [20.0, -np.inf, 2.0], [np.inf, 0.0, -1.0]])
    clipped = np.clip(outside, [0, -1, 0], [10, 1, 1])
    assert archive.niches_of(outside).tolist() == archive.niches_of(clipped).tolist()


@pytest.mark.parametrize("dims, k", [(1, 30), (2, 200), (3, 500), (5, 300), (8, 100)])
def test_bucketed_lookup_equals_a_full_scan(dims, k):
    cents = build_centroids(dims, k, 20 * k, seed=1, iterations=8)
    index = CentroidIndex(cents)
    rng = np.random.default_rng(dims)
    points = rng.random((5000, dims))
    points[:500] = np.round(points[:500] * 4) / 4  # bucket borders and box corners
    points[500:600] = cents[rng.integers(0, k, 100)]  # exactly on centroids
    np.testing.assert_array_equal(index.nearest(points), nearest_centroid(points, cents))
    assert index.candidates_per_bucket <= k


def test_nearest_centroid_breaks_ties_towards_the_lower_index():
    cents = np.array([[0.75], [0.25], [0.75]])
    np.testing.assert_array_equal(nearest_centroid(np.array([[0.5], [0.9]]), cents), [0, 0])
    np.testing.assert_array_equal(CentroidIndex(cents).nearest(np.array([[0.5], [0.9]])), [0, 0])


def test_kmeans_finds_well_separated_clusters():
    rng = np.random.default_rng(0)
    truth = np.array([[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]])
    points = np.concatenate([c + 0.01 * rng.standard_normal((300, 2)) for c in truth])
    found = kmeans(points, 3, 50, np.random.default_rng(1))
    np.testing.assert_allclose(found[np.lexsort(found.T[::-1])], truth[np.lexsort(truth.T[::-1])], atol=0.01)
    with pytest.raises(ValueError, match="1 <= k"):
        kmeans(points, 1000, 5, rng)


@pytest.mark.parametrize("config, message", [
    ({"centroids": 10, "samples": 5}, r"samples \(5\) must be at least centroids \(10\)"),
    ({"centroids": 0}, "greater than or equal to 1"),
    ({"kmeans_iters": 0}, "greater than or equal to 1"),
    ({"centroid_seed": -1}, "greater than or equal to 0"),
    ({"bins": 4}, "Extra inputs are not permitted"),
])
def test_bad_cvt_config_is_a_clear_error(config, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        CVTMapElites(config, SPACE)


def test_negative_run_seed_needs_a_centroid_seed(tmp_path):
    with pytest.raises(ValueError, match="set centroid_seed"):
        cvt(tmp_path, seed=-3)
    assert cvt(tmp_path, seed=-3, centroid_seed=0).num_niches == 40


def test_default_samples_scale_with_centroids():
    assert CVTMapElites.Config().resolved_samples() == 100_000
    assert CVTMapElites.Config(centroids=10_000).resolved_samples() == 250_000
