"""Where a program's f(x) is sampled: shared by the sandbox harness and the trusted domain."""

from __future__ import annotations

SAMPLE_COUNT = 33
X_LOW = -4.0
X_HIGH = 4.0
SAMPLE_XS: tuple[float, ...] = tuple(X_LOW + (X_HIGH - X_LOW) * i / (SAMPLE_COUNT - 1) for i in range(SAMPLE_COUNT))
