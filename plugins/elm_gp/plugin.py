"""Registers the AST genetic-programming mutator and the ``elm solve-rate`` command with elm."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from elmcore import hookimpl
from elm_gp.mutator import GPMutator


@hookimpl
def elm_register_mutators(register: Callable[[type], None]) -> None:
    register(GPMutator)


@hookimpl
def elm_register_commands(register: Callable[..., Any]) -> None:
    from elm_gp.solve_rate import solve_rate_command

    register("solve-rate", solve_rate_command,
             help="Success rate of single mutations of a domain's seed (the paper's 4-Parity metric).")
