"""Exact per-column aggregation of trace signals, for plots of any width over any window.

A window [start, stop) of cycles is split into columns (one per pixel, typically); each column
shows the minimum, maximum and mean of a signal, or the share of its cycles in each state, over
exactly its cycles, computed from the intervals in O(intervals in window + columns): a 10^9-cycle
run costs what its changes cost, and zooming until a column is one cycle shows per-cycle values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.errors import InputError
from accelsim.trace import signals
from accelsim.trace.listing import check_window
from accelsim.trace.trace import Trace


@dataclass(frozen=True)
class Aggregate:
    """A signal per column: column c covers cycles [edges[c], edges[c+1]); a column of zero
    width (more columns than cycles) shows the one cycle edges[c] it lies on."""

    edges: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    mean: np.ndarray


@dataclass(frozen=True)
class StateFractions:
    """fractions[c, k]: the share of column c's cycles the signal spent in states[k]; every row
    sums to 1. Columns as in `Aggregate`."""

    edges: np.ndarray
    states: tuple[str, ...]
    fractions: np.ndarray

    def __getitem__(self, state: str) -> np.ndarray:
        return self.fractions[:, self.states.index(state)]


def column_edges(start: int, stop: int, columns: int) -> np.ndarray:
    """columns + 1 integer cycle boundaries splitting [start, stop) as evenly as possible."""
    if columns < 1:
        raise InputError(f"columns: must be >= 1 (got {columns})")
    # floor(c * n / columns): widths differ by at most one cycle, and with more columns than
    # cycles the zero-width columns land on the cycle under that pixel.
    return start + (np.arange(columns + 1, dtype=np.int64) * (stop - start)) // columns


def _intervals(trace: Trace, name: str, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The window's intervals as int64: files store the smallest unsigned types, and numpy
    turns uint64 mixed with int64 into float64, which would round cycle counts past 2^53."""
    return tuple(a.astype(np.int64) for a in trace.intervals(name, start, stop))  # type: ignore[return-value]


def _column_sums(s: np.ndarray, e: np.ndarray, v: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Sum over each column's cycles of v (rows of v: one per interval; 1-D or 2-D), exactly.

    The running integral of the signal is piecewise linear, so its value at any cycle is the
    integral up to the interval holding it plus that interval's value times the cycles since
    its start: evaluating it at the edges costs one binary search per edge."""
    weighted = v * (e - s).reshape((-1,) + (1,) * (v.ndim - 1))
    area = np.concatenate([np.zeros((1, *v.shape[1:]), np.int64), np.cumsum(weighted, axis=0)])
    i = np.searchsorted(s, edges, side="right") - 1
    at = area[i] + v[i] * (edges - s[i]).reshape((-1,) + (1,) * (v.ndim - 1))
    return np.diff(at, axis=0)


def aggregate(trace: Trace, name: str, start: int, stop: int, columns: int) -> Aggregate:
    """Exact min / max / mean of signal `name` in each of `columns` columns of [start, stop)."""
    check_window(trace, start, stop)
    edges = column_edges(start, stop, columns)
    s, e, v = _intervals(trace, name, start, stop)
    width = np.diff(edges)
    first = np.searchsorted(s, edges[:-1], side="right") - 1  # interval holding the column's first cycle
    held = v[first]  # what a zero-width column shows
    mean = np.divide(_column_sums(s, e, v, edges), width, out=held.astype(float), where=width > 0)
    # The intervals overlapping column c are first[c]..last[c]. reduceat over the `first`
    # indices reduces first[c]..first[c+1]-1, and first[c+1] is last[c] or last[c] + 1 (the
    # interval running across the right edge is shared with the next column), so folding in
    # v[last] makes every non-empty column exact, including one inside a single interval.
    last = np.searchsorted(s, edges[1:], side="left") - 1
    minimum = np.minimum(np.minimum.reduceat(v, first), v[last])
    maximum = np.maximum(np.maximum.reduceat(v, first), v[last])
    empty = width == 0
    minimum[empty] = maximum[empty] = held[empty]
    return Aggregate(edges, minimum, maximum, mean)


def value_fractions(trace: Trace, name: str, start: int, stop: int, columns: int) -> StateFractions:
    """Per column, the exact share of cycles a state signal (mac.state, dram.bus) spends in
    each of its states."""
    check_window(trace, start, stop)
    edges = column_edges(start, stop, columns)
    states = trace.specs[name].states
    s, e, v = _intervals(trace, name, start, stop)
    onehot = (v[:, None] == np.arange(len(states))[None, :]).astype(np.int64)
    width = np.diff(edges)
    held = onehot[np.searchsorted(s, edges[:-1], side="right") - 1].astype(float)
    fractions = np.divide(_column_sums(s, e, onehot, edges), width[:, None], out=held, where=width[:, None] > 0)
    return StateFractions(edges, states, fractions)


def state_fractions(trace: Trace, start: int, stop: int, columns: int) -> StateFractions:
    """Per column, the exact share of cycles the MAC array spent in each `mac.state`."""
    return value_fractions(trace, signals.MAC_STATE.name, start, stop, columns)


def value_at(trace: Trace, name: str, cycle: int) -> int:
    """The value signal `name` holds on `cycle`."""
    starts = trace.starts[name]
    return int(trace.values[name][np.searchsorted(starts, cycle, side="right") - 1])
