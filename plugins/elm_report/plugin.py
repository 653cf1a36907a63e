"""Registers ``elm report`` with elm."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from elmcore import hookimpl


@hookimpl
def elm_register_commands(register: Callable[..., Any]) -> None:
    from elm_report.command import report_command

    register("report", report_command,
             help="One self-contained HTML page of runs (and elm compare results): progress, outcomes, archive, "
                  "elites, lineage.")
