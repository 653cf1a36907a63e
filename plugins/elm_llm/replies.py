"""Reading a chat model's reply: SEARCH/REPLACE blocks, or one whole code block.

A reply that has neither, or whose blocks are malformed, is a ``ReplyFormatError`` (the
mutator records NO_EDIT); a block whose SEARCH text is not in the program is an
``EditApplyError`` (EDIT_FAILED).
"""

from __future__ import annotations

from elmcore import parse_source
import re
from dataclasses import dataclass

from elm_llm.diffs import DiffApplyError, Hunk, apply_hunks, normalise_newlines

SEARCH_MARK = re.compile(r"^\s*<{5,9}\s*SEARCH\s*$")
DIVIDER_MARK = re.compile(r"^\s*={5,9}\s*$")
REPLACE_MARK = re.compile(r"^\s*>{5,9}\s*REPLACE\s*$")
FENCE = re.compile(r"^\s*```+\s*([\w+.-]*)\s*$")
PYTHON_TAGS = {"python", "py", "python3"}


class ReplyFormatError(Exception):
    """The reply holds no usable edit, or its edit blocks are malformed."""


class EditApplyError(Exception):
    """An edit block does not fit the program."""


@dataclass(frozen=True)
class SearchReplace:
    search: str
    replace: str


def has_search_replace(reply: str) -> bool:
    return any(SEARCH_MARK.match(line) or REPLACE_MARK.match(line)
               for line in normalise_newlines(reply).split("\n"))


def parse_search_replace(reply: str) -> list[SearchReplace]:
    """All SEARCH/REPLACE blocks in order; text outside the blocks is ignored."""
    blocks: list[SearchReplace] = []
    state, search, replace = "outside", [], []
    for number, line in enumerate(normalise_newlines(reply).split("\n"), start=1):
        if SEARCH_MARK.match(line):
            if state != "outside":
                raise ReplyFormatError(f"line {number}: a new SEARCH starts before block {len(blocks) + 1} "
                                       f"ends with '>>>>>>> REPLACE'")
            state, search, replace = "search", [], []
        elif DIVIDER_MARK.match(line) and state == "search":
            state = "replace"
        elif REPLACE_MARK.match(line):
            if state != "replace":
                what = "has no '=======' divider" if state == "search" else "has no '<<<<<<< SEARCH'"
                raise ReplyFormatError(f"line {number}: block {len(blocks) + 1} {what}")
            blocks.append(SearchReplace("\n".join(search), "\n".join(replace)))
            state = "outside"
        elif state == "search":
            search.append(line)
        elif state == "replace":
            replace.append(line)
    if state != "outside":
        raise ReplyFormatError(f"block {len(blocks) + 1} is not closed with '>>>>>>> REPLACE' "
                               f"(reply cut short? raise max_new_tokens)")
    return blocks


def apply_search_replace(program: str, blocks: list[SearchReplace], strict: bool = False) -> str:
    """Apply blocks in order. SEARCH text is found exactly, else line by line with the
    diff rules (whitespace, indentation, similar lines; ``strict``: trailing whitespace
    only); an empty SEARCH appends."""
    crlf = "\r\n" in program
    text = normalise_newlines(program)
    for number, block in enumerate(blocks, start=1):
        search, replace = block.search, block.replace
        if not search.strip():
            text = text + ("" if not text or text.endswith("\n") else "\n") + replace + "\n"
            continue
        at = _find_whole_lines(text, search)
        if at is not None:
            text = text[:at] + replace + text[at + len(search):]
            continue
        removed = [("-", line) for line in search.split("\n")]
        added = [("+", line) for line in replace.split("\n")] if replace else []
        hunk = Hunk(header=f"SEARCH/REPLACE block {number}", old_start=1, old_count=None, new_start=1,
                    new_count=None, lines=removed + added)
        try:
            text = apply_hunks(text, [hunk], strict=strict)
        except DiffApplyError:
            raise EditApplyError(f"SEARCH text of block {number} of {len(blocks)} is not in the program") from None
    return text.replace("\n", "\r\n") if crlf else text


def _find_whole_lines(text: str, search: str) -> int | None:
    """First index where ``search`` occurs starting at a line start and ending at a line end."""
    start = 0
    while (at := text.find(search, start)) >= 0:
        end = at + len(search)
        if (at == 0 or text[at - 1] == "\n") and (end == len(text) or text[end] == "\n" or search.endswith("\n")):
            return at
        start = at + 1
    return None


def extract_code_block(reply: str, function_name: str | None = None) -> str:
    """The program in a reply: the fenced block (``python``-tagged ones first; among
    several, one defining ``function_name``, else the longest), or the whole reply when it
    is plain Python defining ``function_name``."""
    blocks: list[tuple[str, str]] = []
    tag, body, inside = "", [], False
    for line in normalise_newlines(reply).split("\n"):
        fence = FENCE.match(line)
        if fence and not inside:
            tag, body, inside = fence[1].lower(), [], True
        elif fence and inside and not fence[1]:
            blocks.append((tag, "\n".join(body) + "\n"))
            inside = False
        elif inside:
            body.append(line)
    if inside:
        raise ReplyFormatError("the code block is not closed with ``` (reply cut short? raise max_new_tokens)")
    if not blocks:
        plain = reply.strip()
        if plain and function_name and re.search(rf"^\s*def\s+{re.escape(function_name)}\s*\(", plain, re.M):
            try:
                parse_source(plain)
                return plain + "\n"
            except (SyntaxError, ValueError):
                pass
        raise ReplyFormatError("the reply has no SEARCH/REPLACE block and no code block")
    python = [code for t, code in blocks if t in PYTHON_TAGS] or [code for t, code in blocks if not t] \
        or [code for _, code in blocks]
    if function_name:
        defining = [c for c in python if re.search(rf"^\s*def\s+{re.escape(function_name)}\s*\(", c, re.M)]
        python = defining or python
    return max(python, key=len)
