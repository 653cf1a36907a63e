from walk_creator import walker_creator


def make_square(wc, x0, y0, x1, y1):
    """Add the four corners of the square spanned by (x0, y0) and (x1, y1)."""
    j0 = wc.add_joint(x0, y0)
    j1 = wc.add_joint(x0, y1)
    j2 = wc.add_joint(x1, y1)
    j3 = wc.add_joint(x1, y0)
    return j0, j1, j2, j3


def make_walker():
    wc = walker_creator()

    # the body is a 10 x 10 square with a joint in its middle
    corners = make_square(wc, 0, 0, 10, 10)
    center = wc.add_joint(5, 5)

    # the sides are passive springs
    for k in range(len(corners) - 1):
        wc.add_muscle(corners[k], corners[k + 1])
    wc.add_muscle(corners[3], corners[0])

    # one prong to the middle is passive
    wc.add_muscle(corners[3], center)

    # the other three prongs are active muscles
    wc.add_muscle(corners[0], center, False, 5.0, 0.0)
    wc.add_muscle(corners[1], center, False, 10.0, 0.0)
    wc.add_muscle(corners[2], center, False, 2.0, 0.0)

    return wc.get_walker()
