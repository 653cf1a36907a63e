"""Registers the AST genetic-programming mutator with elm."""

from __future__ import annotations

from collections.abc import Callable

from elmcore import hookimpl
from elm_gp.mutator import GPMutator


@hookimpl
def elm_register_mutators(register: Callable[[type], None]) -> None:
    register(GPMutator)
