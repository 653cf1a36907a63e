"""The LLM mutation operators: diff, prompt and edit.

Each one turns every parent into one prompt, samples all prompts in one batched backend
call, and turns each completion into a ``Child``. A child without a program carries its
outcome: NO_EDIT (no usable edit: failed request, empty or malformed reply, no change)
or EDIT_FAILED (the edit does not apply, or the result does not parse). Every child keeps
the operator, message, prompt, raw completion, diff against the parent and reason.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from elmcore import Child, MutationContext, Mutator, Outcome, Parent, PluginConfig
from elm_llm.backend import Backend, Completion, LLMError, SamplingParams
from elm_llm.config import DiffConfig, EditConfig, LLMConfig, PromptConfig, SampleConfig, make_backend
from elmcore import unified_diff
from elm_llm.diffs import DiffApplyError, apply_hunks, parse_hunks
from elm_llm.programs import assemble_child, syntax_problem
from elm_llm.prompts import (
    DIFF_STOPS,
    PROMPT_STOPS,
    completion_prompt,
    crossover_messages,
    cut_function,
    diff_prompt,
    edit_instruction,
    edit_messages,
    prompt_prefix,
    prompt_template_for,
    sample_commit_message,
    validate_commit_messages,
)
from elm_llm.replies import (
    EditApplyError,
    ReplyFormatError,
    apply_search_replace,
    extract_code_block,
    has_search_replace,
    parse_search_replace,
)


class EditRejected(Exception):
    """A completion that yields no child; ``outcome`` says which class."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


@dataclass
class Request:
    """What was asked for one parent: the message and the prompt (text or chat)."""

    message: str
    prompt: Any
    shown: str  # the prompt as text, for the run store
    edit_match: str | None = None  # set by apply: "exact" (the edit's old text is in the program) or "lenient"


class LLMMutator(Mutator):
    """Shared machinery: lazy backend, message sampling, batching, classification."""

    Config = LLMConfig
    stops: tuple[str, ...] = ()
    uses_chat = False
    cli_options = ("model", "base_url")

    def __init__(self, config: PluginConfig | None = None, context: MutationContext | None = None) -> None:
        super().__init__(config, context)
        self.config: LLMConfig
        chosen = self.config.commit_messages
        self.commit_messages = tuple(chosen.items()) if chosen else tuple(self.context.commit_messages)
        try:
            validate_commit_messages(self.commit_messages)
        except ValueError as exc:
            raise LLMError(f"mutator {self.name!r}: {exc}") from None
        self._backend: Backend | None = None

    @property
    def backend(self) -> Backend:
        """Built on first use, so constructing a mutator never loads a model."""
        if self._backend is None:
            self._backend = make_backend(self.config)
        return self._backend

    def prepare(self) -> None:
        """Load the model or check the server settings before the run directory is created."""
        _ = self.backend

    def sampling(self, temperature: float | None = None, n: int = 1,
                 copy_from: Sequence[str] | None = None) -> SamplingParams:
        c = self.config
        return SamplingParams(temperature=c.temperature if temperature is None else temperature, top_p=c.top_p,
                              max_new_tokens=c.max_new_tokens, n=n, stop=self.stops,
                              copy_from=tuple(copy_from) if copy_from is not None else None)

    def prompted(self, items: Sequence[Any], children: int) -> list[Any]:
        """The items (parents, pairs) that get a prompt when ``children`` children are asked
        for: every ``samples_per_parent``-th, each then sampled that many times."""
        return list(items[:children])[::self.config.samples_per_parent]

    def sample(self, prompts: Sequence[Any], children: int, rng: np.random.Generator, chat: bool = False,
               copy_from: Sequence[str] | None = None) -> tuple[list[Completion], list[int], dict[str, Any]]:
        """Sample ``samples_per_parent`` completions per prompt, prompt k at temperature
        ``temperatures[k % len]`` (one backend call per temperature, in order of first use), and
        keep the first ``children``. Returns the completions, the prompt each answers, and the
        meta every child records (backend, seed). One seed is drawn from ``rng`` per call.
        ``copy_from`` (one program per prompt) asks for guided diffs (``SamplingParams``)."""
        c = self.config
        n = c.samples_per_parent
        cycle = c.temperatures or [c.temperature]
        temperature_of = [cycle[k % len(cycle)] for k in range(len(prompts))]
        seed = int(rng.integers(0, 2**31 - 1))
        backend = self.backend
        call = backend.chat if chat else backend.generate
        answers: list[list[Completion]] = [[] for _ in prompts]
        for g, temperature in enumerate(dict.fromkeys(temperature_of)):
            mine = [k for k, t in enumerate(temperature_of) if t == temperature]
            params = self.sampling(temperature, n, None if copy_from is None else [copy_from[k] for k in mine])
            got = call([prompts[k] for k in mine], params, (seed + g) % (2**31 - 1))
            for j, k in enumerate(mine):
                answers[k] = got[j * n:(j + 1) * n]
        completions, sources = [], []
        for k, found in enumerate(answers):
            for completion in found:
                completions.append(completion)
                sources.append(k)
        completions, sources = completions[:children], sources[:children]
        meta: dict[str, Any] = {"backend": backend.describe(), "seed": seed}
        if c.temperatures:
            meta["temperatures"] = [temperature_of[k] for k in sources]
        return completions, sources, meta

    def mutate(self, parents: Sequence[Parent], rng: np.random.Generator) -> list[Child]:
        if not parents:
            return []
        chosen = self.prompted(parents, len(parents))
        requests = [self.build_request(p, sample_commit_message(self.commit_messages, rng)) for p in chosen]
        completions, sources, meta = self.sample([r.prompt for r in requests], len(parents), rng, self.uses_chat,
                                                 self.copy_sources(chosen))
        return [self._child(chosen[k], requests[k], c, self._meta(meta, i))
                for i, (k, c) in enumerate(zip(sources, completions))]

    @staticmethod
    def _meta(meta: dict[str, Any], i: int) -> dict[str, Any]:
        """The meta of child ``i``: the call's, with its own temperature where they vary."""
        own = {k: v for k, v in meta.items() if k != "temperatures"}
        if "temperatures" in meta:
            own["temperature"] = meta["temperatures"][i]
        return own

    def _child(self, parent: Parent, request: Request, completion: Completion, meta: dict[str, Any]) -> Child:
        child = Child(program=None, parent_id=parent.id, operator=self.name, message=request.message,
                      prompt=request.shown, completion=completion.text,
                      meta={**meta, "tokens": completion.tokens, "finish_reason": completion.finish_reason})
        if parent.aim is not None:  # a directed child: where it was asked to go, to measure whether it went
            child.meta["aim"] = {"target": list(parent.aim.target), "start": list(parent.aim.start)}
        try:
            if not completion.ok:
                raise EditRejected(Outcome.NO_EDIT, f"request failed: {completion.error}")
            if not completion.text.strip():
                raise EditRejected(Outcome.NO_EDIT, "empty completion")
            program = self.apply(parent.program, completion.text, request)
            problem = syntax_problem(program)
            if problem is not None:
                child.diff = unified_diff(parent.program, program, self.context.file_name)
                raise EditRejected(Outcome.EDIT_FAILED, f"child does not parse: {problem}")
            if program == parent.program:
                # the parent's own program, which the run has evaluated: the engine stores the child
                # as a duplicate of its parent (no evaluation spent) and asks for another
                child.program, child.meta["unchanged"] = program, True
                return child
            if request.edit_match is not None:
                child.meta["edit_match"] = request.edit_match
        except EditRejected as rejected:
            child.outcome, child.reason = rejected.outcome, rejected.reason
            return child
        child.program = program
        child.diff = unified_diff(parent.program, program, self.context.file_name)
        return child

    def copy_sources(self, parents: Sequence[Parent]) -> list[str] | None:
        """The programs guided decoding copies lines from, one per prompt (None: unguided)."""
        return None

    # -- what each operator defines --------------------------------------------------
    @abstractmethod
    def build_request(self, parent: Parent, message: str) -> Request:
        """The prompt for one parent and its sampled commit message."""

    @abstractmethod
    def apply(self, program: str, completion: str, request: Request) -> str:
        """The child program made from a completion, or raise EditRejected."""

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None


class DiffMutator(LLMMutator):
    """A diff model (CarperAI diff-codegen) writes a unified diff for a commit message."""

    name = "diff"
    description = "LLM diff model: <NME>/<BEF>/<MSG>/<DFF> prompt, unified-diff hunks applied leniently"
    Config = DiffConfig
    stops = DIFF_STOPS

    @property
    def directed(self) -> bool:  # type: ignore[override]
        return bool(self.config.direct)  # type: ignore[attr-defined]

    def copy_sources(self, parents: Sequence[Parent]) -> list[str] | None:
        return [p.program for p in parents] if self.config.guided else None  # type: ignore[attr-defined]

    def build_request(self, parent: Parent, message: str) -> Request:
        if parent.aim is not None:  # the move asked for is the commit message
            message = parent.aim.message
        prompt = diff_prompt(self.context.file_name, parent.program, message)
        return Request(message=message, prompt=prompt, shown=prompt)

    def apply(self, program: str, completion: str, request: Request) -> str:
        hunks = parse_hunks(completion)
        if not hunks:
            raise EditRejected(Outcome.NO_EDIT, "the completion contains no diff hunk")
        try:
            edited = apply_hunks(program, hunks, strict=True)
            request.edit_match = "exact"
            return edited
        except DiffApplyError:
            pass
        try:
            edited = apply_hunks(program, hunks)
        except DiffApplyError as exc:
            raise EditRejected(Outcome.EDIT_FAILED, str(exc)) from None
        request.edit_match = "lenient"
        return edited


class PromptMutator(LLMMutator):
    """A plain code model completes a new version of the function after the parent."""

    name = "prompt"
    description = "LLM prompt engineering: '# A buggy implementation ... # Fixed Bugs\\ndef' style completion"
    Config = PromptConfig
    stops = PROMPT_STOPS

    def build_request(self, parent: Parent, message: str) -> Request:
        template = prompt_template_for(self.config.template, message)  # type: ignore[attr-defined]
        prompt = completion_prompt(template, parent.program, self.context, message)
        return Request(message=message, prompt=prompt, shown=prompt)

    def apply(self, program: str, completion: str, request: Request) -> str:
        function = cut_function(prompt_prefix(request.prompt) + completion)
        problem = syntax_problem(function)
        if problem is not None:
            raise EditRejected(Outcome.EDIT_FAILED, f"the completed function does not parse: {problem}")
        return assemble_child(program, function)


class EditMutator(LLMMutator):
    """A chat model follows an instruction; its reply is SEARCH/REPLACE blocks or code."""

    name = "edit"
    description = "LLM edit: chat instruction, reply as SEARCH/REPLACE blocks or one code block"
    Config = EditConfig
    uses_chat = True

    def build_request(self, parent: Parent, message: str) -> Request:
        instruction = edit_instruction(self.context, message,
                                       self.config.instruction_source)  # type: ignore[attr-defined]
        messages = edit_messages(parent.program, self.context, instruction)
        shown = "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)
        return Request(message=instruction, prompt=messages, shown=shown)

    def apply(self, program: str, completion: str, request: Request) -> str:
        try:
            if has_search_replace(completion):
                blocks = parse_search_replace(completion)
                try:
                    edited = apply_search_replace(program, blocks, strict=True)
                    request.edit_match = "exact"
                except EditApplyError:
                    edited = apply_search_replace(program, blocks)
                    request.edit_match = "lenient"
                return edited
            code = extract_code_block(completion, self.context.function_name)
        except ReplyFormatError as exc:
            raise EditRejected(Outcome.NO_EDIT, f"malformed reply: {exc}") from None
        except EditApplyError as exc:
            raise EditRejected(Outcome.EDIT_FAILED, str(exc)) from None
        problem = syntax_problem(code)
        if problem is not None:
            raise EditRejected(Outcome.EDIT_FAILED, f"the code block does not parse: {problem}")
        return assemble_child(program, code)


class SampleMutator(LLMMutator):
    """A language model writes whole programs from nothing: the Stage-2 inventor. Every
    program is the prefix (empty by default) and the model's continuation of it, sampled
    after the model's start-of-document text; it has no parent and no diff."""

    name = "sample"
    description = "LLM sampling: a model trained on programs (elm train) writes whole programs, no parent"
    Config = SampleConfig
    invents = True

    def prompt_text(self) -> str:
        config: SampleConfig = self.config  # type: ignore[assignment]
        start = self.backend.start_text if config.start_text is None else config.start_text
        return start + config.prefix

    def invent(self, n: int, rng: np.random.Generator) -> list[Child]:
        if n <= 0:
            return []
        prompt = self.prompt_text()
        prompts = self.prompted([prompt] * n, n)
        completions, _, meta = self.sample(prompts, n, rng)
        nothing = Parent(id=None, program="")
        request = Request(message="", prompt=prompt, shown=prompt)
        children = [self._child(nothing, request, c, self._meta(meta, i)) for i, c in enumerate(completions)]
        for child in children:
            child.message = child.diff = None  # an invention: no commit message, no parent to differ from
        return children

    def mutate(self, parents: Sequence[Parent], rng: np.random.Generator) -> list[Child]:
        """One invented program per parent; the parents are not read."""
        return self.invent(len(parents), rng)

    def build_request(self, parent: Parent, message: str) -> Request:
        prompt = self.prompt_text()
        return Request(message="", prompt=prompt, shown=prompt)

    def apply(self, program: str, completion: str, request: Request) -> str:
        return self.config.prefix + completion  # type: ignore[attr-defined]


class CrossoverLLMMutator(LLMMutator):
    """A chat model is shown two parents and writes one program combining them."""

    name = "llm-crossover"
    description = "LLM crossover: a chat model sees two parents and writes one program that combines them"
    Config = EditConfig
    uses_chat = True
    parents_per_child = 2

    def mutate(self, parents: Sequence[Parent], rng: np.random.Generator) -> list[Child]:
        pairs = list(zip(parents[0::2], parents[1::2]))
        if not pairs:
            return []
        chosen = self.prompted(pairs, len(pairs))
        requests = [self.pair_request(first, second) for first, second in chosen]
        completions, sources, meta = self.sample([r.prompt for r in requests], len(pairs), rng, chat=True)
        return [self._child(chosen[k][0], requests[k], completion,
                            {**self._meta(meta, i), "parents": [chosen[k][0].id, chosen[k][1].id]})
                for i, (k, completion) in enumerate(zip(sources, completions))]

    def pair_request(self, first: Parent, second: Parent) -> Request:
        messages = crossover_messages(first.program, second.program, self.context)
        shown = "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)
        return Request(message=f"combine programs {first.id} and {second.id}", prompt=messages, shown=shown)

    def build_request(self, parent: Parent, message: str) -> Request:
        return self.pair_request(parent, parent)

    def apply(self, program: str, completion: str, request: Request) -> str:
        try:
            code = extract_code_block(completion, self.context.function_name)
        except ReplyFormatError as exc:
            raise EditRejected(Outcome.NO_EDIT, f"malformed reply: {exc}") from None
        problem = syntax_problem(code)
        if problem is not None:
            raise EditRejected(Outcome.EDIT_FAILED, f"the code block does not parse: {problem}")
        return assemble_child(program, code)
