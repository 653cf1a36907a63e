"""Components for a whole run fed with hostile programs: the parity domain with a 1 s
timeout, and a mutator that ignores its parents and replays programs from a JSON file."""

from __future__ import annotations

import json

from elmcore import Child, Mutator, PluginConfig, hookimpl
from hostile_domains import QuickParity


class ReplayMutator(Mutator):
    """Child k of the run is program k (cyclically) of ``programs_file``."""

    name = "replay"

    class Config(PluginConfig):
        programs_file: str

    def __init__(self, config, context=None) -> None:
        super().__init__(config, context=context)
        with open(self.config.programs_file, encoding="utf-8") as fh:
            self.programs: list[str] = json.load(fh)
        self.next = 0

    def mutate(self, parents, rng):
        children = []
        for parent in parents:
            children.append(Child(self.programs[self.next % len(self.programs)], parent.id, self.name,
                                  message=f"hostile program {self.next % len(self.programs)}"))
            self.next += 1
        return children


class HostileRunPlugin:
    @hookimpl
    def elm_register_domains(self, register):
        register(QuickParity)

    @hookimpl
    def elm_register_mutators(self, register):
        register(ReplayMutator)
