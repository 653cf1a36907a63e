def f(x):
    a = 0.0
    b = 1.0
    c = 0.0
    return a * x * x + b * x + c
