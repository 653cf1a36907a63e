"""The hooks elmcore declares, read from the hookspec markers (not from a hand-kept list)."""

from __future__ import annotations

import inspect

from elmcore import hookspecs


def declared_hooks() -> set[str]:
    marker = f"{hookspecs.PROJECT}_spec"
    return {name for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
            if hasattr(function, marker)}
