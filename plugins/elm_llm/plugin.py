"""elm plugin entry point: registers the LLM mutators diff, prompt, edit and sample."""

from __future__ import annotations

from collections.abc import Callable

from elmcore import hookimpl
from elm_llm.mutators import CrossoverLLMMutator, DiffMutator, EditMutator, PromptMutator, SampleMutator


@hookimpl
def elm_register_mutators(register: Callable[[type], None]) -> None:
    register(DiffMutator)
    register(PromptMutator)
    register(EditMutator)
    register(SampleMutator)
    register(CrossoverLLMMutator)
