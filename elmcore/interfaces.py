"""The four kinds of component a plugin can add, as abstract base classes.

Every component is a class with a unique ``name``, a one-line ``description`` and a
pydantic ``Config`` model (unknown keys are rejected). The engine builds components from
the resolved run config and talks to them only through these methods, in batches.
"""

from __future__ import annotations

import ast
from elmcore.parsing import parse as parse_source
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from elmcore.types import (
    ArchiveStats,
    Child,
    Dimension,
    Elite,
    Evaluation,
    InsertResult,
    MutationContext,
    Parent,
    SandboxSpec,
)


class PluginConfig(BaseModel):
    """Base of every component's config: a misspelt key is an error, not ignored.

    ``stored_defaults`` is for keys added after runs were made: for each, the value a run
    stored without it had in effect. A resumed run whose stored config lacks the key gets
    that value, not the new default, so it goes on as it began."""

    model_config = ConfigDict(extra="forbid")
    stored_defaults: ClassVar[dict[str, Any]] = {}


class Component(ABC):
    name: ClassVar[str]
    description: ClassVar[str] = ""
    Config: ClassVar[type[PluginConfig]] = PluginConfig
    default: ClassVar[bool] = False
    """The component of its kind used when a config names none (one per kind)."""
    cli_options: ClassVar[tuple[str, ...]] = ()
    """Keys of ``Config`` offered as command-line options: ``("terrain",)`` gives ``elm run``
    (``elm learn`` for a learner) an option ``--terrain`` for ``domain.terrain``, with the
    field's description as its help."""

    def __init__(self, config: PluginConfig | None = None) -> None:
        self.config = config if config is not None else self.Config()


class Domain(Component):
    """A problem: seed programs, how they run in the sandbox, how their output is judged.

    Split of trust: ``sandbox_spec().harness`` runs next to the untrusted program and
    returns plain data; ``evaluate`` runs in a trusted worker and turns that data into an
    ``Evaluation``. ``evaluate`` must treat its input as hostile (validate types, sizes,
    finiteness) and never raise on bad data: return an INVALID evaluation with a reason.
    """

    @abstractmethod
    def seed_programs(self) -> list[str]:
        """Source text of the program(s) a run starts from."""

    def seed_advice(self) -> str:
        """What a user can do when no seed program is valid, in the domain's own words (the
        engine's error ends with it): e.g. "fix the seed or pick another with --seed-program"."""
        return "fix the domain's seed programs"

    @abstractmethod
    def behaviour_space(self) -> list[Dimension]:
        """The default behaviour space (the QD algorithm may override bins and ranges)."""

    @abstractmethod
    def sandbox_spec(self) -> SandboxSpec:
        """How to run a program of this domain in the sandbox."""

    @abstractmethod
    def evaluate(self, output: Any, program: str) -> Evaluation:
        """Judge the harness output of one program (untrusted plain data).

        ``program`` is the source text, for descriptors computed from the code itself
        (``ast.parse`` is safe in the trusted process; executing the text is not).
        """

    def animate(self, program: str) -> tuple[str, bytes] | None:
        """A picture of the program at work for reports, as (MIME type, file bytes), e.g. a GIF;
        None when the domain has none. The program may run only through the sandbox."""
        return None

    def normalise(self, program: str) -> str:
        """The form in which two programs are compared to find one the run has already
        evaluated: by default the program parsed and unparsed (comments, blank lines and
        formatting do not count; a changed constant does). A program that does not parse is
        compared as it is. Runs in the engine process: it must not execute the program."""
        try:
            return ast.unparse(parse_source(program))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return program

    def mutation_context(self) -> MutationContext:
        """What LLM mutators need to build prompts for this domain."""
        return MutationContext(file_name="program.py", function_name="main")

    def is_solution(self, evaluation: Evaluation) -> bool:
        """Whether an evaluated program fully solves the task (used when comparing mutators)."""
        return False

    # -- conditions: environments a program can be evaluated under ------------------------------
    condition_word: str = "condition"
    """What the domain calls a condition, singular (Sodarace: "terrain"): ``elm learn`` then
    also takes ``--{condition_word}s`` for ``--conditions``."""

    def conditions(self) -> list[str]:
        """Names of the conditions this domain can evaluate programs under; empty when it has none."""
        return []

    def condition_options(self, condition: str) -> dict[str, Any]:
        """The domain config options that evaluate programs under ``condition``."""
        raise ValueError(f"domain {self.name!r} has no conditions")

    def draw_condition(self, condition: str, size: int = 64) -> np.ndarray:
        """A picture of ``condition``: a (size, size) float array in [0, 1], 1 where something
        solid is (what a vision terrain embedding network sees)."""
        raise ValueError(f"domain {self.name!r} cannot draw its conditions")


class Mutator(Component):
    """A mutation operator: one child per parent, in the parents' order.

    A mutator never raises for one bad child: it returns a ``Child`` with ``program=None``
    and outcome NO_EDIT or EDIT_FAILED and a reason. Randomness comes only from ``rng``.

    A mutator with ``invents = True`` writes programs without a parent (a language model
    sampling from nothing, draws from a dataset): the engine then calls ``invent`` for
    every batch, evaluates no seed program and starts from an empty archive.
    """

    invents: ClassVar[bool] = False
    directed: bool = False
    """Whether the mutator wants each parent with an ``aim`` (``Parent.aim``: a target in the
    behaviour space proposed by the QD algorithm and the move to it in the domain's words)."""
    parents_per_child: ClassVar[int] = 1
    """Parents each child is made from: 2 for a crossover, which is handed two parents per
    child (``parents[2i]`` and ``parents[2i + 1]`` make child ``i``)."""

    def __init__(self, config: PluginConfig | None = None, context: MutationContext | None = None) -> None:
        super().__init__(config)
        self.context = context or MutationContext(file_name="program.py", function_name="main")

    def prepare(self) -> None:
        """Load what the mutator needs (a model, a connection) before a run starts, so a bad
        model path or missing key fails before anything is written. Raise ValueError with a
        one-line message the user can act on."""

    @abstractmethod
    def mutate(self, parents: Sequence[Parent], rng: np.random.Generator) -> list[Child]:
        """Return exactly ``len(parents) // parents_per_child`` children (one per parent for a
        mutation operator)."""

    def invent(self, n: int, rng: np.random.Generator) -> list[Child]:
        """Return exactly ``n`` children with no parent (``parent_id=None``); only mutators
        with ``invents = True`` implement it."""
        raise NotImplementedError(f"mutator {self.name!r} needs parents; it does not invent programs")

    def close(self) -> None:
        """Release models, connections or processes."""


class QDAlgorithm(Component):
    """A quality-diversity algorithm with its archive of elites.

    Insertion is by batch; the status of each candidate is judged against the archive as
    it was before the batch, and within a batch the best candidate per niche wins (ties go
    to the earlier candidate). Everything is deterministic given the insert order, so an
    archive can be rebuilt exactly from the run store.
    """

    def __init__(self, config: PluginConfig | None, space: Sequence[Dimension], seed: int = 0) -> None:
        super().__init__(config)
        self.seed = seed

    @property
    @abstractmethod
    def dimensions(self) -> list[Dimension]:
        """The behaviour space in use (after config overrides)."""

    @property
    @abstractmethod
    def num_niches(self) -> int: ...

    @abstractmethod
    def niche_of(self, descriptors: Sequence[float]) -> int:
        """Flat niche index of a descriptor."""

    @abstractmethod
    def insert(self, ids: Sequence[int], programs: Sequence[str], fitness: Sequence[float],
               descriptors: Sequence[Sequence[float]]) -> list[InsertResult]: ...

    @abstractmethod
    def select(self, n: int, rng: np.random.Generator) -> list[Elite]:
        """Choose ``n`` parents (with replacement). Empty archive: empty list."""

    def target(self, parent: Elite, rng: np.random.Generator) -> tuple[float, ...] | None:
        """A point of the behaviour space worth aiming a child of ``parent`` at (an empty or
        weak niche near it), for directed mutators; None: this algorithm proposes none."""
        return None

    @abstractmethod
    def elites(self) -> list[Elite]: ...

    @abstractmethod
    def stats(self) -> ArchiveStats: ...


class ConditionalLearner(Component):
    """A learner that writes programs for a condition of a domain and learns from how they
    do under it (the first-party ``ppo``: PPO over a language model with a condition
    embedding network).

    The loop (``elmcore.learning``) owns the iterations: it draws the conditions, asks for
    one program per condition, evaluates each under its condition in the sandbox, records
    every sample, then hands the evaluations back to ``update``. Randomness comes only from
    the ``rng`` of each call (a function of the run's seed and the iteration), so a run
    resumed from its last saved state continues as an uninterrupted one would.
    """

    def __init__(self, config: PluginConfig | None, domain: Domain, conditions: Sequence[str]) -> None:
        super().__init__(config)
        self.domain = domain
        self.conditions = list(conditions)

    def prepare(self) -> None:
        """Load models before a run starts; raise ValueError with a one-line message."""

    @abstractmethod
    def sample(self, conditions: Sequence[str], rng: np.random.Generator) -> list[Child]:
        """One program per condition (a ``Child`` without a parent; ``meta`` holds what the
        store should keep, such as the KL to the reference model)."""

    @abstractmethod
    def update(self, evaluations: Sequence[Evaluation], rng: np.random.Generator) -> dict[str, float]:
        """Learn from the programs of the last ``sample`` call and their evaluations (same
        order; a program that could not be evaluated has a failed evaluation); returns
        training statistics."""

    def rewards(self, evaluations: Sequence[Evaluation]) -> list[float]:
        """The reward of each evaluation, as ``update`` uses it (for the records)."""
        return [e.fitness if e.fitness is not None else 0.0 for e in evaluations]

    @abstractmethod
    def save(self, path: Path) -> None:
        """Write everything needed to continue (weights, optimiser state) into directory ``path``."""

    @abstractmethod
    def load(self, path: Path) -> None:
        """Continue from what ``save`` wrote."""

    def close(self) -> None:
        """Release models."""
