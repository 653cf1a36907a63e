"""elm core: interfaces, plugin manager, engine, run store, sandbox and CLI."""

from elmcore.hookspecs import hookimpl
from elmcore.interfaces import ConditionalLearner, Domain, Mutator, PluginConfig, QDAlgorithm
from elmcore.types import (
    ArchiveStats,
    Child,
    Dimension,
    Elite,
    Evaluation,
    InsertResult,
    InsertStatus,
    MutationContext,
    Outcome,
    Parent,
    SandboxSpec,
)

__version__ = "0.1.0"

__all__ = [
    "ArchiveStats", "Child", "ConditionalLearner", "Dimension", "Domain", "Elite", "Evaluation",
    "InsertResult", "InsertStatus", "MutationContext", "Mutator", "Outcome", "Parent", "PluginConfig",
    "QDAlgorithm", "SandboxSpec", "hookimpl",
]
