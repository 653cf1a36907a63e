"""Entry point of the example plugin (group ``elm``, name ``curve``): what it adds to elm."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from elmcore import hookimpl
from elm_example_plugin.domain import CurveDomain
from elm_example_plugin.mutator import NudgeMutator


@hookimpl
def elm_register_domains(register: Callable[[type], None]) -> None:
    register(CurveDomain)


@hookimpl
def elm_register_mutators(register: Callable[[type], None]) -> None:
    register(NudgeMutator)


@hookimpl
def elm_register_commands(register: Callable[..., Any]) -> None:
    from elm_example_plugin.targets_command import curve_targets

    register("curve-targets", curve_targets, help="List the target curves of the curve domain.")
