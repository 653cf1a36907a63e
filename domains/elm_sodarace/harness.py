"""Runs next to the untrusted program in the sandbox: calls ``make_walker()`` and returns
the walker as plain JSON data. Its output is judged again by the trusted domain code."""

from __future__ import annotations

import numbers
from typing import Any

from elm_sodarace.walk_creator import query_cppn

MAX_DEPTH = 8


def run_walker(namespace: dict[str, Any]) -> Any:
    """Call the program's ``make_walker()``; ``query_cppn`` is provided when the program
    does not define or import its own."""
    make_walker = namespace.get("make_walker")
    if not callable(make_walker):
        raise NameError("the program defines no function make_walker()")
    namespace.setdefault("query_cppn", query_cppn)
    walker = make_walker()
    if not isinstance(walker, dict):
        raise TypeError(f"make_walker() returned {type(walker).__name__}; it must return wc.get_walker()")
    return to_plain(walker)


def to_plain(value: Any, depth: int = 0) -> Any:
    """Dicts, lists, strings and numbers only (tuples become lists, numpy scalars numbers)."""
    if depth > MAX_DEPTH:
        raise ValueError("make_walker() returned data nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: to_plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v, depth + 1) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays
        return to_plain(value.tolist(), depth + 1)
    raise TypeError(f"make_walker() returned a {type(value).__name__} inside the walker; "
                    "use only lists, numbers and dicts")
