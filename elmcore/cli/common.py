"""What every ``elm`` command shares: the typer app, the user errors that become one line,
failing with a message, and formatting helpers."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel

from elmcore.config import ConfigError
from elmcore.engine import RunError
from elmcore.plugins import PluginError
from elmcore.ray_pool import RayUnavailable
from elmcore.store import StoreError
from elmcore.workers import TooManyWorkers, WorkerCrashed, workers_problem

app = typer.Typer(name="elm", help="Evolution through Large Models: evolve Python programs with LLM mutation "
                  "operators and quality-diversity search.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)

USER_ERRORS = (ConfigError, PluginError, RunError, StoreError, WorkerCrashed, TooManyWorkers, RayUnavailable)


def _default(section: type[BaseModel], key: str) -> str:
    """' (default: V)' for a help text, from the config model that holds the default."""
    value = section.model_fields[key].default
    return f" (default: {value:,})" if isinstance(value, int) else f" (default: {value})"


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"elm {version('elm-evolution')}")
        except PackageNotFoundError:
            typer.echo("elm (not installed: run it from an installed copy to see its version)")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="print elm's version and exit")] = False) -> None:
    """Evolution through Large Models: evolve Python programs with LLM mutation operators and
    quality-diversity search."""


def _fail(message: str) -> NoReturn:
    typer.echo(f"elm: error: {message}", err=True)
    raise typer.Exit(2)


def _check_workers(workers: int, executor: Any, option: str) -> None:
    """Local workers are processes on this machine: refuse absurd numbers before anything starts."""
    problem = workers_problem(workers, option) if executor == "local" else None
    if problem:
        _fail(problem)


def _readable(value: Any) -> str:
    """Thousands separators for counts, four significant digits for the rest, '-' for none."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1000:
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
