"""Waveform-style listings of a trace window, and the `A:B` window syntax of the commands."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from accelsim.errors import InputError
from accelsim.trace.trace import Trace

#: Longest window `accelsim trace show` lists one row per cycle (use --changes beyond).
MAX_LISTED_CYCLES = 1_000_000


def parse_window(text: str | None, trace: Trace) -> tuple[int, int]:
    """`A:B` (either side may be empty) to a checked [A, B) cycle window of `trace`."""
    end = trace.end_cycle
    if not text:
        return 0, end
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        lo = int(parts[0]) if parts[0] else 0
        hi = int(parts[1]) if parts[1] else end
    except ValueError:
        raise InputError(f"--cycles: must be A:B with integers 0 <= A < B <= {end} (got {text!r})") from None
    return check_window(trace, lo, hi)


def check_window(trace: Trace, start: int | None, stop: int | None) -> tuple[int, int]:
    """[start, stop) as a non-empty window of `trace` (None: its beginning or end)."""
    lo = 0 if start is None else start
    hi = trace.end_cycle if stop is None else stop
    if not 0 <= lo < hi <= trace.end_cycle:
        raise InputError(f"--cycles: must satisfy 0 <= A < B <= {trace.end_cycle} (got {lo}:{hi})")
    return lo, hi


def parse_signals(text: str | None, trace: Trace) -> list[str]:
    """Comma-separated signal names (all when empty), each checked against the trace."""
    if not text:
        return list(trace.specs)
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if name not in trace.specs:
            raise InputError(f"--signals: unknown {name!r}; allowed: {', '.join(trace.specs)}")
    return names


def rows(
    trace: Trace, names: Sequence[str], start: int, stop: int, changes_only: bool = False
) -> Iterator[tuple[int, list[str]]]:
    """(cycle, values) for every cycle of [start, stop), or only cycles where something changes."""
    if not changes_only and stop - start > MAX_LISTED_CYCLES:
        raise InputError(
            f"--cycles: {stop - start:,} cycles is more than {MAX_LISTED_CYCLES:,} rows; narrow it or add --changes"
        )
    clipped = {name: trace.intervals(name, start, stop) for name in names}
    if changes_only:
        cycles = np.unique(np.concatenate([clipped[n][0] for n in names]))
    else:
        cycles = np.arange(start, stop)
    columns = []
    for name in names:
        s, _, v = clipped[name]
        columns.append(v[np.searchsorted(s, cycles, side="right") - 1])
    specs = [trace.specs[name] for name in names]
    for i, cycle in enumerate(cycles.tolist()):
        yield cycle, [spec.label(int(col[i])) for spec, col in zip(specs, columns)]
