"""Registers the 4-Parity and Quadratic domains with elm."""

from __future__ import annotations

from collections.abc import Callable

from elmcore import hookimpl
from elm_parity.domain import ParityDomain, QuadraticDomain


@hookimpl
def elm_register_domains(register: Callable[[type], None]) -> None:
    register(ParityDomain)
    register(QuadraticDomain)
