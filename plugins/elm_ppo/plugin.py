"""elm plugin entry point: registers the ``ppo`` conditional learner."""

from __future__ import annotations

from collections.abc import Callable

from elmcore import hookimpl


@hookimpl
def elm_register_learners(register: Callable[[type], None]) -> None:
    from elm_ppo.ppo import PPOLearner

    register(PPOLearner)
