"""Unified-diff hunks as a diff model writes them: parsed leniently, applied leniently.

Language models get line numbers, hunk line counts and context lines wrong, write CRLF,
leave out context and trail garbage after the diff. So a hunk is located by its content
(context + removed lines), not by its numbers, which only break ties. The rules, in order
(the first that finds a place wins; among several places the one nearest the stated
line wins):

1. the hunk's old lines equal the program's lines exactly;
2. equal ignoring trailing whitespace;
3. equal ignoring all surrounding whitespace (added lines are then shifted by the
   indentation difference);
4. rules 1-3 with up to two outer context lines dropped at either end;
5. every old line similar (difflib ratio >= 0.8 on stripped text, mean >= 0.85):
   drifted context;
6. the hunk split into its separate change groups, each located by rules 1-5 in turn
   after the previous one: context missing or wrong between changes.

When a hunk's stated line counts are consistent with a shorter body (trailing lines that
look like diff lines but are garbage), the shorter body is tried as well. A hunk that
matches nowhere fails the whole diff.

``strict=True`` keeps rules 1 and 2 only: every hunk's old lines must be in the program as
it is (trailing whitespace aside). `elm compare` credits only such edits.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

HUNK_HEADER = re.compile(r"^\s*@@+ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@+ ?(.*)$")
END_MARKERS = ("<NME>", "<BEF>", "<MSG>", "<DFF>", "<|endoftext|>", "</s>", "```")
MAX_CONTEXT_FUZZ = 2
SIMILAR_LINE = 0.8
SIMILAR_MEAN = 0.85
MAX_FUZZY_WORK = 400_000  # line comparisons allowed for rule 5


class DiffApplyError(Exception):
    """A hunk does not fit the program; the message says which."""


@dataclass
class Hunk:
    """One ``@@ -a,b +c,d @@`` block: ``lines`` are (tag, text), tag one of ' ', '-', '+'."""

    header: str
    old_start: int
    old_count: int | None
    new_start: int
    new_count: int | None
    lines: list[tuple[str, str]]

    @property
    def old_lines(self) -> list[str]:
        return [t for tag, t in self.lines if tag != "+"]

    @property
    def new_lines(self) -> list[str]:
        return [t for tag, t in self.lines if tag != "-"]

    @property
    def changes(self) -> bool:
        return any(tag != " " for tag, _ in self.lines)

    def counted_body(self) -> list[tuple[str, str]] | None:
        """The body cut where the stated counts are reached, if that is shorter than ``lines``."""
        if self.old_count is None or self.new_count is None:
            return None
        old = new = 0
        for k, (tag, _) in enumerate(self.lines):
            if old == self.old_count and new == self.new_count:
                return self.lines[:k] if k < len(self.lines) else None
            old += tag != "+"
            new += tag != "-"
        return None


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_hunks(completion: str) -> list[Hunk]:
    """Every hunk in a completion, in order; anything that is not diff text is skipped,
    and a diff-model marker (``<NME>``, end of text) or a code fence after the first hunk
    ends the diff."""
    hunks: list[Hunk] = []
    current: Hunk | None = None
    lines = normalise_newlines(completion).split("\n")
    for i, line in enumerate(lines):
        if line.lstrip().startswith(END_MARKERS):
            if line.lstrip().startswith("```") and not hunks:
                continue  # a fence opening the diff
            break
        header = HUNK_HEADER.match(line)
        if header:
            current = Hunk(header=line.strip(), old_start=int(header[1]),
                           old_count=int(header[2]) if header[2] is not None else None,
                           new_start=int(header[3]),
                           new_count=int(header[4]) if header[4] is not None else None, lines=[])
            hunks.append(current)
            continue
        if current is None:
            continue
        next_line = lines[i + 1] if i + 1 < len(lines) else ""
        if line.startswith("--- ") and next_line.startswith("+++ "):
            current = None  # a new file header
        elif line.startswith("\\"):
            continue  # "\ No newline at end of file"
        elif line == "":
            current.lines.append((" ", ""))
        elif line[0] in " +-":
            current.lines.append((line[0], line[1:]))
        else:
            current = None  # garbage: this hunk is over; a later header may start another
    for hunk in hunks:
        while hunk.lines and hunk.lines[-1] == (" ", ""):
            hunk.lines.pop()  # blank lines after a diff are noise, not context
    return [h for h in hunks if h.changes]


def apply_hunks(program: str, hunks: list[Hunk], strict: bool = False) -> str:
    """The program with every hunk applied, in order; raises DiffApplyError naming the
    first hunk that fits nowhere. Line endings and the final newline follow the program.
    ``strict``: rules 1-2 only (the old lines as they are in the program)."""
    crlf = "\r\n" in program
    text = normalise_newlines(program)
    ends_with_newline = text.endswith("\n")
    lines = text.split("\n")
    if ends_with_newline:
        lines.pop()
    delta = 0
    for number, hunk in enumerate(hunks, start=1):
        applied = None
        for body in _bodies(hunk):
            applied = _apply_one(lines, body, hunk.old_start, hunk.old_count, delta, strict)
            if applied is not None:
                break
        if applied is None:
            raise DiffApplyError(f"hunk {number} of {len(hunks)} ({hunk.header}) does not match the program")
        new_lines, change = applied
        lines = new_lines
        delta += change
    result = "\n".join(lines) + ("\n" if ends_with_newline else "")
    return result.replace("\n", "\r\n") if crlf else result


# -- locating and applying one hunk ----------------------------------------------------
def _bodies(hunk: Hunk) -> list[list[tuple[str, str]]]:
    counted = hunk.counted_body()
    return [hunk.lines] + ([counted] if counted and any(t != " " for t, _ in counted) else [])


def _apply_one(lines: list[str], body: list[tuple[str, str]], old_start: int, old_count: int | None,
               delta: int, strict: bool = False) -> tuple[list[str], int] | None:
    expected = max(old_start - 1, 0) + delta
    placed = _place(lines, body, expected, old_count == 0 and old_start > 0, strict=strict)
    if placed is not None:
        return placed[0], placed[1]
    groups = _change_groups(body)
    if strict or len(groups) < 2:
        return None
    # rule 6: the change groups one after another, each after the previous one's end
    result, floor, total = list(lines), 0, 0
    for offset, group in groups:
        placed = _place(result, group, expected + offset + total, False, floor=floor)
        if placed is None:
            return None
        result, change, floor = placed
        total += change
    return result, total


def _place(lines: list[str], body: list[tuple[str, str]], expected: int, insert_after: bool,
           floor: int = 0, strict: bool = False) -> tuple[list[str], int, int] | None:
    """Rules 1-5 (``strict``: 1-2) for one body, at or after line ``floor``: (new lines,
    change in line count, index just past the replaced region)."""
    old = [t for tag, t in body if tag != "+"]
    if not old:
        at = min(max(expected + (1 if insert_after else 0), floor), len(lines))
        added = [t for tag, t in body if tag == "+"]
        return lines[:at] + added + lines[at:], len(added), at + len(added)
    for trimmed in [body] if strict else _trimmings(body):
        t_old = [t for tag, t in trimmed if tag != "+"]
        lead = _leading_context(body) - _leading_context(trimmed)
        for same in (_exact, _rstripped) if strict else (_exact, _rstripped, _stripped):
            at = _nearest([i for i in range(floor, len(lines) - len(t_old) + 1)
                           if all(same(lines[i + k], t_old[k]) for k in range(len(t_old)))], expected + lead)
            if at is not None:
                return _splice(lines, trimmed, at)
    if strict:
        return None
    at = _fuzzy(lines, body, old, expected, floor)
    return _splice(lines, body, at) if at is not None else None


def _trimmings(body: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """The body, then with 1..MAX_CONTEXT_FUZZ outer context lines dropped at each end."""
    out = [body]
    lead, trail = _leading_context(body), _trailing_context(body)
    for fuzz in range(1, MAX_CONTEXT_FUZZ + 1):
        a, b = min(fuzz, lead), min(fuzz, trail)
        candidate = body[a:len(body) - b]
        if ((a or b) and candidate not in out and any(t != " " for t, _ in candidate)
                and any(t != "+" for t, _ in candidate)):
            out.append(candidate)
    return out


def _leading_context(body: list[tuple[str, str]]) -> int:
    return next((k for k, (tag, _) in enumerate(body) if tag != " "), len(body))


def _trailing_context(body: list[tuple[str, str]]) -> int:
    return next((k for k, (tag, _) in enumerate(reversed(body)) if tag != " "), len(body))


def _exact(a: str, b: str) -> bool:
    return a == b


def _rstripped(a: str, b: str) -> bool:
    return a.rstrip() == b.rstrip()


def _stripped(a: str, b: str) -> bool:
    return a.strip() == b.strip()


def _nearest(positions: list[int], expected: int) -> int | None:
    return min(positions, key=lambda i: (abs(i - expected), i)) if positions else None


def _fuzzy(lines: list[str], body: list[tuple[str, str]], old: list[str], expected: int, floor: int) -> int | None:
    """Rule 5: the window whose lines are all similar to the hunk's old lines."""
    windows = range(floor, len(lines) - len(old) + 1)
    if len(windows) * len(old) > MAX_FUZZY_WORK:
        return None
    best: tuple[float, int, int] | None = None
    for i in windows:
        scores = []
        for k, want in enumerate(old):
            have = lines[i + k]
            if have.strip() == want.strip():
                scores.append(1.0)
                continue
            matcher = difflib.SequenceMatcher(None, have.strip(), want.strip(), autojunk=False)
            if matcher.real_quick_ratio() < SIMILAR_LINE or matcher.quick_ratio() < SIMILAR_LINE:
                break
            ratio = matcher.ratio()
            if ratio < SIMILAR_LINE:
                break
            scores.append(ratio)
        else:
            mean = sum(scores) / len(scores)
            if mean >= SIMILAR_MEAN:
                key = (-mean, abs(i - expected), i)
                if best is None or key < best:
                    best = key
    return best[2] if best else None


def _splice(lines: list[str], body: list[tuple[str, str]], at: int) -> tuple[list[str], int, int]:
    """Replace the matched window: context keeps the program's text, removed lines go,
    added lines come in, shifted by the indentation difference the match revealed."""
    old_len = sum(1 for tag, _ in body if tag != "+")
    shift = _indent_shift(lines[at:at + old_len], [t for tag, t in body if tag != "+"])
    out: list[str] = []
    k = at
    for tag, text in body:
        if tag == " ":
            out.append(lines[k])
            k += 1
        elif tag == "-":
            k += 1
        else:
            out.append(_reindent(text, shift))
    return lines[:at] + out + lines[at + old_len:], len(out) - old_len, at + len(out)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _indent_shift(have: list[str], want: list[str]) -> int:
    """Indentation of the program minus that of the hunk, when every non-blank matched
    pair agrees on it; else 0."""
    shifts = {_indent(h) - _indent(w) for h, w in zip(have, want) if h.strip() and w.strip()}
    return shifts.pop() if len(shifts) == 1 else 0


def _reindent(text: str, shift: int) -> str:
    if shift > 0 and text.strip():
        return " " * shift + text
    if shift < 0 and text.strip():
        return text[min(-shift, _indent(text)):]
    return text


def _change_groups(body: list[tuple[str, str]]) -> list[tuple[int, list[tuple[str, str]]]]:
    """Each run of changed lines with the context lines next to it (up to the neighbouring
    run), and its offset in the hunk's old lines."""
    runs: list[tuple[int, int]] = []
    k = 0
    while k < len(body):
        if body[k][0] == " ":
            k += 1
            continue
        start = k
        while k < len(body) and body[k][0] != " ":
            k += 1
        runs.append((start, k))
    groups = []
    for r, (start, end) in enumerate(runs):
        lo = runs[r - 1][1] if r else 0
        hi = runs[r + 1][0] if r + 1 < len(runs) else len(body)
        first = max(lo, start - 2)
        group = body[first:start] + body[start:end] + body[end:min(hi, end + 2)]
        offset = sum(1 for tag, _ in body[:first] if tag != "+")
        groups.append((offset, group))
    return groups
