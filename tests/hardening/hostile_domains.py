"""The real parity and Sodarace domains with a 1 s sandbox timeout, so the hostile loops of
the battery end sooner (everything else about how programs run is unchanged). Importable
by spawned workers: pytest puts this folder on sys.path."""

from __future__ import annotations

import dataclasses

from elmcore import SandboxSpec
from elm_parity.domain import ParityDomain
from elm_sodarace.domain import SodaraceDomain

QUICK_TIMEOUT_S = 1.0


class QuickParity(ParityDomain):
    name = "parity-quick"

    def sandbox_spec(self) -> SandboxSpec:
        return dataclasses.replace(super().sandbox_spec(), timeout_s=QUICK_TIMEOUT_S)


class QuickSodarace(SodaraceDomain):
    name = "sodarace-quick"

    def sandbox_spec(self) -> SandboxSpec:
        return dataclasses.replace(super().sandbox_spec(), timeout_s=QUICK_TIMEOUT_S)


QUICK_SODARACE_CONFIG = {"physics": {"duration_s": 3.0}}
