"""Test-wide settings. BLAS runs on one thread: the numpy models are small, threads only add
contention on a busy machine, and one thread keeps floating-point sums in one order."""

import os

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")
