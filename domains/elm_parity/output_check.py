"""Validates the untrusted harness output before anything is scored from it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MAX_ERROR_CHARS = 1_000


class MalformedOutput(ValueError):
    """The harness output does not have the documented shape."""


@dataclass(frozen=True)
class CaseResults:
    """Per-case results of one program, already checked: a number or None, and an error or None."""

    found: bool
    detail: str
    outputs: tuple[int | float | None, ...] = ()
    errors: tuple[str | None, ...] = ()


def check_output(output: Any, cases: int) -> CaseResults:
    """The harness output as CaseResults; MalformedOutput naming the first problem."""
    if not isinstance(output, dict):
        raise MalformedOutput(f"expected an object, got {type(output).__name__}")
    found = output.get("found")
    if found is False:
        _expect_keys(output, {"found", "detail"})
        detail = output["detail"]
        if not isinstance(detail, str):
            raise MalformedOutput("'detail' is not a string")
        return CaseResults(found=False, detail=detail[:MAX_ERROR_CHARS])
    if found is not True:
        raise MalformedOutput("'found' is missing or not true/false")
    _expect_keys(output, {"found", "outputs", "errors"})
    outputs = _expect_list(output["outputs"], "outputs", cases)
    errors = _expect_list(output["errors"], "errors", cases)
    for index, (value, error) in enumerate(zip(outputs, errors)):
        if not _is_plain_number(value) and value is not None:
            raise MalformedOutput(f"outputs[{index}] is {type(value).__name__}, not a finite number or null")
        if error is not None:
            if not isinstance(error, str):
                raise MalformedOutput(f"errors[{index}] is {type(error).__name__}, not a string or null")
            if value is not None:
                raise MalformedOutput(f"case {index} has both an output and an error")
    return CaseResults(found=True, detail="", outputs=tuple(outputs),
                       errors=tuple(e[:MAX_ERROR_CHARS] if e is not None else None for e in errors))


def _expect_keys(output: dict[str, Any], keys: set[str]) -> None:
    if set(output) != keys:
        raise MalformedOutput(f"keys are {sorted(map(str, output))}, expected {sorted(keys)}")


def _expect_list(value: Any, key: str, length: int) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedOutput(f"{key!r} is {type(value).__name__}, not a list")
    if len(value) != length:
        raise MalformedOutput(f"{key!r} has {len(value)} entries, expected {length}")
    return value


def _is_plain_number(value: Any) -> bool:
    if type(value) is int:
        return True
    return type(value) is float and math.isfinite(value)
