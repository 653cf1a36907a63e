"""Diffs that apply by construction: the lines a diff keeps or removes are copied from the parent.

A small diff model knows what Python looks like but cannot copy a line it read hundreds of
tokens earlier: its context and removed lines drift from the parent, and the hunk then
matches nowhere. Guided decoding lets the model decide what only it can decide and copies
the rest. As a row writes its diff, a ``DiffGuide`` follows the text line by line:

- before a hunk header, and on header (``@@``) and added (``+``) lines, the model samples
  freely;
- when a line inside a hunk starts with ``' '`` (kept) or ``'-'`` (removed), the model has
  chosen the kind of line; the guide writes the rest of it: the parent's next line, copied
  exactly. The first such line of a hunk picks the parent line that starts with what the
  model began to write (after the line kind), nearest the line its header names (moved up
  so that the lines the header says the hunk spans fit in the parent), at or after the end
  of the previous hunk; later lines follow in order;
- after a copied line the model must start a new one: its next token is drawn only from the
  tokens that begin with a newline (``needs_newline``; the decoding loop masks the others).
  So the newline, the next line's kind and its indentation come as one token, as the
  tokenizer writes them in the text the model was trained on, and a copied line is encoded
  from the same boundary the model's own token started at;
- a hunk that runs past the parent's last line, or a blank line where the parent has none,
  ends the diff.

So every kept and removed line is the parent's own, in order, and every hunk is found
exactly where it was written (rule 1 of ``diffs.apply_hunks``). The model still chooses
where each hunk goes, which lines it removes, and everything it adds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from elm_llm.diffs import HUNK_HEADER


class DiffGuide:
    """Follows one row's diff and copies the parent's lines into it (see the module doc).

    ``vocab[t]`` is token ``t``'s text, ``encode(text)`` the token ids of a text, and
    ``end_id`` a token that ends the row. Call ``next(sampled)`` with each sampled token; it
    returns the token the row writes (the sampled one, a copied one, or ``end_id``)."""

    def __init__(self, parent: str, vocab: Sequence[str], encode: Callable[[str], list[int]], end_id: int) -> None:
        self.lines = parent.split("\n")
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self.vocab, self.encode, self.end_id = vocab, encode, end_id
        self.queue: deque[int] = deque()  # copied tokens still to write
        self.line = ""  # what the row has written of its current line
        self.in_hunk = False
        self.named: int | None = None  # the 0-based parent line the current hunk's header names
        self.cursor: int | None = None  # the parent line the next kept or removed line copies
        self.floor = 0  # a hunk's lines start at or after this parent line
        self.copied = 0  # parent lines copied so far
        self.needs_newline = False  # a copied line was written: the next token must begin a new line
        self.ended = False

    def next(self, sampled: int) -> int:
        if self.queue:
            token = self.queue.popleft()
            self.needs_newline = not self.queue
            return token
        if self.ended:
            return self.end_id
        text = self.vocab[sampled] if 0 <= sampled < len(self.vocab) else ""
        if self.line and self.needs_newline and not text.startswith("\n"):
            return self._end()  # the loop could not keep to a new line: end the diff after the copied one
        self.needs_newline = False
        for j, char in enumerate(text):
            if self.line == "" and self.in_hunk:
                if char in " -":
                    return self._copy(text[:j], char, text[j + 1:].split("\n", 1)[0])
                if char == "\n" and not self._blank_context():
                    return self._end()
            self.line += char
            if char == "\n":
                self._finish_line(self.line[:-1])
                self.line = ""
        return sampled

    def _blank_context(self) -> bool:
        """A blank line written inside a hunk: a kept blank line when the parent's next line is
        blank (the cursor moves past it), else not."""
        at = self.cursor if self.cursor is not None else self._place("")
        if at is not None and at < len(self.lines) and not self.lines[at].strip():
            self.cursor = self.floor = at + 1
            self.copied += 1
            return True
        return False

    def _finish_line(self, line: str) -> None:
        header = HUNK_HEADER.match(line)
        if header:
            self.in_hunk, self.cursor = True, None
            # the line the header names, moved up so that the lines it says it spans fit in the
            # parent (a model writes line numbers of the programs it was trained on)
            spans = max(1, int(header[2])) if header[2] is not None else 1
            self.named = max(0, min(int(header[1]) - 1, len(self.lines) - spans))
        elif line and not line.startswith(("+", " ", "-")):
            self.in_hunk = False  # anything else inside a hunk (but a kept blank line) ends it

    def _place(self, hint: str) -> int | None:
        """The parent line a hunk's first kept or removed line copies: one that starts with
        ``hint`` (what the model began the line with) if any does, nearest the line the header
        names, at or after the end of the previous hunk."""
        span = range(self.floor, len(self.lines))
        if not span:
            return None
        fitting = [i for i in span if hint and self.lines[i].startswith(hint)] or list(span)
        named = self.named if self.named is not None else self.floor
        return min(fitting, key=lambda i: (abs(i - named), i))

    def _copy(self, before: str, tag: str, hint: str) -> int:
        if self.cursor is None:
            self.cursor = self._place(hint)
        if self.cursor is None or self.cursor >= len(self.lines):
            return self._end()
        line = tag + self.lines[self.cursor]
        ids = self.encode(before + line)
        self.cursor += 1
        self.floor = self.cursor
        self.copied += 1
        if not ids:
            return self._end()
        self.line = line  # written once the queue is; the next token must begin a new line
        self.queue.extend(ids[1:])
        self.needs_newline = not self.queue
        return ids[0]

    def _end(self) -> int:
        self.ended = True
        self.queue.clear()
        return self.end_id
