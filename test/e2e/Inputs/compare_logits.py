"""Compares two .npy logit dumps: max |a - b| / max |b| must be <= TOL."""
import sys

import numpy as np

a, b, tol = np.load(sys.argv[1]), np.load(sys.argv[2]), float(sys.argv[3])
assert a.shape == b.shape, (a.shape, b.shape)
relative = float(np.abs(a - b).max() / np.abs(b).max())
print(f"relative difference {relative:.2e}")
assert relative <= tol, relative
