"""Wilson's score interval: checked against the interval's defining equation."""

from __future__ import annotations

import math

import pytest

from elm_compare.stats import Z_95, wilson_interval


def roots_of_definition(successes: int, trials: int) -> tuple[float, float]:
    """The p with (p_hat - p)^2 = z^2 p (1 - p) / n, solved as a quadratic in p."""
    p_hat, z2 = successes / trials, Z_95 ** 2
    a, b, c = 1 + z2 / trials, -(2 * p_hat + z2 / trials), p_hat ** 2
    root = math.sqrt(b * b - 4 * a * c)
    return (-b - root) / (2 * a), (-b + root) / (2 * a)


@pytest.mark.parametrize("successes,trials", [(1, 2), (34, 3000), (431, 100_000), (5, 7), (99, 100)])
def test_matches_the_defining_equation(successes: int, trials: int) -> None:
    low, high = wilson_interval(successes, trials)
    expected = roots_of_definition(successes, trials)
    assert low == pytest.approx(expected[0], rel=1e-9) and high == pytest.approx(expected[1], rel=1e-9)
    assert low < successes / trials < high


def test_zero_and_all_successes() -> None:
    low, high = wilson_interval(0, 100_000)
    assert low == 0.0 and high == pytest.approx(Z_95 ** 2 / (100_000 + Z_95 ** 2), rel=1e-9)  # about 3.8e-5
    low, high = wilson_interval(10, 10)
    assert high == 1.0 and 0.69 < low < 0.73
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_more_trials_narrow_the_interval() -> None:
    small, large = wilson_interval(10, 1000), wilson_interval(100, 10_000)
    assert large[1] - large[0] < small[1] - small[0]


@pytest.mark.parametrize("successes,trials", [(-1, 10), (11, 10), (0, -1)])
def test_impossible_counts_are_rejected(successes: int, trials: int) -> None:
    with pytest.raises(ValueError, match="successes <= trials"):
        wilson_interval(successes, trials)
