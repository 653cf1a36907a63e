import math

from walk_creator import walker_creator


def make_segment(wc, x0, phase):
    """A 6-joint body segment two units wide: two feet, two hips, a belly and a back.
    The two legs are muscles swinging in opposition; the frame is passive."""
    left_foot = wc.add_joint(x0, 0.0)
    right_foot = wc.add_joint(x0 + 2.0, 0.0)
    belly = wc.add_joint(x0 + 1.0, 1.5)
    left_hip = wc.add_joint(x0, 3.0)
    right_hip = wc.add_joint(x0 + 2.0, 3.0)
    back = wc.add_joint(x0 + 1.0, 4.5)

    wc.add_muscle(left_hip, right_hip)
    wc.add_muscle(left_hip, back)
    wc.add_muscle(right_hip, back)
    wc.add_muscle(left_hip, belly)
    wc.add_muscle(right_hip, belly)

    wc.add_muscle(left_foot, left_hip, False, 0.9, phase)
    wc.add_muscle(right_foot, right_hip, False, 0.9, phase + math.pi)
    wc.add_muscle(left_foot, belly, False, 0.5, phase + math.pi)
    wc.add_muscle(right_foot, belly, False, 0.5, phase + 3 * math.pi / 2)
    return left_hip, right_hip, back, belly


def make_walker():
    wc = walker_creator()

    segments = []
    for k in range(5):
        segments.append(make_segment(wc, 3.0 * k, k * math.pi / 2))

    # tie each segment to the next with a passive spine
    for (l_hip, r_hip, back, belly), (nl_hip, nr_hip, n_back, n_belly) in zip(segments, segments[1:]):
        wc.add_muscle(r_hip, nl_hip)
        wc.add_muscle(back, n_back)
        wc.add_muscle(belly, n_belly)
        wc.add_muscle(r_hip, n_back)

    return wc.get_walker()
