"""The ``elm`` command: run, learn, resume, status, plugins; plugins add their own commands
and options. One module per job: ``common`` (the app, errors), ``progress`` (live lines and
summaries), ``runs`` (run, learn, resume), ``show`` (status, plugins), ``options`` (what
plugins add to the command line)."""

from __future__ import annotations

import sqlite3
import sys

import typer

from elmcore.cli import show  # noqa: F401  (registers status and plugins)
from elmcore.cli.common import USER_ERRORS, app
from elmcore.cli.options import _PLUGIN_OPTIONS, _add_plugin_commands, _install_builtin, _own_flags
from elmcore.cli.progress import drive, drive_learning
from elmcore.cli.runs import learn, resume, run

__all__ = ["app", "drive", "drive_learning", "main"]

_install_builtin("run", run, [])
_install_builtin("learn", learn, [])


# typer's command-line errors (its own copy of click's), found without importing a private module
_ClickException: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _run_only_flags() -> set[str]:
    """Options of `elm run` (plugins' too) that `elm resume` does not take."""
    flags = _own_flags(run) | {o.flag for o in _PLUGIN_OPTIONS["run"]}
    return flags - _own_flags(resume)


def _usage_error(exc: Exception) -> str:
    """One line for a command-line mistake, with what to do."""
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path.replace(ctx.find_root().info_name or "", "elm", 1) if ctx is not None else "elm"
    option = getattr(exc, "option_name", None)
    if command == "elm resume" and option in _run_only_flags():
        return (f"`elm resume` takes no {option}: a run continues with the config it was started with (only "
                "--evals and --workers may change); to change it, start a new run with `elm run ... --out NEW_DIR`")
    message = exc.format_message().replace("\n", " ")  # type: ignore[attr-defined]
    return f"{message} (see `{command} --help`)"


def main() -> None:
    """Entry point of the ``elm`` console script."""
    _add_plugin_commands()
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except _ClickException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `elm` or `elm COMMAND`: show the help
            typer.echo(exc.ctx.get_help())  # type: ignore[attr-defined]
            sys.exit(0)
        typer.echo(f"elm: error: {_usage_error(exc)}", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("elm: error: aborted", err=True)
        sys.exit(1)
    except USER_ERRORS as exc:
        typer.echo(f"elm: error: {exc}", err=True)
        sys.exit(2)
    except sqlite3.Error as exc:  # a store that went bad under a command (disk, permissions, another writer)
        typer.echo(f"elm: error: the run store cannot be read or written: {exc}. Check the run directory "
                   "(free space, permissions, a read-only file system).", err=True)
        sys.exit(2)
