"""The paper's success rates on 4-Parity and Quadratic (Figures 1 and 2), for comparison.

Values are read off log-scale plots (about +-2 %); a rate of 0 at 5 bugs means "0 of 100,000".
Both GP operators (``gp``, ``gp-tree``) are compared with the paper's tree GP.
"""

from __future__ import annotations

from elmcore import mutator_of

PAPER_OPERATORS = {"gp": "GP", "gp-tree": "GP", "diff": "diff 300M", "prompt": "prompt (code-davinci)",
                   "edit": "edit (davinci)"}

PAPER_SUCCESS_PCT: dict[tuple[str, str], tuple[float, ...]] = {
    ("parity", "GP"): (0.43, 0.066, 0.015, 0.004, 0.0),
    ("parity", "diff 300M"): (8.7, 15.3, 12.3, 28.0, 0.74),
    ("parity", "prompt (code-davinci)"): (45.0, 45.0, 46.0, 44.0, 41.5),
    ("parity", "edit (davinci)"): (76.0, 82.0, 80.0, 78.0, 24.0),
    ("quadratic", "GP"): (0.86, 0.05),
    ("quadratic", "diff 300M"): (8.0, 10.6),
    ("quadratic", "prompt (code-davinci)"): (29.0, 33.0),
    ("quadratic", "edit (davinci)"): (34.0, 37.0),
}


def paper_success_pct(domain: str, operator: str, bugs: int | None) -> float | None:
    """The paper's % for this domain, operator (a mutator name or NAME:TAG label) and bug
    count, or None when it reports none."""
    values = PAPER_SUCCESS_PCT.get((domain, PAPER_OPERATORS.get(mutator_of(operator), "")))
    if values is None or bugs is None or not 1 <= bugs <= len(values):
        return None
    return values[bugs - 1]
