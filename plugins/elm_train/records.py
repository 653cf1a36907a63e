"""Records of a dataset, read from run stores.

A diff record is one edit that worked: the parent program, the commit message, and the
diff that turned the parent into the child, with the prompt and completion a diff model
is trained on (the prompt is exactly what the ``diff`` mutator sends, so training and
use see the same text). Records carry where they came from (run, candidate, parent).

The held-out split is by parent: a parent program's hash decides its side, so no record
of a held-out parent is trained on, and the split of a record never depends on which
other runs were exported with it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from elmcore import unified_diff
from elmcore import RunStore, StoreError
from elm_llm.prompts import diff_prompt

FILTERS = {
    "entered": "c.entered = 1",
    "valid": "c.outcome = 'valid'",
    "runnable": "c.outcome IN ('valid', 'invalid')",
}
FILTER_HELP = {
    "entered": "children that entered the map: new niches and improvements (the paper's accepted diffs)",
    "valid": "children whose phenotype was valid, whether or not they entered",
    "runnable": "children that ran to the end in the sandbox (valid or invalid phenotype)",
}
DEFAULT_FILE_NAME = "program.py"
_FROM_FILE = re.compile(r"^--- a/(\S+)", re.MULTILINE)


MESSAGES = ("stored", "moves")
"""Where a record's commit message comes from: the one stored with the child, or the move
from the parent's descriptors to the child's in the domain's words ("Make the walker taller
and lighter.", the stored message where the move is too small to say)."""


class ExportError(ValueError):
    """An export that cannot be made; the message names the input and what to do."""


def move_words(store: RunStore, run_dir: Path) -> tuple[list, str]:
    """The behaviour space and subject of a run's domain, for messages about moves; ExportError
    when the domain is not installed or has no words for its dimensions."""
    from elmcore import NoWords, check_words
    from elmcore import component_options
    from elmcore import PluginError, get_plugin_manager

    config = store.get_meta("config", kind=dict) or {}
    name = (config.get("domain") or {}).get("name") if isinstance(config.get("domain"), dict) else None
    try:
        cls = get_plugin_manager().get("domain", str(name))
        domain = cls(cls.Config.model_validate(component_options(config, "domain"), context={"worker": True}))
        space = domain.behaviour_space()
        check_words(space, str(name))
    except NoWords as exc:
        raise ExportError(f"{run_dir}: --messages moves: {str(exc).split('; leave')[0]}; use --messages stored"
                          ) from None
    except (PluginError, ValueError, KeyError) as exc:
        raise ExportError(f"{run_dir}: --messages moves needs the run's domain {name!r} installed ({exc}); "
                          "use --messages stored") from None
    return space, domain.mutation_context().subject


@dataclass(frozen=True)
class DiffRecord:
    """One training example of the diff model, with its provenance."""

    file_name: str
    parent: str
    message: str
    diff: str
    prompt: str
    completion: str
    run: str
    candidate_id: int
    parent_id: int
    operator: str
    outcome: str
    entered: bool
    fitness: float | None

    def key(self) -> tuple[str, str, str, str]:
        """What makes two records the same example."""
        return self.file_name, self.parent, self.message, self.diff


def change_of(hunks: str) -> str:
    """What a diff changes: its removed and added lines, without hunk headers and context,
    so the same edit made at another place or in another parent is the same change."""
    return "\n".join(line for line in hunks.splitlines() if line[:1] in "+-" and line[:1] != "")


def diff_hunks(parent: str, child: str, file_name: str, context: int = 3) -> str:
    """The unified diff from ``parent`` to ``child`` without its ``---``/``+++`` file lines:
    the hunks a diff model writes after ``<DFF>``."""
    lines = unified_diff(parent, child, file_name, context).splitlines(keepends=True)
    return "".join(lines[2:])  # past the ---/+++ lines ("" when equal)


def diff_completion(hunks: str) -> str:
    """What follows ``<DFF>`` in a training text: a newline, then the hunks."""
    return "\n" + hunks


def held_out(parent: str, fraction: float) -> bool:
    """Whether ``parent``'s records go to the held-out split (deterministic, by content)."""
    if fraction <= 0:
        return False
    digest = hashlib.sha256(parent.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def _file_name(stored_diff: str | None) -> str:
    match = _FROM_FILE.search(stored_diff or "")
    return match.group(1) if match else DEFAULT_FILE_NAME


def open_run(run_dir: Path) -> RunStore:
    """The run's store, read-only; ExportError (one line) when ``run_dir`` is not a run."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ExportError(f"{run_dir} is not a directory; pass run directories made by `elm run`")
    try:
        return RunStore.open(run_dir, readonly=True)
    except StoreError as exc:
        raise ExportError(str(exc)) from None


def diff_records(run_dirs: Sequence[Path], filter_name: str, context: int = 3,
                 max_repeats: int | None = None, messages: str = "stored") -> tuple[list[DiffRecord], dict]:
    """Every child of the runs that passes ``filter_name``, as a diff record (deduplicated,
    first occurrence kept), and counts per run of what was read and kept. With
    ``max_repeats``, one change (``change_of``: the same removed and added lines, whatever
    the parent) is kept at most that many times, so a model fine-tuned on the records does
    not learn one edit over and over."""
    if filter_name not in FILTERS:
        raise ExportError(f"unknown filter {filter_name!r}; use one of {', '.join(FILTERS)}")
    if max_repeats is not None and max_repeats < 1:
        raise ExportError(f"--max-repeats {max_repeats}: must be at least 1 (leave it out for no cap)")
    if messages not in MESSAGES:
        raise ExportError(f"--messages {messages!r}: use one of {', '.join(MESSAGES)}")
    seen: set[tuple[str, str, str, str]] = set()
    changes: dict[str, int] = {}
    records: list[DiffRecord] = []
    counts: dict[str, dict[str, int]] = {}
    for run_dir in run_dirs:
        store = open_run(run_dir)
        try:
            matched = duplicates = repeats = moves = 0
            words = move_words(store, Path(run_dir)) if messages == "moves" else None
            for child, parent in store.children_with_parents(
                    f"{FILTERS[filter_name]} AND c.program IS NOT NULL"):
                matched += 1
                file_name = _file_name(child.diff)
                hunks = diff_hunks(parent, child.program or "", file_name, context)
                if not hunks.strip():
                    continue
                message = child.message or ""
                if words is not None and child.descriptors is not None:
                    from elmcore import describe_move

                    parent_record = store.get(int(child.parent_id or 0))
                    if parent_record is not None and parent_record.descriptors is not None:
                        move = describe_move(words[0], words[1], parent_record.descriptors, child.descriptors)
                        if move is not None:
                            message, moves = move, moves + 1
                record = DiffRecord(
                    file_name=file_name, parent=parent, message=message, diff=hunks,
                    prompt=diff_prompt(file_name, parent, message), completion=diff_completion(hunks),
                    run=str(run_dir), candidate_id=child.id, parent_id=int(child.parent_id or 0),
                    operator=child.operator, outcome=child.outcome, entered=child.entered, fitness=child.fitness)
                if record.key() in seen:
                    duplicates += 1
                    continue
                seen.add(record.key())
                change = change_of(hunks)
                if max_repeats is not None and changes.get(change, 0) >= max_repeats:
                    repeats += 1
                    continue
                changes[change] = changes.get(change, 0) + 1
                records.append(record)
        finally:
            store.close()
        counts[str(run_dir)] = {"matched": matched, "duplicates": duplicates, "repeats": repeats}
        if messages == "moves":
            counts[str(run_dir)]["moves"] = moves
    return records, counts


def split(records: Iterable[DiffRecord], holdout: float) -> tuple[list[dict], list[dict]]:
    """(train, test) rows, the test side chosen by parent."""
    train: list[dict] = []
    test: list[dict] = []
    for record in records:
        (test if held_out(record.parent, holdout) else train).append(asdict(record))
    return train, test
