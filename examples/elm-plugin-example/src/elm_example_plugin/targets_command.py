"""The ``elm curve-targets`` command."""

from __future__ import annotations

import typer

from elm_example_plugin.samples import SAMPLE_COUNT, X_HIGH, X_LOW
from elm_example_plugin.targets import TARGETS


def curve_targets(values: bool = typer.Option(False, help="also print the target at every sample point")) -> None:
    """Print each target's name and formula (and, with --values, its samples)."""
    typer.echo(f"sampled at {SAMPLE_COUNT} points in [{X_LOW:g}, {X_HIGH:g}]")
    for target in TARGETS.values():
        typer.echo(f"{target.name}: {target.formula}")
        if values:
            typer.echo("    " + " ".join(f"{y:.4g}" for y in target.values()))
