"""No evaluation spent twice: finding children whose program the run has already evaluated.

Programs are compared after the domain's normalisation (``Domain.normalise``: by default
parsed and unparsed, so comments, blank lines and formatting do not count). Each program
sent for evaluation is recorded in the run store with the hash of its normalised text
(``program_hash``), so the set of programs a run has seen is rebuilt from the store cheaply
on resume. A child whose hash is already there is stored with outcome ``duplicate`` and
``duplicate_of`` (the id of the first candidate with that program), is not evaluated and
costs nothing of the budget; the engine asks the operator for a replacement.

A program counts as seen from the moment its batch is generated, not when it is evaluated:
with overlap, batch k+1 is generated while batch k is being evaluated, and it must not
repeat batch k's programs either. That is also what a resumed run rebuilds: every program
of every committed batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from elmcore.interfaces import Domain
from elmcore.types import Child, Outcome


def program_key(domain: Domain, program: str, normalised: str | None = None) -> str:
    """The hash under which ``program`` is compared: sha256 of the domain's normalised
    text. A normaliser that fails compares the program as it is. ``normalised``: the
    program's default normal form (``Child.normalised``: parsed and unparsed) when the
    operator already made it, used where the domain keeps the default normalisation."""
    try:
        if normalised is not None and type(domain).normalise is Domain.normalise:
            return _hash(normalised)
        text = domain.normalise(program)
        if not isinstance(text, str):
            text = program
    except Exception:  # a domain's normaliser must not stop the run; the raw text is a safe key
        text = program
    return _hash(text)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def evaluated(child: Child) -> bool:
    """Whether a child goes to evaluation: it has a program and no outcome yet."""
    return child.program is not None and child.outcome is None


@dataclass
class Proposals:
    """One batch as proposed: every child in order (replacements after the children they
    replace), the hash of each program sent for evaluation, and for a duplicate the id of
    the candidate it repeats. Candidate ids are ``first_id`` + position."""

    first_id: int
    children: list[Child] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)
    originals: list[int | None] = field(default_factory=list)

    @property
    def evaluations(self) -> int:
        """Children that count against the budget: all but the duplicates."""
        return sum(1 for c in self.children if c.outcome is not Outcome.DUPLICATE)

    @property
    def duplicates(self) -> int:
        return len(self.children) - self.evaluations

    def add(self, children: Iterable[Child], seen: dict[str, int], domain: Domain, reject: bool) -> list[Child]:
        """Append ``children``; each program not seen before is recorded in ``seen`` (hash ->
        candidate id). With ``reject``, a child repeating a seen program becomes a duplicate;
        those are returned, in order, for the operators to replace."""
        repeated = []
        for child in children:
            cid = self.first_id + len(self.children)
            key = original = None
            if evaluated(child):
                key = program_key(domain, child.program or "", child.normalised)
                original = seen.get(key)
                if original is None:
                    seen[key] = cid
                elif reject:
                    child.outcome = Outcome.DUPLICATE
                    child.reason = f"the same program as candidate {original}, already evaluated"
                    repeated.append(child)
                else:
                    original = None  # kept and evaluated again; its hash still says which it repeats
            self.children.append(child)
            self.keys.append(key)
            self.originals.append(original)
        return repeated
