"""Registers the GP mutators with elm: ``gp`` (AST point mutation) and ``gp-tree`` (tree GP)."""

from __future__ import annotations

from collections.abc import Callable

from elmcore import hookimpl
from elm_gp.mutator import GPMutator
from elm_gp.tree_gp import TreeGPMutator


@hookimpl
def elm_register_mutators(register: Callable[[type], None]) -> None:
    register(GPMutator)
    register(TreeGPMutator)
