"""Registers the GP operators with elm: ``gp`` (AST point mutation), ``gp-tree`` (tree GP) and
``crossover`` (two parents, one child)."""

from __future__ import annotations

from collections.abc import Callable

from elmcore import hookimpl
from elm_gp.crossover import CrossoverMutator
from elm_gp.mutator import GPMutator
from elm_gp.tree_gp import TreeGPMutator


@hookimpl
def elm_register_mutators(register: Callable[[type], None]) -> None:
    register(GPMutator)
    register(TreeGPMutator)
    register(CrossoverMutator)
