import math

from walk_creator import walker_creator


def query_cppn(wc, x_count, y_count, spacing, connect_func, amp_func, phase_func):
    """Lay out a grid of joints centred on x = 0 and connect pairs with muscles."""
    joints = []
    for col in range(x_count):
        for row in range(y_count):
            x = (col - (x_count - 1) / 2) * spacing
            y = row * spacing
            joints.append((wc.add_joint(x, y), x, y))

    for a in range(len(joints)):
        for b in range(a + 1, len(joints)):
            ja, x1, y1 = joints[a]
            jb, x2, y2 = joints[b]
            if connect_func(x1, y1, x2, y2):
                amplitude = amp_func(x1, y1, x2, y2)
                phase = phase_func(x1, y1, x2, y2)
                wc.add_muscle(ja, jb, False, amplitude, phase)
    return joints


def connect(x1, y1, x2, y2):
    """Connect joints that are neighbours on the grid, diagonals included."""
    return (x1 - x2) ** 2 + (y1 - y2) ** 2 <= 4.5


def amp(x1, y1, x2, y2):
    """Muscle amplitude: the Chebyshev distance between the two joints."""
    return max(abs(x1 - x2), abs(y1 - y2))


def phase(x1, y1, x2, y2):
    """Muscle phase: the sign of the first joint's x (left half against right half)."""
    if x1 > 0:
        return 1.0
    if x1 < 0:
        return -1.0
    return 0.0


def make_walker():
    wc = walker_creator()
    # an 8 x 3 grid of joints 1.5 apart, connected and driven by the functions above
    query_cppn(wc, 8, 3, 1.5, connect, amp, phase)
    return wc.get_walker()
