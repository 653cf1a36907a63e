"""Every seed runs in the sandbox, is valid and moves on flat ground."""

from __future__ import annotations

import pytest

from elm_seeds import list_seeds, read_seed
from elmcore.types import Outcome
from elm_sodarace.config import SodaraceConfig
from elm_sodarace.domain import SodaraceDomain
from elm_sodarace.seed_loading import SeedError, load_seed, seed_names

from sodarace_helpers import evaluate

PAPER_SEEDS = ["square", "radial", "cppn-fixed", "cppn-mutable"]
EXTRA_SEEDS = ["wheel", "galloper", "runner"]


def test_the_seven_seeds_exist():
    assert sorted(seed_names()) == sorted(PAPER_SEEDS + EXTRA_SEEDS)


@pytest.mark.parametrize("name", list_seeds("sodarace"))
def test_seed_is_valid_and_moves_on_flat_ground(name):
    evaluation = evaluate(read_seed("sodarace", name), "flat", duration_s=3.0)
    assert evaluation.outcome is Outcome.VALID, evaluation.reason
    assert evaluation.fitness > 1.0  # program units in 3 simulated seconds
    assert len(evaluation.descriptors) == 3


@pytest.mark.parametrize("spelling", ["cppn-fixed", "cppn_fixed"])
def test_seed_names_take_dash_or_underscore(spelling):
    domain = SodaraceDomain(SodaraceConfig(seed_program=spelling))
    assert domain.seed_programs() == [read_seed("sodarace", "cppn_fixed")]


def test_seed_program_may_be_a_path(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(read_seed("sodarace", "radial"))
    assert SodaraceDomain(SodaraceConfig(seed_program=str(path))).seed_programs() == [path.read_text()]


@pytest.mark.parametrize("seed_program, message", [
    ("cppn", "no such Sodarace seed; use one of: cppn-fixed"),
    ("missing/walker.py", "file not found"),
])
def test_bad_seed_program_is_a_clear_error(seed_program, message):
    with pytest.raises(SeedError, match=message):
        load_seed(seed_program)


def test_seed_file_without_make_walker_is_rejected(tmp_path):
    path = tmp_path / "other.py"
    path.write_text("def make_robot():\n    pass\n")
    with pytest.raises(SeedError, match="defines no function make_walker"):
        load_seed(str(path))


@pytest.mark.parametrize("terrain", ["flat", "left-wall", "right-wall", "bumpy", "tunnel"])
def test_every_seed_completes_the_default_walk_on_every_terrain(terrain):
    for name in list_seeds("sodarace"):
        evaluation = evaluate(read_seed("sodarace", name), terrain, duration_s=10.0)
        assert evaluation.outcome is Outcome.VALID, (name, evaluation.reason)
