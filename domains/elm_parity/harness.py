"""Runs inside the sandbox: calls the program's function on every test case.

Called as ``harness(namespace)`` after the untrusted program was executed into
``namespace``. Returns plain JSON data; the trusted domain validates it (the program
could have tampered with anything here, so nothing returned is taken on trust).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from elm_parity.tasks import PARITY, QUADRATIC, Task

MAX_ERROR_CHARS = 200
LARGEST_EXACT_INT = 2**53


def run_parity(namespace: dict[str, Any]) -> dict[str, Any]:
    """Outputs of ``parity`` on all 16 four-bit inputs."""
    return run_task(namespace, PARITY)


def run_quadratic(namespace: dict[str, Any]) -> dict[str, Any]:
    """Outputs of ``quadratic`` on the 16 fixed integer cases."""
    return run_task(namespace, QUADRATIC)


def run_task(namespace: dict[str, Any], task: Task) -> dict[str, Any]:
    """``{"found": True, "outputs": [...], "errors": [...]}`` with one entry per case, or
    ``{"found": False, "detail": ...}`` when the program defines no such function."""
    function = namespace.get(task.function_name)
    if function is None:
        return {"found": False, "detail": f"no name {task.function_name!r} is defined"}
    if not callable(function):
        return {"found": False, "detail": f"{task.function_name!r} is not callable"}
    outputs: list[int | float | None] = []
    errors: list[str | None] = []
    for arguments in task.inputs:
        try:
            value = function(*arguments)
        except Exception as exc:  # the program's own failure on this case
            outputs.append(None)
            errors.append(describe_error(exc))
            continue
        outputs.append(as_number(value))
        errors.append(None)
    return {"found": True, "outputs": outputs, "errors": errors}


def as_number(value: Any) -> int | float | None:
    """A plain int or finite float for a real number; None for anything else."""
    try:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            plain = int(value)
            return plain if abs(plain) <= LARGEST_EXACT_INT else _finite_float(plain)
        if isinstance(value, numbers.Real):
            return _finite_float(value)
    except Exception:  # a hostile __int__/__float__ or an overflowing conversion
        return None
    return None


def _finite_float(value: Any) -> float | None:
    result = float(value)
    return result if math.isfinite(result) else None


def describe_error(exc: BaseException) -> str:
    """``"TypeName: message"``, cut to a bounded length."""
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:
        text = type(exc).__name__
    return text[:MAX_ERROR_CHARS]
