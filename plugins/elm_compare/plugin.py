"""Registers ``elm compare`` and its one-operator short form ``elm solve-rate`` with elm."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from elmcore import hookimpl


@hookimpl
def elm_register_commands(register: Callable[..., Any]) -> None:
    from elm_compare.command import compare_command, solve_rate_command

    register("compare", compare_command,
             help="Compare mutation operators: success rate of single mutations per number of bugs (Figures 1-2).")
    register("solve-rate", solve_rate_command,
             help="Success rate of single mutations of a domain's seed, for one operator (short form of compare).")
