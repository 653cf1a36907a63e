"""Config models of the parity and quadratic domains (the ``domain`` section of a run config)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from elmcore import PluginConfig
from elm_parity.seed_loading import SeedError, load_seed


class BuggySeedConfig(PluginConfig):
    """Which program a run starts from: the task's seed with ``bugs`` bugs, or ``seed_program``."""

    seed_dir: ClassVar[str]
    function_name: ClassVar[str]
    max_bugs: ClassVar[int]

    bugs: int = Field(1, description="number of bugs in the seed program (0 = the correct program)")
    seed_program: str | None = Field(
        None, description="a seed name under seeds/<domain>/ or a path to a .py file; replaces `bugs`")

    @field_validator("bugs")
    @classmethod
    def _bugs_in_range(cls, bugs: int) -> int:
        if not 0 <= bugs <= cls.max_bugs:
            raise ValueError(f"bugs must be between 0 and {cls.max_bugs} for {cls.seed_dir!r}, got {bugs}")
        return bugs

    @field_validator("seed_program")
    @classmethod
    def _seed_is_usable(cls, seed_program: str | None) -> str | None:
        if seed_program is not None:
            try:
                load_seed(cls.seed_dir, seed_program, cls.function_name)
            except SeedError as exc:
                raise ValueError(str(exc)) from None
        return seed_program

    @model_validator(mode="after")
    def _one_seed_choice(self) -> "BuggySeedConfig":
        if self.seed_program is not None and "bugs" in self.model_fields_set:
            raise ValueError("give either bugs or seed_program, not both")
        return self

    def seed_name(self) -> str:
        """The seed file the run starts from (a name or a path)."""
        if self.seed_program is not None:
            return self.seed_program
        return f"{self.seed_dir}_correct" if self.bugs == 0 else f"{self.seed_dir}_bugs_{self.bugs}"


class ParityConfig(BuggySeedConfig):
    seed_dir: ClassVar[str] = "parity"
    function_name: ClassVar[str] = "parity"
    max_bugs: ClassVar[int] = 5


class QuadraticConfig(BuggySeedConfig):
    seed_dir: ClassVar[str] = "quadratic"
    function_name: ClassVar[str] = "quadratic"
    max_bugs: ClassVar[int] = 2
