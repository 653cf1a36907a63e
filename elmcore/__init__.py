"""elm core: interfaces, plugin manager, engine, run store, sandbox and CLI.

The names this package exports (``__all__``) are the API for plugins: what a domain, a
mutator, a QD algorithm, a learner or a command may use, listed with what each is for in
docs/plugins.md ("The API for plugins"). Every other module and name under ``elmcore`` is
internal and may change; plugins, first-party ones included, import from ``elmcore`` only.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from elmcore.aims import NoWords, check_words, describe_move
    from elmcore.children import edited_child, failed_child, unified_diff
    from elmcore.cli import drive
    from elmcore.config import (ConfigError, RunConfig, build_config, component_options, mutator_of, operator_labels,
                                raw_config, resolve)
    from elmcore.engine import Engine, RunError
    from elmcore.hookspecs import hookimpl
    from elmcore.interfaces import ConditionalLearner, Domain, Mutator, PluginConfig, QDAlgorithm
    from elmcore.learning import Learning, is_learning_config
    from elmcore.parsing import parse as parse_source
    from elmcore.plugins import PluginError, PluginManager, UnknownComponent, get_plugin_manager
    from elmcore.sandbox import run_in_sandbox
    from elmcore.store import CandidateRecord, RunStore, StoreError, edited_store_error
    from elmcore.types import (ArchiveStats, BatchStats, Child, Dimension, Elite, Evaluation, InsertResult,
                               InsertStatus, MutationContext, Outcome, Parent, SandboxSpec)
    from elmcore.workers import WorkerCrashed, WorkerPool, evaluate_programs

# imported on first use, so that a process needing only the sandbox modules (the forker,
# which every sandbox child is forked from) stays small: no numpy, pydantic or pluggy
_EXPORTED_FROM: dict[str, str] = {
    **dict.fromkeys(["NoWords", "check_words", "describe_move"], "elmcore.aims"),
    **dict.fromkeys(["edited_child", "failed_child", "unified_diff"], "elmcore.children"),
    "drive": "elmcore.cli",
    **dict.fromkeys(["ConfigError", "RunConfig", "build_config", "component_options", "mutator_of", "operator_labels",
                     "raw_config", "resolve"],
                    "elmcore.config"),
    **dict.fromkeys(["Engine", "RunError"], "elmcore.engine"),
    "hookimpl": "elmcore.hookspecs",
    **dict.fromkeys(["ConditionalLearner", "Domain", "Mutator", "PluginConfig", "QDAlgorithm"], "elmcore.interfaces"),
    **dict.fromkeys(["Learning", "is_learning_config"], "elmcore.learning"),
    "parse_source": "elmcore.parsing:parse",
    **dict.fromkeys(["PluginError", "PluginManager", "UnknownComponent", "get_plugin_manager"], "elmcore.plugins"),
    "run_in_sandbox": "elmcore.sandbox",
    **dict.fromkeys(["CandidateRecord", "RunStore", "StoreError", "edited_store_error"], "elmcore.store"),
    **dict.fromkeys(["ArchiveStats", "BatchStats", "Child", "Dimension", "Elite", "Evaluation", "InsertResult",
                     "InsertStatus", "MutationContext", "Outcome", "Parent", "SandboxSpec"], "elmcore.types"),
    **dict.fromkeys(["WorkerCrashed", "WorkerPool", "evaluate_programs"], "elmcore.workers"),
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTED_FROM:
        raise AttributeError(f"module 'elmcore' has no attribute {name!r}")
    module, _, attribute = _EXPORTED_FROM[name].partition(":")
    value = getattr(importlib.import_module(module), attribute or name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "ArchiveStats", "BatchStats", "CandidateRecord", "Child", "ConditionalLearner", "ConfigError", "Dimension",
    "Domain", "Elite", "Engine", "Evaluation", "InsertResult", "InsertStatus", "Learning", "MutationContext",
    "Mutator", "NoWords", "Outcome", "Parent", "PluginConfig", "PluginError", "PluginManager", "QDAlgorithm",
    "RunConfig", "RunError", "RunStore", "SandboxSpec", "StoreError", "UnknownComponent", "WorkerCrashed",
    "WorkerPool", "build_config", "check_words", "component_options", "describe_move", "drive", "edited_child",
    "edited_store_error", "evaluate_programs", "failed_child", "get_plugin_manager", "hookimpl",
    "is_learning_config", "mutator_of", "operator_labels", "parse_source", "raw_config", "resolve",
    "run_in_sandbox", "unified_diff",
]
