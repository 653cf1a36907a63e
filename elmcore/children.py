"""Helpers for mutators: the child records every operator writes the same way."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from elmcore.types import Child, Outcome, Parent


def unified_diff(before: str, after: str, file_name: str = "program.py", context: int = 3) -> str:
    """The change from ``before`` to ``after`` as a unified diff with ``context`` lines
    around each change ("" when equal)."""
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=f"a/{file_name}", tofile=f"b/{file_name}", n=context))


def edited_child(parent: Parent, program: str, operator: str, edits: Sequence[str],
                 file_name: str = "program.py") -> Child:
    """A child made by listed edits: the message joins them, the diff is against the parent."""
    return Child(program=program, parent_id=parent.id, operator=operator, message="; ".join(edits),
                 diff=unified_diff(parent.program, program, file_name), meta={"edits": list(edits)})


def failed_child(parent: Parent, operator: str, reason: str, no_edit: bool = False) -> Child:
    """A child that could not be made: NO_EDIT (nothing to change) or EDIT_FAILED."""
    return Child(program=None, parent_id=parent.id, operator=operator,
                 outcome=Outcome.NO_EDIT if no_edit else Outcome.EDIT_FAILED, reason=reason)
