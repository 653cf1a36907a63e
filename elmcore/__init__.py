"""elm core: interfaces, plugin manager, engine, run store, sandbox and CLI."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from elmcore.hookspecs import hookimpl
    from elmcore.interfaces import ConditionalLearner, Domain, Mutator, PluginConfig, QDAlgorithm
    from elmcore.types import (ArchiveStats, Child, Dimension, Elite, Evaluation, InsertResult, InsertStatus,
                               MutationContext, Outcome, Parent, SandboxSpec)

# imported on first use, so that a process needing only the sandbox modules (the forker,
# which every sandbox child is forked from) stays small: no numpy, pydantic or pluggy
_EXPORTED_FROM = {
    "hookimpl": "elmcore.hookspecs",
    **dict.fromkeys(["ConditionalLearner", "Domain", "Mutator", "PluginConfig", "QDAlgorithm"], "elmcore.interfaces"),
    **dict.fromkeys(["ArchiveStats", "Child", "Dimension", "Elite", "Evaluation", "InsertResult", "InsertStatus",
                     "MutationContext", "Outcome", "Parent", "SandboxSpec"], "elmcore.types"),
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTED_FROM:
        raise AttributeError(f"module 'elmcore' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTED_FROM[name]), name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "ArchiveStats", "Child", "ConditionalLearner", "Dimension", "Domain", "Elite", "Evaluation",
    "InsertResult", "InsertStatus", "MutationContext", "Mutator", "Outcome", "Parent", "PluginConfig",
    "QDAlgorithm", "SandboxSpec", "hookimpl",
]
