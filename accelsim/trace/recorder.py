"""Lossless recording of piecewise-constant signals as (start cycle, value) intervals.

A signal holds its value from one start to the next; the last value holds to the trace's end.
Recording costs one append per change, never one per cycle.

Intervals go into preallocated int64 arrays that double when full (8 bytes a number, where a
Python list costs 8 bytes a pointer plus 28 bytes an int object): a systolic ResNet-18 records
1.6 M intervals. Changes arrive in short Python lists (an append costs half a numpy item
write) moved into the arrays 1024 at a time, and the open (last) interval is kept as Python
ints, because every change reads it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from accelsim.trace.signals import SignalSpec

__all__ = ["Recorder", "SignalRecorder", "SignalSpec", "TableRecorder"]

_INITIAL_ROWS = 64
#: Closed intervals a signal gathers in Python lists before moving them into its arrays.
_PENDING_ROWS = 1024


class _Finished(list):
    """The pending lists of a finished recorder: they take no more changes."""

    def append(self, _: object) -> None:
        raise ValueError("signal recording is over")


_FINISHED = _Finished()


def _copy_resized(array: np.ndarray, rows: int) -> np.ndarray:
    out = np.zeros((rows, *array.shape[1:]), dtype=array.dtype)
    keep = min(rows, len(array))
    out[:keep] = array[:keep]
    return out


# Growing and trimming call ndarray.resize on the attribute itself: numpy then reallocates in
# place (no second copy at the peak), and refuses (ValueError) if anything else holds the array,
# in which case a copy is made instead. A helper taking the array as an argument would hold it.


class SignalRecorder:
    """Appends value changes of one signal; same-cycle writes overwrite, repeats merge."""

    __slots__ = ("spec", "_starts", "_values", "_count", "_new_starts", "_new_values", "_start", "_value", "_before")

    def __init__(self, spec: SignalSpec, initial: int = 0) -> None:
        self.spec = spec
        # Intervals in order: _starts[:_count] / _values[:_count] in the arrays, then those
        # closed since the last flush in _new_starts / _new_values (a list append is the
        # cheapest way to take one change), then the open interval (_start, _value).
        self._starts = np.zeros(_INITIAL_ROWS, dtype=np.int64)
        self._values = np.zeros(_INITIAL_ROWS, dtype=np.int64)
        self._count = 0
        self._new_starts: list[int] = []
        self._new_values: list[int] = []
        self._start = 0
        self._value = initial
        self._before: int | None = None  # value of the interval before the open one, for merging

    def set(self, cycle: int, value: int) -> None:
        last = self._start
        # The common case first (a change at a later cycle), each attribute read once: a long
        # generation makes about 13 M calls.
        if cycle > last:
            held = self._value
            if value != held:
                new_starts = self._new_starts
                new_starts.append(last)
                self._new_values.append(held)
                self._before = held
                self._start = cycle
                self._value = value
                if len(new_starts) >= _PENDING_ROWS:
                    self._flush()
        elif cycle == last:
            if value == self._before:  # the change is undone: the interval before continues
                self._reopen()
            else:
                self._value = value
        else:
            raise ValueError(f"signal {self.spec.name}: change at cycle {cycle} before {last}")

    def extend(self, cycles: np.ndarray, values: np.ndarray) -> None:
        """Many changes at strictly increasing cycles, none before the last: as `set` each,
        but appended in bulk (a systolic fold changes its busy count every fill cycle)."""
        if not len(cycles):
            return
        self.set(int(cycles[0]), int(values[0]))
        rest, later = np.asarray(cycles[1:]), np.asarray(values[1:])
        previous = np.concatenate(([self._value], later[:-1]))
        keep = np.flatnonzero(later != previous)
        if not len(keep):
            return
        self._new_starts.append(self._start)
        self._new_values.append(self._value)
        self._flush()
        count = len(keep) - 1  # all but the last change close here; the last stays open
        self._reserve(count)
        n = self._count
        self._starts[n : n + count] = rest[keep[:-1]]
        self._values[n : n + count] = later[keep[:-1]]
        self._count = n + count
        self._before = int(later[keep[-2]]) if count else self._value
        self._start, self._value = int(rest[keep[-1]]), int(later[keep[-1]])

    def _reserve(self, extra: int) -> None:
        need = self._count + extra
        if need > len(self._starts):
            self._resize(max(need, 2 * len(self._starts)))

    def _resize(self, rows: int) -> None:
        try:
            self._starts.resize(rows)
        except ValueError:
            self._starts = _copy_resized(self._starts, rows)
        try:
            self._values.resize(rows)
        except ValueError:
            self._values = _copy_resized(self._values, rows)

    def _flush(self) -> None:
        """Move the intervals closed since the last flush into the arrays."""
        new_starts, new_values = self._new_starts, self._new_values
        k = len(new_starts)
        if not k:
            return
        self._reserve(k)
        n = self._count
        self._starts[n : n + k] = new_starts
        self._values[n : n + k] = new_values
        self._count = n + k
        new_starts.clear()
        new_values.clear()

    def _reopen(self) -> None:
        """Make the interval before the open one the open one again."""
        if self._new_starts:
            self._start, self._value = self._new_starts.pop(), self._new_values.pop()
        else:
            n = self._count = self._count - 1
            self._start, self._value = int(self._starts[n]), int(self._values[n])
        if self._new_values:
            self._before = self._new_values[-1]
        else:
            self._before = int(self._values[self._count - 1]) if self._count else None

    @property
    def current(self) -> int:
        return self._value

    @property
    def starts(self) -> np.ndarray:
        """Interval starts so far (a copy)."""
        if self._new_starts is _FINISHED:
            return self._starts.copy()
        tail = [*self._new_starts, self._start]
        return np.concatenate((self._starts[: self._count], np.array(tail, dtype=np.int64)))

    @property
    def values(self) -> np.ndarray:
        """Interval values so far (a copy)."""
        if self._new_values is _FINISHED:
            return self._values.copy()
        tail = [*self._new_values, self._value]
        return np.concatenate((self._values[: self._count], np.array(tail, dtype=np.int64)))

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """End recording: (starts, values) as int64 arrays of exactly the intervals. They are
        the recorder's own memory, trimmed in place, so a long run is not copied once more."""
        if self._new_starts is not _FINISHED:
            self._new_starts.append(self._start)
            self._new_values.append(self._value)
            self._flush()
            self._resize(self._count)
            # A later change (an append to these) raises: no check on the hot path.
            self._new_starts = self._new_values = _FINISHED
        return self._starts, self._values


@dataclass
class Recorder:
    """All signals of one run."""

    specs: tuple[SignalSpec, ...]
    signals: dict[str, SignalRecorder] = field(init=False)

    def __post_init__(self) -> None:
        self.signals = {spec.name: SignalRecorder(spec) for spec in self.specs}

    def __getitem__(self, name: str) -> SignalRecorder:
        return self.signals[name]

    def arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """End recording: each signal's (starts, values) as int64 arrays."""
        return {name: rec.finish() for name, rec in self.signals.items()}


class TableRecorder:
    """Rows of integers (e.g. one per DRAM transfer) in a preallocated int64 table that
    doubles when full; rows arrive in a short Python list first, moved into it in blocks."""

    __slots__ = ("columns", "_rows", "_count", "_pending")

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        self._rows = np.zeros((_INITIAL_ROWS, len(self.columns)), dtype=np.int64)
        self._count = 0
        self._pending: list[Sequence[int]] = []

    def append(self, row: Sequence[int]) -> None:
        pending = self._pending
        pending.append(row)
        if len(pending) >= _PENDING_ROWS:
            self._flush()

    def _flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        n, k = self._count, len(pending)
        if n + k > len(self._rows):
            rows = max(n + k, 2 * len(self._rows))
            try:
                self._rows.resize((rows, len(self.columns)))
            except ValueError:
                self._rows = _copy_resized(self._rows, rows)
        self._rows[n : n + k] = np.fromiter(
            itertools.chain.from_iterable(pending), np.int64, k * len(self.columns)
        ).reshape(k, len(self.columns))
        self._count = n + k
        pending.clear()

    def __len__(self) -> int:
        return self._count + len(self._pending)

    @property
    def rows(self) -> np.ndarray:
        """The rows so far, one per row appended (a view: read it, do not keep it while appending)."""
        self._flush()
        return self._rows[: self._count]

    def as_columns(self) -> dict[str, np.ndarray]:
        """Each column as its own contiguous int64 array. The table is first trimmed to its rows
        in place, and the columns share one transposed copy: a long run's table (millions of
        transfers) is held at most twice, not its doubled capacity plus a copy."""
        self._flush()
        n = self._count
        try:
            self._rows.resize((n, len(self.columns)))
        except ValueError:  # something holds a view of the table: leave its capacity
            pass
        by_column = np.ascontiguousarray(self._rows[:n].T)
        return {name: by_column[i] for i, name in enumerate(self.columns)}
