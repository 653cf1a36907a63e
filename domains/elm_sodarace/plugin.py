"""Registers the Sodarace domain and the ``elm render`` command with elm."""

from __future__ import annotations

from collections.abc import Callable

from elmcore import hookimpl
from elm_sodarace.domain import SodaraceDomain


@hookimpl
def elm_register_domains(register: Callable[[type], None]) -> None:
    register(SodaraceDomain)


@hookimpl
def elm_register_commands(register: Callable[..., None]) -> None:
    from elm_sodarace.render_command import render_command

    register("render", render_command, help="Animate a Sodarace walker (a program or a run's elite) to a GIF or PNG.")
