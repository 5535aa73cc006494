"""One BLAS thread while accelsim trains or measures, so results are the same on every machine.

OpenBLAS and MKL split a matrix product among as many threads as `OMP_NUM_THREADS` /
`OPENBLAS_NUM_THREADS` (or the core count) allow, and a different split can round differently:
measured accuracies then change with the machine. On a small machine the extra threads also
oversubscribe the cores (a 2-core run took 7x longer). `single_blas_thread()` limits every
BLAS and OpenMP pool loaded in the process to one thread for the duration of a `with` block or
a decorated call, whatever the environment says, and restores the pools afterwards.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

from threadpoolctl import ThreadpoolController


@functools.cache
def _controller() -> ThreadpoolController:
    # Finding the loaded thread pools walks the process's libraries: do it once. numpy (and
    # its BLAS) is loaded before any training, so the pools that matter are found.
    return ThreadpoolController()


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Context manager and decorator: BLAS and OpenMP pools at one thread inside it."""
    with _controller().limit(limits=1):
        yield
