"""The hooks an elm plugin can implement.

Each registration hook is handed a ``register`` callback; the plugin calls it once per thing
it adds. The plugin manager records which plugin registered what and rejects duplicate names.
``elm_batch_committed`` is a lifecycle hook: it is told of each committed batch.
A plugin is a module (or object) named by an entry point in the group ``elm``::

    [project.entry-points.elm]
    my_plugin = "my_package.plugin"

and implements any of these hooks with ``@elmcore.hookimpl``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

PROJECT = "elm"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def elm_register_domains(register: Callable[[type], None]) -> None:
    """Register ``elmcore.Domain`` subclasses: ``register(MyDomain)``.

    The class's ``name`` is what ``--domain`` takes; its ``Config`` model is the
    ``domain`` section of the run config.
    """


@hookspec
def elm_register_mutators(register: Callable[[type], None]) -> None:
    """Register ``elmcore.Mutator`` subclasses: ``register(MyMutator)``; ``--mutator`` takes its name."""


@hookspec
def elm_register_qd_algorithms(register: Callable[[type], None]) -> None:
    """Register ``elmcore.QDAlgorithm`` subclasses: ``register(MyArchive)``; ``--qd`` takes its name."""


@hookspec
def elm_register_learners(register: Callable[[type], None]) -> None:
    """Register ``elmcore.ConditionalLearner`` subclasses: ``register(MyLearner)``."""


@hookspec
def elm_register_commands(register: Callable[..., None]) -> None:
    """Add CLI commands: ``register(name, function, help=...)``.

    ``function`` is a plain function whose parameters typer turns into options; it
    appears as ``elm NAME``. A ``typer.Typer`` instead of a function is a command group:
    its commands appear as ``elm NAME SUBCOMMAND``.
    """


@hookspec
def elm_batch_committed(run_dir: str, batch: int, stats: Any, records: list[Any]) -> None:
    """Called after each batch of ``elm run`` (or iteration of ``elm learn``) is committed to
    the run's store: ``stats`` the batch's ``elmcore.types.BatchStats`` (a learning iteration:
    the learner's statistics dict, as stored), ``records`` its ``CandidateRecord``s.
    For following a run live (a logger, a dashboard). It runs in the engine's process between
    batches, so keep it quick; an exception is reported once on stderr and that plugin's hook
    is not called again in the run. It must not change the run."""


KINDS: dict[str, str] = {
    "domain": "elm_register_domains",
    "mutator": "elm_register_mutators",
    "qd": "elm_register_qd_algorithms",
    "learner": "elm_register_learners",
    "command": "elm_register_commands",
}
"""Kind of registered thing -> the hook that registers it."""

LIFECYCLE: tuple[str, ...] = ("elm_batch_committed",)
"""Hooks that are told of what happens in a run (``PluginManager.batch_committed``)."""

