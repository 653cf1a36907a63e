import math

from walk_creator import walker_creator


def make_circle(wc, cx, cy, radius, num_points):
    """Add num_points joints evenly spaced on a circle around (cx, cy)."""
    joints = []
    for k in range(num_points):
        angle = 2.0 * math.pi * k / num_points
        joints.append(wc.add_joint(cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return joints


def make_walker():
    wc = walker_creator()

    num_points = 12
    radius = 6.0
    rim = make_circle(wc, 6.0, 6.0, radius, num_points)
    hub = wc.add_joint(6.0, 6.0)

    for k in range(num_points):
        angle = 2.0 * math.pi * k / num_points
        # the rim stretches and shrinks in a wave that travels once around the wheel
        wc.add_muscle(rim[k], rim[(k + 1) % num_points], False, 0.9, angle)
        # the spokes pulse in a wave that travels around twice as fast, so the wheel rolls
        wc.add_muscle(rim[k], hub, False, 1.5, 2.0 * angle)

    return wc.get_walker()
