def parity(b1, b2, b3, b4):
    """Return the binary parity of the four input bits: 0 if an even number are set, 1 if odd."""
    bit_sum = sum([c1, c2, c3, c4])
    return bit_sum % 2
