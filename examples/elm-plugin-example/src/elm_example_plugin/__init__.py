"""Example elm plugin: evolve f(x) to fit a target curve (domain "curve"), with a mutator
that nudges numeric literals and arithmetic operators (mutator "nudge")."""

__version__ = "0.1.0"
