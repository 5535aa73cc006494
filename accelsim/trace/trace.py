"""The in-memory trace of a run: interval signals, the DRAM transfer table and run metadata."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accelsim.errors import InputError
from accelsim.trace import signals
from accelsim.trace.signals import SignalSpec

#: Columns of the DRAM transfer table, one row per request, in issue order.
TRANSFER_COLUMNS = (
    "issue_cycle",  # cycle the request entered the queue
    "start_cycle",  # first cycle its data occupied the bus
    "end_cycle",  # first cycle after its data left the bus
    "done_cycle",  # cycle the requester saw it complete (reads: + latency)
    "payload_bytes",  # bytes the scheduler asked for
    "bus_bytes",  # bytes the bus moved (whole bursts)
    "kind",  # index into TRANSFER_KINDS
    "layer",
    "tile",
)

#: What a transfer carries: weight and activation tiles are reads, output tiles writes.
TRANSFER_KINDS = ("weight", "activation", "output")
WRITE_KIND = 2

_CHUNK = 1 << 16


@dataclass
class Trace:
    """Signals as sorted interval starts and values; any window expands to per-cycle arrays."""

    specs: dict[str, SignalSpec]
    starts: dict[str, np.ndarray]
    values: dict[str, np.ndarray]
    end_cycle: int
    transfers: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def interval_count(self) -> int:
        return sum(len(s) for s in self.starts.values())

    def _window(self, start: int | None, stop: int | None) -> tuple[int, int]:
        lo = 0 if start is None else start
        hi = self.end_cycle if stop is None else stop
        if not 0 <= lo <= hi <= self.end_cycle:
            raise InputError(f"cycles: window {lo}:{hi} outside 0:{self.end_cycle}")
        return lo, hi

    def intervals(
        self, name: str, start: int | None = None, stop: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(starts, ends, values) of the intervals of `name` clipped to [start, stop)."""
        lo, hi = self._window(start, stop)
        first, last = self._bounds(name, lo, hi)
        return self._clipped(name, lo, hi, first, last)

    def _bounds(self, name: str, lo: int, hi: int) -> tuple[int, int]:
        """Indices [first, last) of the intervals of `name` overlapping [lo, hi)."""
        starts = self.starts[name]
        first = max(int(np.searchsorted(starts, lo, side="right")) - 1, 0)
        return first, int(np.searchsorted(starts, hi, side="left"))

    def _clipped(self, name: str, lo: int, hi: int, first: int, last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        starts, values = self.starts[name], self.values[name]
        s = starts[first:last]
        v = values[first:last]
        ends = np.empty_like(s)
        ends[:-1] = s[1:]
        if len(s):
            ends[-1] = starts[last] if last < len(starts) else hi
        s = np.clip(s, lo, hi)
        ends = np.clip(ends, lo, hi)
        keep = ends > s
        return s[keep], ends[keep], v[keep]

    def _chunks(self, name: str, start: int | None, stop: int | None) -> Iterator[tuple[np.ndarray, ...]]:
        """`intervals` as int64 pieces of at most _CHUNK intervals: reductions over a long run
        then need a few MB of temporaries, not several copies of the signal."""
        lo, hi = self._window(start, stop)
        first, last = self._bounds(name, lo, hi)
        for a in range(first, max(last, first + 1), _CHUNK):
            b = min(a + _CHUNK, last)
            yield tuple(x.astype(np.int64) for x in self._clipped(name, lo, hi, a, b))

    def expand(self, name: str, start: int | None = None, stop: int | None = None) -> np.ndarray:
        """Exact per-cycle values of `name` for cycles [start, stop)."""
        s, e, v = self.intervals(name, start, stop)
        return np.repeat(v, e - s)

    def integral(self, name: str, start: int | None = None, stop: int | None = None) -> int:
        """Sum over cycles of the signal's value (e.g. MACs performed) in [start, stop)."""
        return sum(int(np.dot(v, e - s)) for s, e, v in self._chunks(name, start, stop))

    def cycles_per_value(self, name: str, start: int | None = None, stop: int | None = None) -> dict[int, int]:
        """How many cycles of [start, stop) the signal spends at each value."""
        out: dict[int, int] = {}
        for s, e, v in self._chunks(name, start, stop):
            for value, n in zip(v.tolist(), (e - s).tolist()):
                out[value] = out.get(value, 0) + n
        return out


def layer_spans(trace: Trace) -> list[tuple[int, int]]:
    """(first cycle, end cycle) of each layer: from the array starting it to starting the next."""
    count = len(trace.meta["layers"])
    name = signals.LAYER.name
    first = [0] * count
    for s, v in zip(trace.starts[name].tolist(), trace.values[name].tolist()):
        first[v] = s if v else 0
    ends = first[1:] + [trace.end_cycle]
    return list(zip(first, ends))
