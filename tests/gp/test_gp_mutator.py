"""The "gp" Mutator component: Child records, failures as outcomes, config validation, plugin."""

from __future__ import annotations

import ast

import numpy as np
import pytest
from pydantic import ValidationError

from elm_gp.mutator import GPConfig, GPMutator
from elm_parity.domain import ParityDomain
from elm_seeds import read_seed
from elmcore import Outcome, Parent
from elmcore.plugins import get_plugin_manager

SEED = read_seed("parity", "parity_bugs_1")


def make_mutator(**options: object) -> GPMutator:
    return GPMutator(GPConfig(**options), context=ParityDomain().mutation_context())


def test_one_child_per_parent_with_message_diff_and_edits() -> None:
    parents = [Parent(id=i, program=SEED) for i in range(20)]
    children = make_mutator().mutate(parents, np.random.default_rng(0))
    assert [c.parent_id for c in children] == list(range(20))
    for child in children:
        assert child.operator == "gp" and child.outcome is None and child.reason is None
        ast.parse(child.program)
        assert child.message == "; ".join(child.meta["edits"]) and child.meta["edits"]
        assert child.diff.startswith("--- a/parity.py\n+++ b/parity.py\n@@ ")
        body = child.diff.splitlines()[3:]
        assert any(line.startswith(("-", "+")) for line in body)


def test_same_rng_seed_same_children() -> None:
    parents = [Parent(id=None, program=SEED)] * 30
    first = make_mutator().mutate(parents, np.random.default_rng(3))
    again = make_mutator().mutate(parents, np.random.default_rng(3))
    assert [c.program for c in first] == [c.program for c in again]
    assert [c.message for c in first] == [c.message for c in again]


def test_failures_are_children_without_a_program() -> None:
    parents = [Parent(1, "def parity(:\n"), Parent(2, ""), Parent(3, SEED)]
    broken, empty, fine = make_mutator().mutate(parents, np.random.default_rng(0))
    assert broken.program is None and broken.outcome is Outcome.EDIT_FAILED
    assert broken.reason.startswith("parent does not parse") and broken.operator == "gp"
    assert empty.program is None and empty.outcome is Outcome.NO_EDIT
    assert fine.program is not None


@pytest.mark.parametrize("options, message", [
    ({"rate": 0}, "rate must be in"),
    ({"rate": 1.5}, "rate must be in"),
    ({"rate": -0.1}, "rate must be in"),
    ({"builtin_rate": 2}, "builtin_rate must be in"),
    ({"kinds": []}, "non-empty list"),
    ({"kinds": ["name", "swap"]}, "non-empty list"),
    ({"int_step": 0}, "at least 1"),
    ({"float_sigma": 0}, "float_sigma must be positive"),
    ({"rte": 0.1}, "Extra inputs"),
])
def test_config_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GPConfig(**options)


def test_defaults_and_rate_one() -> None:
    config = GPConfig(rate=1)
    assert config.rate == 1.0 and GPConfig().rate == 0.1
    assert GPConfig().settings().kinds == ("name", "constant", "operator", "comparison", "statement")


def test_plugin_registers_the_mutator_and_the_command() -> None:
    pm = get_plugin_manager()
    assert pm.get("mutator", "gp") is GPMutator
    assert "solve-rate" in pm.names("command")
