"""Incremental statistics against a brute-force recount, and uniform parent selection."""

from __future__ import annotations

import numpy as np
import pytest

from archive_cases import make_archive


@pytest.fixture(params=["grid", "cvt"])
def kind(request):
    return request.param


def brute_force_stats(archive, offset):
    fitness = np.array([e.fitness for e in archive.elites()])
    return len(fitness), float((fitness - offset).sum()), float(fitness.max()), float(fitness.mean())


def test_empty_archive_stats_and_select(kind, tmp_path):
    archive = make_archive(kind, tmp_path)
    stats = archive.stats()
    assert (stats.filled, stats.qd_score, stats.max_fitness, stats.mean_fitness) == (0, 0.0, None, None)
    assert stats.niches == archive.num_niches == 16
    assert archive.select(5, np.random.default_rng(0)) == []
    assert archive.elites() == []


@pytest.mark.parametrize("offset", [0.0, -3.5])
def test_incremental_stats_match_a_recount_after_every_batch(kind, tmp_path, offset):
    archive = make_archive(kind, tmp_path, qd_score_offset=offset)
    rng = np.random.default_rng(11)
    for b in range(40):
        n = int(rng.integers(1, 30))
        ids = list(range(b * 100, b * 100 + n))
        archive.insert(ids, ["p"] * n, rng.normal(size=n).tolist(), rng.uniform(-0.1, 1.1, (n, 2)).tolist())
        stats = archive.stats()
        filled, qd_score, max_fitness, mean_fitness = brute_force_stats(archive, offset)
        assert stats.filled == filled == len(archive)
        assert stats.qd_score == pytest.approx(qd_score, abs=1e-9)
        assert stats.max_fitness == max_fitness
        assert stats.mean_fitness == pytest.approx(mean_fitness, abs=1e-12)
        assert stats.coverage == filled / archive.num_niches


def test_qd_score_offset_counts_every_filled_niche(kind, tmp_path):
    archive = make_archive(kind, tmp_path, qd_score_offset=-1.0)
    archive.insert([1, 2], ["a", "b"], [-0.5, 2.0], [(0.1, 0.1), (0.9, 0.9)])
    assert archive.stats().qd_score == pytest.approx((-0.5 + 1.0) + (2.0 + 1.0))


def fill(archive):
    rng = np.random.default_rng(5)
    descriptors = rng.uniform(0, 1, (12, 2)).tolist()
    archive.insert(list(range(12)), [f"p{i}" for i in range(12)], rng.normal(size=12).tolist(), descriptors)


def test_selection_returns_only_current_elites(kind, tmp_path):
    archive = make_archive(kind, tmp_path)
    fill(archive)
    elites = {e.niche: e for e in archive.elites()}
    chosen = archive.select(200, np.random.default_rng(1))
    assert len(chosen) == 200
    assert all(elites[e.niche] == e for e in chosen)
    assert {e.niche for e in chosen} == set(elites)  # 200 uniform draws reach every occupied niche


def test_selection_is_reproducible_with_the_same_seed(kind, tmp_path):
    archive = make_archive(kind, tmp_path)
    fill(archive)
    first = archive.select(30, np.random.default_rng(42))
    assert first == archive.select(30, np.random.default_rng(42))
    assert first != archive.select(30, np.random.default_rng(43))


def test_selection_is_roughly_uniform_over_niches(kind, tmp_path):
    archive = make_archive(kind, tmp_path)
    archive.insert([1, 2], ["a", "b"], [100.0, -100.0], [(0.1, 0.1), (0.9, 0.9)])
    picks = [e.candidate_id for e in archive.select(4000, np.random.default_rng(0))]
    assert 1800 < picks.count(1) < 2200  # fitness plays no part


def test_select_rejects_negative_counts(kind, tmp_path):
    with pytest.raises(ValueError, match="negative"):
        make_archive(kind, tmp_path).select(-1, np.random.default_rng(0))
