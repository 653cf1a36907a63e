"""The one interface every language-model backend offers: batched sampling of completions.

A backend never raises for one failed request: the ``Completion`` carries ``error`` and
the mutator turns it into a NO_EDIT child. It raises ``LLMError`` (one line) only for
problems that stop every request, such as a model that cannot be loaded.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ChatMessages = list[dict[str, str]]
"""One conversation: ``[{"role": "system" | "user" | "assistant", "content": "..."}]``."""


class LLMError(ValueError):
    """A model or server problem a user must fix (wrong path, no chat template, missing key).
    A ValueError, so elm reports it as one line when a run is being set up."""


@dataclass(frozen=True)
class SamplingParams:
    """How to sample: ``temperature`` 0 means greedy decoding; ``n`` samples per prompt.

    ``copy_from`` (one program per prompt, or None) asks for guided diffs: the lines a diff
    keeps or removes are copied from that program (``guided.py``). The transformers backend
    does it with elm's GPT-2 loop; other backends and models sample unguided."""

    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 256
    n: int = 1
    stop: tuple[str, ...] = ()
    copy_from: tuple[str, ...] | None = None


@dataclass
class Completion:
    """One sampled continuation of one prompt.

    ``text`` is cut at the first stop string (the stop string itself is dropped).
    ``error`` is set, and ``text`` empty, when the request finally failed.
    """

    prompt_index: int
    text: str = ""
    tokens: int = 0  # generated tokens, when the backend knows them
    finish_reason: str | None = None
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Text before the earliest stop string, and whether one was found."""
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if 0 <= i < cut:
                cut = i
    return text[:cut], cut < len(text)


class Backend(ABC):
    """Samples completions for prompts (and, where supported, chat conversations).

    Results come back prompt-major: ``n`` completions for prompt 0, then prompt 1, ...
    ``seed`` makes sampling repeatable where the backend allows it.
    """

    supports_chat: bool = False
    start_text: str = ""
    """The text a training document starts with, put before a prompt that starts a program
    from nothing (an elm-trained model: its end-of-text token; a server: nothing, it adds
    its own start)."""

    @abstractmethod
    def generate(self, prompts: Sequence[str], params: SamplingParams, seed: int | None = None) -> list[Completion]:
        """Continue each plain-text prompt."""

    def chat(self, conversations: Sequence[ChatMessages], params: SamplingParams,
             seed: int | None = None) -> list[Completion]:
        """Answer each conversation with the assistant's next message."""
        raise LLMError(f"{type(self).__name__} cannot chat; use a backend with a chat model")

    def describe(self) -> str:
        """Short description for logs and the run store."""
        return type(self).__name__

    def close(self) -> None:
        """Free the model or connections."""
