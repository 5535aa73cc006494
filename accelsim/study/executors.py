"""Where the points of a sweep run: in this process, a local process pool, or a Dask cluster.

Every executor maps a picklable top-level function over items and yields the results as they
finish, keeping only a bounded window of tasks submitted (a 100,000-point sweep never holds
100,000 futures). The simulation is deterministic, so the executor changes the order results
arrive in, never their values. Dask is an optional extra, imported only by `DaskExecutor`.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator, Sized
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, TypeVar

from accelsim.errors import InputError

T = TypeVar("T")
R = TypeVar("R")

DASK_MISSING = "Dask executor needs the optional extra: pip install 'accelsim[dask]'"
WORKER_DIED = (
    "process pool: a worker process died (killed for memory? or a script that starts a sweep when imported: "
    "workers import the main module, so guard it with `if __name__ == '__main__':`)"
)
#: Default chunking of Dask tasks: at least this many chunks per worker thread (the balance at the
#: end of a sweep whose points differ in cost), and at most MAX_DASK_CHUNK items per chunk.
CHUNKS_PER_THREAD = 32
MAX_DASK_CHUNK = 16


class Executor:
    """Runs `fn` over items, yielding results as they finish; `close()` frees the workers."""

    workers: int = 1

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        raise NotImplementedError

    def close(self) -> None:
        """Stop the workers; tasks not started are dropped."""

    def describe(self) -> str:
        return type(self).__name__

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


class InProcessExecutor(Executor):
    """One point after another in this process: for debugging (breakpoints, profilers)."""

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        for item in items:
            yield fn(item)

    def describe(self) -> str:
        return "in-process"


def _ignore_sigint() -> None:
    # Ctrl-C reaches the whole process group; the main process alone decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start_method() -> str:
    # Fresh interpreters (no state inherited from the parent): forkserver where it exists.
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _positive_workers(workers: int | None, name: str = "--workers") -> int:
    count = (os.cpu_count() or 1) if workers is None else workers
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise InputError(f"{name}: must be an integer >= 1 (got {workers!r})")
    return count


class ProcessPoolExecutor(Executor):
    """A local pool of `max_workers` processes (default: every core), started on first use."""

    def __init__(self, max_workers: int | None = None, tasks_per_worker: int = 4) -> None:
        self.workers = _positive_workers(max_workers)
        self._window = self.workers * max(1, tasks_per_worker)
        self._pool: cf.ProcessPoolExecutor | None = None

    def _started(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context(_start_method())
            self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=context, initializer=_ignore_sigint)
        return self._pool

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        pool, source = self._started(), iter(items)
        pending = {pool.submit(fn, item) for item in itertools.islice(source, self._window)}
        try:
            while pending:
                done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                pending |= {pool.submit(fn, item) for item in itertools.islice(source, len(done))}
                for future in done:
                    yield future.result()
        except BrokenProcessPool as exc:
            raise RuntimeError(WORKER_DIED) from exc
        finally:  # the consumer stopped (Ctrl-C, an error): drop what has not started
            for future in pending:
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def describe(self) -> str:
        return f"process pool of {self.workers} worker{'s' if self.workers != 1 else ''}"


def _parse_dask_address(address: str) -> int | None:
    """The worker count of `local:N`, None for a scheduler address `scheme://host:port`."""
    kind, sep, rest = address.partition(":")
    if kind == "local" and sep:
        if rest.isdigit() and int(rest) >= 1:
            return int(rest)
    elif "://" in address and address.split("://", 1)[1]:
        return None
    raise InputError(f"--dask: expected tcp://HOST:PORT or local:N with N >= 1 (got {address!r})")


def _apply_each(fn: Callable[[T], R], items: list[T]) -> list[R]:
    """One Dask task for a chunk of items: Dask costs milliseconds per task, a small point less."""
    return [fn(item) for item in items]


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    source = iter(items)
    while chunk := list(itertools.islice(source, size)):
        yield chunk


class DaskExecutor(Executor):
    """A Dask distributed cluster: `tcp://host:8786` (a running scheduler; every worker needs
    accelsim installed) or `local:N` (a local cluster of N one-thread worker processes, closed
    with the executor).

    Items go to Dask in chunks (one task each) of `chunk_size` items, by default as many as
    leave CHUNKS_PER_THREAD chunks per worker thread, at most MAX_DASK_CHUNK: Dask costs
    milliseconds per task, as much as a small point, and many chunks keep the load balanced."""

    def __init__(self, address: str, timeout_s: float = 10.0, chunk_size: int | None = None) -> None:
        local_workers = _parse_dask_address(address)
        try:
            import distributed
        except ImportError:
            raise InputError(DASK_MISSING) from None
        self.address = address
        self.chunk_size = None if chunk_size is None else _positive_workers(chunk_size, "chunk_size")
        self._cluster: Any = None
        if local_workers is not None:
            self._cluster = distributed.LocalCluster(
                n_workers=local_workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
        try:
            self._client = distributed.Client(self._cluster or address, timeout=f"{timeout_s}s")
        except (OSError, TimeoutError) as exc:
            self._close_cluster()
            raise InputError(f"--dask: cannot reach the scheduler at {address}: {exc}".splitlines()[0]) from None
        self.workers = max(1, sum(self._client.nthreads().values()))

    def _chunk_size(self, items: Iterable[Any], threads: int) -> int:
        if self.chunk_size is not None:
            return self.chunk_size
        count = len(items) if isinstance(items, Sized) else 0
        return max(1, min(MAX_DASK_CHUNK, count // (CHUNKS_PER_THREAD * threads)))

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        from distributed import as_completed

        client = self._client
        threads = max(1, sum(client.nthreads().values()))
        source = _chunks(items, self._chunk_size(items, threads))
        # Refill as chunks finish, with a window that keeps every thread of the cluster busy.
        pending = {client.submit(_apply_each, fn, chunk, pure=False) for chunk in itertools.islice(source, 4 * threads)}
        finished = as_completed(pending)
        try:
            for future in finished:
                pending.discard(future)
                results = future.result()
                for chunk in itertools.islice(source, 1):
                    new = client.submit(_apply_each, fn, chunk, pure=False)
                    pending.add(new)
                    finished.add(new)
                future.release()
                yield from results
        finally:
            if pending:
                client.cancel(list(pending))

    def _close_cluster(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def close(self) -> None:
        if getattr(self, "_client", None) is not None:
            self._client.close()
            self._client = None
        self._close_cluster()

    def describe(self) -> str:
        return f"Dask cluster {self.address} ({self.workers} worker threads)"


def make_executor(workers: int | None = None, dask: str | None = None, *, in_process: bool = False) -> Executor:
    """In this process, a Dask cluster, or (the default) a process pool of `workers` (all cores)."""
    if sum((workers is not None, dask is not None, in_process)) > 1:
        raise InputError("executor: give at most one of --workers, --in-process, --dask")
    if in_process:
        return InProcessExecutor()
    if dask is not None:
        return DaskExecutor(dask)
    return ProcessPoolExecutor(workers)
