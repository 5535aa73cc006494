"""Run a sweep: every distinct point once, skipping what the results store already holds.

Points are de-duplicated by key, the rest run through an executor, and each record is appended to
the store by this process as it arrives (workers never write the store). A failing point is a
record with its error and the sweep goes on. Ctrl-C stops submitting, drops the points not
started and raises `SweepInterrupted` with the summary of what is stored; rerunning continues.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from accelsim.study.evaluate import Result
from accelsim.study.executors import Executor, make_executor
from accelsim.study.points import Point, evaluate_point, result_of
from accelsim.study.store import Record, ResultStore, read_records

#: Failed points listed by `SweepSummary.describe`; the store holds them all.
FAILURES_SHOWN = 5


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep did. `failed` counts the points that failed in this run."""

    store: str
    executor: str
    total: int  # distinct points
    duplicates: int  # points given more than once, run once
    skipped: int  # already in the store
    ran: int
    failed: int
    failed_before: int  # skipped points whose stored record is a failure
    wall_s: float
    failures: tuple[tuple[str, str], ...] = ()  # (point label, error) of this run's failures, in point order
    dropped_bytes: int = 0  # a partial last line removed from the store on opening
    interrupted: bool = False

    @property
    def points_per_s(self) -> float:
        return self.ran / self.wall_s if self.wall_s > 0 else 0.0

    def describe(self) -> str:
        head = "sweep interrupted" if self.interrupted else "sweep"
        lines = [
            f"{head}: {self.total:,} points"
            + (f" ({self.duplicates:,} duplicates run once)" if self.duplicates else "")
            + f", {self.skipped:,} already done, {self.ran:,} run now on {self.executor} in {self.wall_s:.1f} s"
            + f" ({self.points_per_s:.2f} points/s), {self.failed:,} failed"
        ]
        if self.dropped_bytes:
            lines.append(f"dropped a partial last line of {self.dropped_bytes:,} bytes from the store (a killed run)")
        if self.failed_before:
            lines.append(f"{self.failed_before:,} points failed in an earlier run (rerun them with --retry-failed)")
        for label, error in self.failures[:FAILURES_SHOWN]:
            lines.append(f"  failed: {label}: {error}")
        if self.failed > FAILURES_SHOWN:
            lines.append(f"  ... and {self.failed - FAILURES_SHOWN:,} more (records with an error in the store)")
        if self.interrupted:
            lines.append(f"{self.total - self.skipped - self.ran:,} points not run; rerun the same sweep to continue")
        lines.append(f"results: {self.store}")
        return "\n".join(lines)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; `summary` says what was stored before it."""

    def __init__(self, summary: SweepSummary) -> None:
        super().__init__("sweep interrupted")
        self.summary = summary


def unique_points(points: Iterable[Point]) -> dict[str, Point]:
    """Key -> point, first occurrence order."""
    out: dict[str, Point] = {}
    for point in points:
        out.setdefault(point.key, point)
    return out


def run_sweep(
    points: Sequence[Point],
    store_path: str | Path,
    executor: Executor | None = None,
    trace_dir: str | Path | None = None,
    progress: bool = True,
    retry_failed: bool = False,
) -> SweepSummary:
    """Run every distinct point not yet in the store at `store_path`; return what was done.

    `executor` defaults to a process pool on every core (closed at the end); traces are saved
    as `<trace_dir>/<key>.npz` only when `trace_dir` is given."""
    began = time.perf_counter()
    unique = unique_points(points)
    if executor is None:
        with make_executor() as own:
            return run_sweep(points, store_path, own, trace_dir, progress, retry_failed)
    function: Callable[[Point], Record] = evaluate_point
    if trace_dir is not None:
        Path(trace_dir).mkdir(parents=True, exist_ok=True)
        function = functools.partial(evaluate_point, trace_dir=str(trace_dir))
    with ResultStore(store_path) as store:
        rerun = store.failed_keys() if retry_failed else set()
        done = [key for key in unique if key in store and key not in rerun]
        todo = [point for key, point in unique.items() if key not in store or key in rerun]
        order = {key: i for i, key in enumerate(unique)}
        failures: list[tuple[str, str]] = []
        interrupted, ran = False, 0
        bar = tqdm(total=len(unique), initial=len(done), unit="point", desc="sweep", disable=not progress)
        results = executor.map_unordered(function, todo)
        try:
            for record in results:
                store.append(record)
                ran += 1
                if record["error"] is not None:
                    failures.append((record["key"], record["error"]))
                    bar.set_postfix(failed=len(failures), refresh=False)
                bar.update(1)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            results.close()  # stop submitting; drop what has not started
            bar.close()
        failures.sort(key=lambda f: order[f[0]])
        summary = SweepSummary(
            store=str(store_path),
            executor=executor.describe(),
            total=len(unique),
            duplicates=len(points) - len(unique),
            skipped=len(done),
            ran=ran,
            failed=len(failures),
            failed_before=sum(1 for key in done if store.get(key)["error"] is not None),  # type: ignore[index]
            wall_s=time.perf_counter() - began,
            failures=tuple((unique[key].label(), error) for key, error in failures),
            dropped_bytes=store.dropped_bytes,
            interrupted=interrupted,
        )
    if interrupted:
        raise SweepInterrupted(summary)
    return summary


def collect(points: Iterable[Point], store_path: str | Path) -> list[tuple[Point, Record | None]]:
    """Each distinct point with its stored record (None: not run yet), in point order."""
    records = read_records(store_path)
    return [(point, records.get(key)) for key, point in unique_points(points).items()]


def results(points: Iterable[Point], store_path: str | Path) -> list[tuple[Point, Result]]:
    """Each distinct point that ran without error, with its `Result`, in point order."""
    out = []
    for point, record in collect(points, store_path):
        result = None if record is None else result_of(record)
        if result is not None:
            out.append((point, result))
    return out
