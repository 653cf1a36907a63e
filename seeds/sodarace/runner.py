import math

from walk_creator import walker_creator, query_cppn


def connect(x1, y1, x2, y2):
    """Neighbours on the grid, diagonals included."""
    return math.hypot(x1 - x2, y1 - y2) <= 2.0 * math.sqrt(2.0) + 1e-9


def amp(x1, y1, x2, y2):
    """Longer springs swing further."""
    return 0.25 * math.hypot(x1 - x2, y1 - y2)


def phase(x1, y1, x2, y2):
    """A wave that runs from the front of the body to the back."""
    return 0.9 * (x1 + x2) / 2.0 + (1.5 if y1 != y2 else 0.0)


def make_walker():
    wc = walker_creator()
    query_cppn(wc, 6, 2, 2.0, connect, amp, phase)
    return wc.get_walker()
