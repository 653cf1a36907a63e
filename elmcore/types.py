"""Plain data types that cross the interfaces between engine, mutators, domains and QD.

Everything here is picklable plain data (strings, numbers, tuples): no live simulator
objects, no model handles. That is what lets a run be stored, resumed and shipped
between processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """What became of one candidate, from mutation through evaluation.

    The classes are ordered by how far the candidate got:
    ``NO_EDIT`` (the mutator produced nothing usable, e.g. a malformed LLM reply),
    ``EDIT_FAILED`` (an edit was produced but does not apply, or the child does not parse),
    ``DUPLICATE`` (the program is one the run has already evaluated, after the domain's
    normalisation: it is not evaluated again and costs no evaluation of the budget),
    ``NOT_RUNNABLE`` (the program raised, timed out, crashed or returned garbage in the sandbox),
    ``INVALID`` (it ran, but the phenotype breaks the domain's rules),
    ``VALID`` (evaluated: it has a fitness and behaviour descriptors).
    """

    NO_EDIT = "no_edit"
    EDIT_FAILED = "edit_failed"
    DUPLICATE = "duplicate"
    NOT_RUNNABLE = "not_runnable"
    INVALID = "invalid"
    VALID = "valid"


class InsertStatus(StrEnum):
    """Result of offering one candidate to an archive, judged against the archive as it
    was before the batch (pyribs semantics). Whether it is stored is ``InsertResult.added``."""

    NEW = "new"  # its niche was empty
    IMPROVED = "improved"  # it beats the niche's elite
    NOT_ADDED = "not_added"


@dataclass(frozen=True)
class Dimension:
    """One axis of a behaviour space: values outside [low, high] go to the edge bins."""

    name: str
    low: float
    high: float
    bins: int
    description: str = ""
    more: str = ""  # the word for a move up this dimension ("taller"); empty: the dimension has none
    less: str = ""  # the word for a move down ("shorter")

    def __post_init__(self) -> None:
        if not self.high > self.low:
            raise ValueError(f"dimension {self.name!r}: high ({self.high}) must exceed low ({self.low})")
        if self.bins < 1:
            raise ValueError(f"dimension {self.name!r}: bins must be at least 1, got {self.bins}")


@dataclass(frozen=True)
class Aim:
    """Where a child of a parent is asked to go: a point of the behaviour space (``target``,
    an empty or weak niche near the parent, proposed by the QD algorithm) and the move from
    the parent's descriptors to it in the domain's words (``message``, e.g. "Make the
    walker taller and lighter."). A mutator turns it into its own prompt."""

    target: tuple[float, ...]
    start: tuple[float, ...]
    message: str


@dataclass(frozen=True)
class Parent:
    """A program chosen by the QD algorithm to be mutated; ``aim`` when the mutator asked for
    directed children (``Mutator.directed``)."""

    id: int | None  # candidate id in the run store; None for a seed not yet stored
    program: str
    fitness: float | None = None
    aim: Aim | None = None


@dataclass
class Child:
    """What a mutator returns for one parent.

    ``program`` is None when the mutator could not produce a child; then ``outcome``
    (NO_EDIT or EDIT_FAILED) and ``reason`` say why. The remaining fields keep what the
    operator saw and said, for the run store and for fine-tuning later.
    """

    program: str | None
    parent_id: int | None
    operator: str
    message: str | None = None
    prompt: str | None = None
    completion: str | None = None
    diff: str | None = None
    outcome: Outcome | None = None
    reason: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # ``ast.unparse(ast.parse(program))`` when the operator already has it (GP parses every
    # child to check it): finding duplicates then need not parse the program again. Not stored.
    normalised: str | None = field(default=None, repr=False, compare=False)


@dataclass
class Evaluation:
    """The trusted verdict on one program: outcome class, and for VALID ones a fitness
    and a behaviour descriptor (one float per dimension of the domain's space)."""

    outcome: Outcome
    fitness: float | None = None
    descriptors: tuple[float, ...] | None = None
    reason: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @classmethod
    def failed(cls, outcome: Outcome, reason: str, **extras: Any) -> "Evaluation":
        return cls(outcome=outcome, reason=reason, extras=dict(extras))

    @classmethod
    def valid(cls, fitness: float, descriptors: tuple[float, ...] | list[float], **extras: Any) -> "Evaluation":
        return cls(outcome=Outcome.VALID, fitness=float(fitness),
                   descriptors=tuple(float(d) for d in descriptors), extras=dict(extras))


@dataclass(frozen=True)
class InsertResult:
    status: InsertStatus
    niche: int  # flat index of the niche (grid cell or CVT centroid)
    added: bool  # whether the candidate is now the niche's elite


@dataclass(frozen=True)
class Elite:
    candidate_id: int
    program: str
    fitness: float
    descriptors: tuple[float, ...]
    niche: int


@dataclass(frozen=True)
class ArchiveStats:
    niches: int  # how many niches exist
    filled: int
    qd_score: float  # sum over filled niches of (fitness - offset)
    max_fitness: float | None
    mean_fitness: float | None

    @property
    def coverage(self) -> float:
        return self.filled / self.niches if self.niches else 0.0


@dataclass(frozen=True)
class OperatorBatchStats:
    """One operator of a portfolio in one batch: its children (duplicates apart), how many
    entered the archive, its duplicates, its share of the batch and the share it gets next."""

    children: int = 0
    entered: int = 0
    duplicates: int = 0
    share: float = 0.0
    next_share: float = 0.0


@dataclass(frozen=True)
class IslandBatchStats:
    filled: int
    qd_score: float


@dataclass(frozen=True)
class BatchStats:
    """A search run's statistics after one committed batch: what the engine stores with the
    batch, ``elm status`` and ``elm report`` show, and ``elm_batch_committed`` hooks receive.

    ``evals`` counts evaluations so far (duplicates cost none); ``filled`` of ``niches``
    (``niches`` is None in stores written before it was recorded); ``qd_score`` and
    ``max_fitness`` are the archive's after the batch; ``duplicates`` are this batch's
    proposals that repeated an evaluated program. ``operators`` is set in portfolio runs,
    ``islands`` (and ``migrated`` on migration batches) in island runs."""

    evals: int
    filled: int | None = None
    niches: int | None = None
    qd_score: float | None = None
    max_fitness: float | None = None
    duplicates: int = 0
    operators: dict[str, OperatorBatchStats] = field(default_factory=dict)
    islands: tuple[IslandBatchStats, ...] = ()
    migrated: int | None = None

    @property
    def coverage(self) -> float | None:
        return self.filled / self.niches if self.niches and self.filled is not None else None

    def to_json(self) -> dict[str, Any]:
        """The stored form: plain JSON, the optional parts only where they are set."""
        out: dict[str, Any] = {"evals": self.evals, "filled": self.filled, "niches": self.niches,
                               "qd_score": self.qd_score, "max_fitness": self.max_fitness,
                               "duplicates": self.duplicates}
        if self.operators:
            out["operators"] = {label: dict(vars(o)) for label, o in self.operators.items()}
        if self.islands:
            out["islands"] = [dict(vars(i)) for i in self.islands]
        if self.migrated is not None:
            out["migrated"] = self.migrated
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any], evals: int) -> "BatchStats":
        """Read a stored batch's stats; ``evals`` stands in where the store predates the key
        (candidates committed by the end of the batch). Raises ValueError on a wrong shape."""

        def number(key: str, kind: type) -> Any:
            value = data.get(key)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{key} is {str(value)[:40]!r}, not a number")
            return kind(value)

        def mapping(value: Any, what: str) -> dict[str, Any]:
            if not isinstance(value, dict):
                raise ValueError(f"{what} is not a mapping")
            return value

        operators = {str(label): OperatorBatchStats(**{k: v for k, v in mapping(o, f"operator {label}").items()
                                                       if k in OperatorBatchStats.__dataclass_fields__})
                     for label, o in mapping(data.get("operators") or {}, "operators").items()}
        islands = data.get("islands") or []
        if not isinstance(islands, list):
            raise ValueError("islands is not a list")
        return cls(evals=number("evals", int) if data.get("evals") is not None else int(evals),
                   filled=number("filled", int), niches=number("niches", int), qd_score=number("qd_score", float),
                   max_fitness=number("max_fitness", float), duplicates=number("duplicates", int) or 0,
                   operators=operators,
                   islands=tuple(IslandBatchStats(filled=int(mapping(i, "an island")["filled"]),
                                                  qd_score=float(i["qd_score"])) for i in islands),
                   migrated=number("migrated", int))


@dataclass(frozen=True)
class SandboxSpec:
    """How a domain's programs run inside the sandbox.

    ``harness`` is "module:function" of trusted code imported in the sandbox worker;
    after the untrusted program has been executed into a fresh namespace dict, the
    harness is called as ``harness(namespace)`` and must return JSON-serialisable data.
    Its output is untrusted (the program may have tampered with the process) and is
    validated by the domain before use. ``modules`` maps importable names the program may
    use (e.g. "walk_creator") to the real module that provides them.
    """

    harness: str
    modules: dict[str, str] = field(default_factory=dict)
    preload: tuple[str, ...] = ()
    timeout_s: float = 5.0
    memory_mb: int = 512
    max_output_bytes: int = 4_000_000


@dataclass(frozen=True)
class MutationContext:
    """What a domain tells mutators about its programs (used to build LLM prompts)."""

    file_name: str  # e.g. "parity.py"
    function_name: str  # the function a program must define, e.g. "parity"
    commit_messages: tuple[tuple[str, float], ...] = (("Changed the function.", 1.0),)
    instruction: str = "Improve the function."
    description: str = ""
    subject: str = "program"  # what a program makes, for messages about its behaviour ("walker")
