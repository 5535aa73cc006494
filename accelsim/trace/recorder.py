"""Lossless recording of piecewise-constant signals as (start cycle, value) intervals.

A signal holds its value from one start to the next; the last value holds to the trace's end.
Recording costs one append per change, never one per cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SignalSpec:
    """What a signal means: its unit, and for a state signal the name of each value."""

    name: str
    unit: str
    description: str
    states: tuple[str, ...] = ()

    @property
    def is_state(self) -> bool:
        return bool(self.states)


class SignalRecorder:
    """Appends value changes of one signal; same-cycle writes overwrite, repeats merge."""

    __slots__ = ("spec", "starts", "values")

    def __init__(self, spec: SignalSpec, initial: int = 0) -> None:
        self.spec = spec
        self.starts: list[int] = [0]
        self.values: list[int] = [initial]

    def set(self, cycle: int, value: int) -> None:
        starts, values = self.starts, self.values
        last = starts[-1]
        if cycle == last:
            values[-1] = value
            if len(values) > 1 and values[-2] == value:
                starts.pop()
                values.pop()
        elif cycle > last:
            if values[-1] != value:
                starts.append(cycle)
                values.append(value)
        else:
            raise ValueError(f"signal {self.spec.name}: change at cycle {cycle} before {last}")

    def extend(self, cycles: np.ndarray, values: np.ndarray) -> None:
        """Many changes at strictly increasing cycles, none before the last: as `set` each,
        but appended in bulk (a systolic fold changes its busy count every fill cycle)."""
        if not len(cycles):
            return
        self.set(int(cycles[0]), int(values[0]))
        rest, later = np.asarray(cycles[1:]), np.asarray(values[1:])
        previous = np.concatenate(([self.values[-1]], later[:-1]))
        keep = later != previous
        self.starts.extend(rest[keep].tolist())
        self.values.extend(later[keep].tolist())

    @property
    def current(self) -> int:
        return self.values[-1]


@dataclass
class Recorder:
    """All signals of one run, plus free-form tables (e.g. DRAM transfers) and metadata."""

    specs: tuple[SignalSpec, ...]
    signals: dict[str, SignalRecorder] = field(init=False)

    def __post_init__(self) -> None:
        self.signals = {spec.name: SignalRecorder(spec) for spec in self.specs}

    def __getitem__(self, name: str) -> SignalRecorder:
        return self.signals[name]

    def arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each signal's (starts, values) as int64 arrays."""
        return {
            name: (np.asarray(rec.starts, dtype=np.int64), np.asarray(rec.values, dtype=np.int64))
            for name, rec in self.signals.items()
        }
