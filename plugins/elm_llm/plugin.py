"""elm plugin entry point: registers the LLM mutators diff, prompt and edit."""

from __future__ import annotations

from collections.abc import Callable

from elmcore import hookimpl
from elm_llm.mutators import DiffMutator, EditMutator, PromptMutator


@hookimpl
def elm_register_mutators(register: Callable[[type], None]) -> None:
    register(DiffMutator)
    register(PromptMutator)
    register(EditMutator)
