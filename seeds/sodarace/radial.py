import math

from walk_creator import walker_creator


def make_circle(wc, cx, cy, radius, num_points):
    """Add num_points joints evenly spaced on a circle around (cx, cy)."""
    joints = []
    for k in range(num_points):
        angle = 2.0 * math.pi * k / num_points
        x = cx + radius * math.cos(angle)
        y = cy + radius * math.sin(angle)
        joints.append(wc.add_joint(x, y))
    return joints


def make_walker():
    wc = walker_creator()

    num_points = 8
    radius = 5.0
    cx, cy = 5.0, 5.0
    ring = make_circle(wc, cx, cy, radius, num_points)
    center = wc.add_joint(cx, cy)

    for k in range(num_points):
        # the rim is passive
        wc.add_muscle(ring[k], ring[(k + 1) % num_points])
        # each spoke is a muscle whose amplitude and phase grow around the circle
        strength = k / num_points
        wc.add_muscle(ring[k], center, False, strength, strength)

    return wc.get_walker()
