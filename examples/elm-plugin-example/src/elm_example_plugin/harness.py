"""Runs inside the sandbox, next to the untrusted program: samples its f(x).

Called as ``sample_curve(namespace)`` after the program was executed into ``namespace``.
Returns plain JSON data that the trusted domain validates again: the program may have
tampered with anything in this process, this module included.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from elm_example_plugin.samples import SAMPLE_XS

MAX_ERROR_CHARS = 200


def sample_curve(namespace: dict[str, Any]) -> dict[str, Any]:
    """``{"found": True, "ys": [...], "error": str | None}`` with one y (a finite float or None)
    per sample point, or ``{"found": False, "detail": ...}`` when there is no callable f."""
    function = namespace.get("f")
    if function is None:
        return {"found": False, "detail": "the program defines no name 'f'"}
    if not callable(function):
        return {"found": False, "detail": "'f' is not callable"}
    ys: list[float | None] = []
    first_error: str | None = None
    for x in SAMPLE_XS:
        try:
            y = as_finite_float(function(x))
        except Exception as exc:  # the program failing at one point is data, not a crash
            y = None
            if first_error is None:
                first_error = describe_error(exc)
        ys.append(y)
    return {"found": True, "ys": ys, "error": first_error}


def as_finite_float(value: Any) -> float | None:
    """A finite float for a real number (bools excluded); None otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        result = float(value)
    except Exception:  # a hostile __float__, or an int too large for a float
        return None
    return result if math.isfinite(result) else None


def describe_error(exc: BaseException) -> str:
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:
        text = type(exc).__name__
    return text[:MAX_ERROR_CHARS]
