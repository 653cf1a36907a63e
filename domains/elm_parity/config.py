"""Config models of the parity and quadratic domains (the ``domain`` section of a run config)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, ValidationInfo, field_validator

from elmcore import PluginConfig
from elm_seeds import SeedError, load_seed

DEFAULT_BUGS = 1


class BuggySeedConfig(PluginConfig):
    """Which program a run starts from: the task's seed with ``bugs`` bugs, or ``seed_program``."""

    seed_dir: ClassVar[str]
    function_name: ClassVar[str]
    max_bugs: ClassVar[int]

    bugs: int | None = Field(
        None, description=f"number of bugs in the seed program, 0 = correct (default {DEFAULT_BUGS})")
    seed_program: str | None = Field(
        None, description="a seed name under seeds/<domain>/ or a path to a .py file, instead of `bugs`")

    @field_validator("bugs")
    @classmethod
    def _bugs_in_range(cls, bugs: int | None) -> int | None:
        if bugs is not None and not 0 <= bugs <= cls.max_bugs:
            raise ValueError(f"bugs must be between 0 and {cls.max_bugs} for {cls.seed_dir!r}")
        return bugs

    @field_validator("seed_program")
    @classmethod
    def _seed_is_usable(cls, seed_program: str | None, info: ValidationInfo) -> str | None:
        if seed_program is None:
            return None
        if info.data.get("bugs") is not None:
            raise ValueError("give either bugs or seed_program, not both")
        if (info.context or {}).get("worker"):  # checked by the engine; workers never read the seed
            return seed_program
        try:
            load_seed(cls.seed_dir, seed_program, cls.function_name)
        except SeedError as exc:
            raise ValueError(str(exc)) from None
        return seed_program

    def seed_name(self) -> str:
        """The seed file the run starts from (a name or a path)."""
        if self.seed_program is not None:
            return self.seed_program
        bugs = DEFAULT_BUGS if self.bugs is None else self.bugs
        return f"{self.seed_dir}_correct" if bugs == 0 else f"{self.seed_dir}_bugs_{bugs}"


class ParityConfig(BuggySeedConfig):
    seed_dir: ClassVar[str] = "parity"
    function_name: ClassVar[str] = "parity"
    max_bugs: ClassVar[int] = 5


class QuadraticConfig(BuggySeedConfig):
    seed_dir: ClassVar[str] = "quadratic"
    function_name: ClassVar[str] = "quadratic"
    max_bugs: ClassVar[int] = 2
