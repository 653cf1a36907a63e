def quadratic(a, b, c, x):
    """Return the value of the quadratic a*x**2 + b*x + c at x, for coefficients a, b and c."""
    return a * x ** 2 + b * x + c
