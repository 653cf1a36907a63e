"""Children aimed at a place in the map: the move from a parent to a target in words.

A domain names its behaviour dimensions' directions (``Dimension.more``/``less``: Sodarace's
"taller"/"shorter", "wider"/"narrower", "heavier"/"lighter"); the QD algorithm proposes a
target for a parent (``QDAlgorithm.target``: an empty or weak niche near it); ``aim_for``
puts both into an ``Aim`` whose message a mutator uses as its prompt (the diff mutator: the
commit message). ``describe_move`` also describes a move that happened, from stored
descriptors (what a child did relative to its parent).
"""

from __future__ import annotations

from collections.abc import Sequence

from elmcore.types import Aim, Dimension

MIN_BINS = 0.5
"""A move shorter than this many bins of a dimension is not worth a word."""


class NoWords(ValueError):
    """The domain has no words for its dimensions: it cannot be asked for directed children."""


def check_words(dimensions: Sequence[Dimension], domain: str) -> None:
    """NoWords (one line) unless every dimension has words for both directions."""
    missing = [d.name for d in dimensions if not (d.more and d.less)]
    if missing or not dimensions:
        raise NoWords(f"domain {domain!r} has no words for its behaviour dimension(s) {', '.join(missing) or '-'} "
                      "(Dimension.more / less), so its children cannot be aimed at a place in the map; leave "
                      "mutator.direct off")


def describe_move(dimensions: Sequence[Dimension], subject: str, start: Sequence[float], end: Sequence[float],
                  min_bins: float = MIN_BINS) -> str | None:
    """"Make the walker taller and lighter." for a move from ``start`` to ``end``: the words of
    every dimension that moves at least ``min_bins`` of its bins, in the order of the space;
    None when nothing moves that far or a moving dimension has no words."""
    words = []
    for dim, a, b in zip(dimensions, start, end):
        width = (dim.high - dim.low) / dim.bins
        if abs(b - a) < min_bins * width:
            continue
        word = dim.more if b > a else dim.less
        if not word:
            return None
        words.append(word)
    if not words:
        return None
    listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return f"Make the {subject} {listed}."


def aim_for(dimensions: Sequence[Dimension], subject: str, start: Sequence[float],
            target: Sequence[float] | None) -> Aim | None:
    """The aim of a child from a parent at ``start`` towards ``target`` (None: no target, or a
    move too small to say)."""
    if target is None:
        return None
    message = describe_move(dimensions, subject, start, target)
    if message is None:
        return None
    return Aim(target=tuple(float(t) for t in target), start=tuple(float(s) for s in start), message=message)


def moved_towards(aim: Aim, end: Sequence[float], dimensions: Sequence[Dimension]) -> bool:
    """Whether a child that ended at ``end`` came closer to its aim's target than its parent
    was (distance in bins, so every dimension weighs alike): a hit."""
    def distance(point: Sequence[float]) -> float:
        return sum(((p - t) * d.bins / (d.high - d.low)) ** 2 for p, t, d in zip(point, aim.target, dimensions))

    return distance(end) < distance(aim.start)
