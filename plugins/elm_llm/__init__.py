"""elm plugin: LLM mutation operators (diff, prompt, edit) over transformers or an
OpenAI-compatible server."""

from elm_llm.backend import Backend, Completion, LLMError, SamplingParams
from elm_llm.mutators import DiffMutator, EditMutator, LLMMutator, PromptMutator

__all__ = ["Backend", "Completion", "DiffMutator", "EditMutator", "LLMError", "LLMMutator", "PromptMutator",
           "SamplingParams"]
