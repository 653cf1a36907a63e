"""Validates the untrusted harness output before the domain scores anything from it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MAX_TEXT_CHARS = 500


class MalformedOutput(ValueError):
    """The harness output does not have the shape ``harness.sample_curve`` documents."""


@dataclass(frozen=True)
class CurveSamples:
    """Checked harness output: whether f exists, and one finite float or None per point."""

    found: bool
    detail: str = ""
    ys: tuple[float | None, ...] = ()
    error: str | None = None


def check_output(output: Any, points: int) -> CurveSamples:
    """The output as CurveSamples; MalformedOutput naming the first problem otherwise."""
    if not isinstance(output, dict):
        raise MalformedOutput(f"expected an object, got {type(output).__name__}")
    found = output.get("found")
    if found is False:
        _expect_keys(output, {"found", "detail"})
        return CurveSamples(found=False, detail=_text(output["detail"], "detail"))
    if found is not True:
        raise MalformedOutput("'found' is missing or not true/false")
    _expect_keys(output, {"found", "ys", "error"})
    ys = output["ys"]
    if not isinstance(ys, list):
        raise MalformedOutput(f"'ys' is {type(ys).__name__}, not a list")
    if len(ys) != points:
        raise MalformedOutput(f"'ys' has {len(ys)} entries, expected {points}")
    checked: list[float | None] = []
    for index, y in enumerate(ys):
        if y is None:
            checked.append(None)
        elif type(y) in (int, float) and _finite(y):
            checked.append(float(y))
        else:
            raise MalformedOutput(f"ys[{index}] is {y!r:.40}, not a finite number or null")
    error = None if output["error"] is None else _text(output["error"], "error")
    return CurveSamples(found=True, ys=tuple(checked), error=error)


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an int beyond the float range
        return False


def _expect_keys(output: dict[str, Any], keys: set[str]) -> None:
    if set(output) != keys:
        raise MalformedOutput(f"keys are {sorted(map(str, output))}, expected {sorted(keys)}")


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise MalformedOutput(f"{key!r} is {type(value).__name__}, not a string")
    return value[:MAX_TEXT_CHARS]
