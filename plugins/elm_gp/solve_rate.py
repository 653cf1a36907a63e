"""How often ONE mutation of a domain's seed fully solves the task (the paper's Figure 1 metric).

Works for any registered domain with ``is_solution`` and any mutator; children run in the
sandbox, and identical children are evaluated once.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import typer

from elmcore import Domain, Evaluation, Mutator, Outcome, Parent
from elmcore.config import ConfigError, build_config
from elmcore.engine import build_components
from elmcore.evaluation import evaluate_programs
from elmcore.plugins import PluginError, get_plugin_manager


@dataclass(frozen=True)
class SolveRate:
    trials: int
    solved: int
    outcomes: dict[str, int]  # outcome class of every child, edit failures included
    distinct_children: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.solved / self.trials if self.trials else 0.0

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """Wilson score interval of the rate (95 % by default)."""
        if not self.trials:
            return 0.0, 1.0
        n, p = self.trials, self.rate
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)


def measure_solve_rate(domain: Domain, mutator: Mutator, parent: str, trials: int,
                       rng: np.random.Generator, batch_size: int = 500) -> SolveRate:
    """Mutate ``parent`` ``trials`` times (one mutation each) and count children that solve."""
    started = time.perf_counter()
    verdicts: dict[str, Evaluation] = {}
    outcomes: Counter[str] = Counter()
    solved = 0
    done = 0
    while done < trials:
        count = min(batch_size, trials - done)
        children = mutator.mutate([Parent(id=None, program=parent)] * count, rng)
        new = list(dict.fromkeys(c.program for c in children if c.program is not None and c.program not in verdicts))
        verdicts.update(zip(new, evaluate_programs(domain, new)))
        for child in children:
            if child.program is None:
                outcomes[(child.outcome or Outcome.NO_EDIT).value] += 1
                continue
            verdict = verdicts[child.program]
            outcomes[verdict.outcome.value] += 1
            solved += domain.is_solution(verdict)
        done += count
    return SolveRate(trials=trials, solved=solved, outcomes=dict(outcomes), distinct_children=len(verdicts),
                     seconds=time.perf_counter() - started)


def solve_rate_command(
    domain: Annotated[str, typer.Option(help="domain plugin, e.g. parity, quadratic")] = "parity",
    mutator: Annotated[str, typer.Option(help="mutation operator, e.g. gp")] = "gp",
    trials: Annotated[int, typer.Option(help="number of single mutations of the seed")] = 5000,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override: SECTION.KEY=VALUE, "
                                                   "e.g. domain.bugs=2 or mutator.rate=0.2")] = None,
) -> None:
    """Success rate of single mutations of a domain's seed (% that fully solve the task)."""
    if trials < 1:
        typer.echo("elm: error: --trials must be at least 1", err=True)
        raise typer.Exit(2)
    pm = get_plugin_manager()
    try:
        resolved = build_config(pm, shortcuts={"domain.name": domain, "mutator.name": mutator},
                                overrides=list(set_ or []))
        the_domain, the_mutator, _ = build_components(resolved, pm)
    except (ConfigError, PluginError) as exc:
        typer.echo(f"elm: error: {exc}", err=True)
        raise typer.Exit(2) from None
    result = measure_solve_rate(the_domain, the_mutator, the_domain.seed_programs()[0], trials,
                                np.random.default_rng(seed))
    the_mutator.close()
    low, high = result.interval()
    options = {k: v for k, v in resolved["domain"].items() if k != "name" and v is not None}
    typer.echo(f"domain {domain} {options} | mutator {mutator} | seed {seed}")
    typer.echo(f"solved {result.solved} of {result.trials} = {100 * result.rate:.3f} % "
               f"(95 % interval {100 * low:.3f}-{100 * high:.3f} %)")
    typer.echo(f"outcomes {dict(sorted(result.outcomes.items()))} | distinct children "
               f"{result.distinct_children} | {result.seconds:.1f} s")
