"""The prompts the three LLM mutators send, and how a plain completion becomes a function.

- diff:   ``<NME> {file}\\n<BEF> {program}\\n<MSG> {message}\\n<DFF>`` (the CarperAI diff
          models' training format; the model continues with unified-diff hunks).
- prompt: the paper's prompt-engineering form for plain code models. Bug-fixing
          messages use ``# A buggy implementation\\n{program}\\n# Fixed Bugs\\ndef``; any other
          message ``# Original version\\n{program}\\n# {message}\\ndef {function_name}(``.
- edit:   a system message fixing the reply format (SEARCH/REPLACE blocks or one whole
          code block) and a user message with the instruction and the program.
"""

from __future__ import annotations

from elmcore import parse_source
from collections.abc import Sequence

import numpy as np

from elmcore import MutationContext

BUGFIX_TEMPLATE = "# A buggy implementation\n{program}\n# Fixed Bugs\ndef"
GENERIC_TEMPLATE = "# Original version\n{program}\n# {message}\ndef {function_name}("
PROMPT_TEMPLATES = {"bugfix": BUGFIX_TEMPLATE, "generic": GENERIC_TEMPLATE}
PROMPT_STOPS = ("\ndef ", "\nclass ", "\n#", "\nif __name__", "\nprint(", "\n```")
DIFF_STOPS = ("<NME>", "<BEF>", "<MSG>")

EDIT_SYSTEM = (
    "You are an expert Python programmer who changes programs exactly as asked.\n"
    "Reply with your change as one or more SEARCH/REPLACE blocks:\n"
    "<<<<<<< SEARCH\n(lines copied exactly from the program)\n=======\n(the lines that replace them)\n"
    ">>>>>>> REPLACE\n"
    "or with the whole changed program in a single ```python code block.\n"
    "The program must keep defining `{function_name}`."
)
EDIT_USER = "{instruction}\n{description}\nThe program `{file_name}`:\n```python\n{program}```"
CROSSOVER_SYSTEM = (
    "You are an expert Python programmer who combines two versions of a program into one.\n"
    "Reply with the whole combined program in a single ```python code block.\n"
    "The program must keep defining `{function_name}`."
)
CROSSOVER_USER = ("Two versions of `{file_name}` follow. Write one program that combines parts of both, "
                  "taking what each does well.\n{description}\nVersion A:\n```python\n{first}```\n\n"
                  "Version B:\n```python\n{second}```")


def validate_commit_messages(messages: Sequence[tuple[str, float]]) -> None:
    """Raise ValueError (one line) unless the messages can be sampled."""
    if not messages:
        raise ValueError("no commit messages to sample from")
    if any(w < 0 or not np.isfinite(w) for _, w in messages) or sum(w for _, w in messages) <= 0:
        raise ValueError(f"commit message weights must be non-negative with a positive sum, got "
                         f"{[w for _, w in messages]}")


def sample_commit_message(messages: Sequence[tuple[str, float]], rng: np.random.Generator) -> str:
    """One message drawn with probability proportional to its weight (e.g. 0.4/0.3/0.3)."""
    weights = np.array([w for _, w in messages], dtype=float)
    return messages[int(rng.choice(len(messages), p=weights / weights.sum()))][0]


def _with_newline(program: str) -> str:
    return program if program.endswith("\n") else program + "\n"


def diff_prompt(file_name: str, program: str, message: str) -> str:
    return f"<NME> {file_name}\n<BEF> {_with_newline(program)}<MSG> {message}\n<DFF>"


def prompt_template_for(template: str, message: str) -> str:
    """``auto`` picks the paper's bug-fix form when the message speaks of a fix."""
    if template == "auto":
        return BUGFIX_TEMPLATE if "fix" in message.lower() else GENERIC_TEMPLATE
    return PROMPT_TEMPLATES.get(template, template)


def completion_prompt(template: str, program: str, context: MutationContext, message: str) -> str:
    return template.format(program=_with_newline(program).rstrip("\n"), message=message,
                           function_name=context.function_name, file_name=context.file_name)


def prompt_prefix(prompt: str) -> str:
    """What the prompt already wrote of the new function: its last line when that line
    starts a definition (``def`` or ``def name(``), else nothing."""
    last = prompt.rsplit("\n", 1)[-1]
    return last if last.lstrip().startswith(("def", "async def")) else ""


def cut_function(text: str) -> str:
    """The first top-level function in ``text`` (which starts with ``def``): up to the
    first later line at column 0. If that cut does not parse (a column-0 line inside a
    string), later column-0 lines are tried; failing all, the first cut is returned."""
    lines = text.split("\n")
    cuts = [k for k in range(1, len(lines)) if lines[k][:1] not in ("", " ", "\t")] + [len(lines)]
    candidates = ["\n".join(lines[:k]).rstrip() + "\n" for k in cuts]
    for code in candidates:
        try:
            parse_source(code)
            return code
        except (SyntaxError, ValueError, RecursionError):
            continue
    return candidates[0]


def edit_instruction(context: MutationContext, message: str, source: str) -> str:
    """``instruction`` (the domain's), ``message`` (the sampled commit message), or ``auto``:
    the domain's instruction when it set one, else the commit message."""
    if source == "instruction":
        return context.instruction
    if source == "message":
        return message
    default = MutationContext(file_name="", function_name="").instruction
    return context.instruction if context.instruction and context.instruction != default else message


def crossover_messages(first: str, second: str, context: MutationContext) -> list[dict[str, str]]:
    """The chat prompt of an LLM crossover: two parents in, one combined program out."""
    description = f"\n{context.description.strip()}\n" if context.description.strip() else ""
    return [
        {"role": "system", "content": CROSSOVER_SYSTEM.format(function_name=context.function_name)},
        {"role": "user", "content": CROSSOVER_USER.format(file_name=context.file_name, description=description,
                                                          first=_with_newline(first), second=_with_newline(second))},
    ]


def edit_messages(program: str, context: MutationContext, instruction: str) -> list[dict[str, str]]:
    description = f"\n{context.description.strip()}\n" if context.description.strip() else ""
    return [
        {"role": "system", "content": EDIT_SYSTEM.format(function_name=context.function_name)},
        {"role": "user", "content": EDIT_USER.format(instruction=instruction, description=description,
                                                     file_name=context.file_name,
                                                     program=_with_newline(program))},
    ]
