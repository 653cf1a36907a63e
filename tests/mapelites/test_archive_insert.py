"""Batch insert semantics shared by both archives: statuses against the pre-batch archive,
the best candidate per niche wins, ties go to the earlier candidate or the current elite."""

from __future__ import annotations

import numpy as np
import pytest

from archive_cases import make_archive
from elmcore.types import InsertStatus

NEW, IMPROVED, NOT_ADDED = InsertStatus.NEW, InsertStatus.IMPROVED, InsertStatus.NOT_ADDED


@pytest.fixture(params=["grid", "cvt"])
def archive(request, tmp_path):
    return make_archive(request.param, tmp_path)


def test_new_niche_is_added(archive):
    (result,) = archive.insert([1], ["p1"], [0.5], [(0.1, 0.1)])
    assert result.status is NEW and result.added
    assert result.niche == archive.niche_of((0.1, 0.1))
    (elite,) = archive.elites()
    assert (elite.candidate_id, elite.program, elite.fitness, elite.descriptors) == (1, "p1", 0.5, (0.1, 0.1))


def test_improved_and_not_added_against_current_elite(archive):
    archive.insert([1], ["p1"], [0.5], [(0.1, 0.1)])
    worse, better = archive.insert([2, 3], ["p2", "p3"], [0.4, 0.9], [(0.1, 0.1), (0.1, 0.1)])
    assert (worse.status, worse.added) == (NOT_ADDED, False)
    assert (better.status, better.added) == (IMPROVED, True)
    assert archive.elite_at(better.niche).candidate_id == 3


def test_statuses_are_judged_against_the_archive_before_the_batch(archive):
    # Two candidates for an empty niche: both are NEW, only the fitter one is stored.
    first, second = archive.insert([1, 2], ["a", "b"], [0.2, 0.7], [(0.1, 0.1), (0.1, 0.1)])
    assert first.status is NEW and second.status is NEW
    assert (first.added, second.added) == (False, True)
    # Against an elite of 0.7: 0.8 and 0.9 both improve on it, only 0.9 is stored.
    a, b, c = archive.insert([3, 4, 5], ["c", "d", "e"], [0.8, 0.9, 0.75], [(0.1, 0.1)] * 3)
    assert [a.status, b.status, c.status] == [IMPROVED, IMPROVED, IMPROVED]
    assert [a.added, b.added, c.added] == [False, True, False]
    assert archive.elite_at(b.niche).fitness == 0.9
    assert archive.stats().filled == 1


def test_within_batch_tie_goes_to_the_earlier_candidate(archive):
    results = archive.insert([10, 11, 12], ["a", "b", "c"], [0.5, 0.5, 0.5], [(0.1, 0.1)] * 3)
    assert [r.added for r in results] == [True, False, False]
    assert all(r.status is NEW for r in results)
    assert archive.elite_at(results[0].niche).candidate_id == 10


def test_many_ties_in_many_niches_go_to_the_first_candidate_of_each_niche(archive):
    rng = np.random.default_rng(9)
    descriptors = rng.uniform(0, 1, (400, 2))
    fitness = np.where(rng.random(400) < 0.5, 1.0, 0.0)  # half of each niche ties at the top
    results = archive.insert(list(range(400)), ["p"] * 400, fitness.tolist(), descriptors.tolist())
    niches = np.array([r.niche for r in results])
    expected = set()
    for niche in np.unique(niches):
        members = np.flatnonzero(niches == niche)
        expected.add(int(members[np.argmax(fitness[members])]))  # argmax returns the first maximum
    assert {i for i, r in enumerate(results) if r.added} == expected


def test_equal_fitness_does_not_replace_the_elite(archive):
    archive.insert([1], ["old"], [0.5], [(0.1, 0.1)])
    (result,) = archive.insert([2], ["same"], [0.5], [(0.12, 0.12)])
    assert (result.status, result.added) == (NOT_ADDED, False)
    assert archive.elite_at(result.niche).program == "old"


def test_one_result_per_candidate_in_order_across_niches(archive):
    descriptors = [(0.1, 0.1), (0.9, 0.9), (0.1, 0.1), (0.9, 0.9)]
    results = archive.insert([1, 2, 3, 4], list("abcd"), [1.0, 1.0, 2.0, 0.5], descriptors)
    assert [r.niche for r in results] == [archive.niche_of(d) for d in descriptors]
    assert [r.added for r in results] == [False, True, True, False]
    assert sorted(e.candidate_id for e in archive.elites()) == [2, 3]


def test_empty_batch_changes_nothing(archive):
    assert archive.insert([], [], [], []) == []
    assert archive.stats().filled == 0


def test_insert_accepts_numpy_arrays(archive):
    results = archive.insert(np.array([1, 2]), ["a", "b"], np.array([0.1, 0.2]), np.array([[0.1, 0.1], [0.8, 0.8]]))
    assert all(r.added for r in results)


def test_nan_descriptor_is_rejected_and_the_batch_is_not_applied(archive):
    with pytest.raises(ValueError, match=r"descriptor 'y' of candidate id 8 is NaN"):
        archive.insert([7, 8], ["a", "b"], [0.1, 0.2], [(0.1, 0.1), (0.5, float("nan"))])
    assert archive.stats().filled == 0
    with pytest.raises(ValueError, match="NaN"):
        archive.niche_of((float("nan"), 0.0))


@pytest.mark.parametrize("fitness", [float("nan"), float("inf")])
def test_non_finite_fitness_is_rejected(archive, fitness):
    with pytest.raises(ValueError, match="fitness of candidate id 4"):
        archive.insert([4], ["a"], [fitness], [(0.1, 0.1)])


def test_mismatched_lengths_and_shapes_are_rejected(archive):
    with pytest.raises(ValueError, match="as many programs"):
        archive.insert([1, 2], ["a"], [0.1, 0.2], [(0.1, 0.1), (0.2, 0.2)])
    with pytest.raises(ValueError, match="2 values per candidate"):
        archive.insert([1], ["a"], [0.1], [(0.1, 0.1, 0.1)])
    with pytest.raises(ValueError, match="ids must be integers"):
        archive.insert([None], ["a"], [0.1], [(0.1, 0.1)])
    with pytest.raises(ValueError, match="must be source text"):
        archive.insert([1], [None], [0.1], [(0.1, 0.1)])
    assert archive.stats().filled == 0


def test_rebuilding_from_the_same_batches_gives_the_same_archive(archive, tmp_path):
    rng = np.random.default_rng(3)
    batches = []
    for b in range(20):
        ids = list(range(b * 50, b * 50 + 50))
        fitness = np.round(rng.normal(size=50), 1).tolist()  # rounding makes ties common
        batches.append((ids, [f"p{i}" for i in ids], fitness, rng.uniform(-0.2, 1.2, (50, 2)).tolist()))
    kind = "grid" if type(archive).__name__ == "MapElites" else "cvt"
    rebuilt = make_archive(kind, tmp_path)
    first = [archive.insert(*batch) for batch in batches]
    second = [rebuilt.insert(*batch) for batch in batches]
    assert first == second
    assert archive.elites() == rebuilt.elites()
    assert archive.stats() == rebuilt.stats()
