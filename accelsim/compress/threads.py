"""One BLAS thread while accelsim trains or measures, so results do not depend on the core count.

OpenBLAS and MKL split a matrix product among as many threads as `OMP_NUM_THREADS` /
`OPENBLAS_NUM_THREADS` (or the core count) allow, and a different split can round differently:
measured accuracies then change with the core count. On a small machine the extra threads also
oversubscribe the cores (a 2-core run took 7x longer). `single_blas_thread()` limits every
BLAS and OpenMP pool loaded in the process to one thread for the duration of a `with` block or
a decorated call, whatever the environment says, and restores the pools afterwards.

It does not make different CPUs agree: OpenBLAS picks its kernels by CPU type, and two kernels
may round one product differently.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from threadpoolctl import threadpool_limits

_inside = threading.local()


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Context manager and decorator: BLAS and OpenMP pools at one thread inside it.

    The outermost entry looks the pools up (about 4 ms), not an import: a library loaded later
    (scipy's own OpenBLAS arrives with scikit-learn) must be limited too. Nested entries (an
    estimate calling a decorated training) cost nothing."""
    if getattr(_inside, "active", False):
        yield
        return
    _inside.active = True
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        _inside.active = False
