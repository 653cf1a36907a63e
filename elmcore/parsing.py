"""Parsing Python source in the engine process from several threads at once.

CPython 3.11 keeps the counter its AST constructor uses to bound recursion in state that all
threads share. When two threads parse at the same time (a run mutating the next batch with
GP while another thread computes the last batch's descriptors from the programs' code, as
4-Parity does), one of them can fail with ``SystemError: AST constructor recursion depth
mismatch`` although both programs are fine. Every parse in elm's engine-side code goes
through :func:`parse`, which lets one thread parse at a time. Parsing is fast next to
everything else a run does, so the lock costs nothing measurable."""

from __future__ import annotations

import ast
import threading

_LOCK = threading.RLock()


def parse(source: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse(source)``, one thread at a time; raises what ``ast.parse`` raises."""
    with _LOCK:
        return ast.parse(source, filename)
