"""The one declaration of every signal a run records: its name, kind, unit, meaning, and for a
state signal the names of its values. The simulator records against these declarations; the
file format, listings and exports read them (which signals are states, which are counters,
how they are grouped on screen) instead of keeping their own lists of names.

Adding a signal: declare it here (and add it to `SIGNALS`), record it in `sim/`, describe it
in `traces/README.md`. Trace files carry each signal's unit, description and state names, so
a file written by a build that knew other signals still reads: an undeclared name gets a
declaration derived from what the file says (see `from_file`).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

#: Kinds of signal. Every kind is an integer per cycle, held from one change to the next.
STATE = "state"  # an enumerated value: `states` names each one
COUNT = "count"  # a quantity this cycle: lanes, MACs, bytes, requests
INDEX = "index"  # a position in the schedule: a layer, a tile step
TEXT = "text"  # exports only: a label per change (derived from the transfer table, not recorded)
KINDS = (STATE, COUNT, INDEX, TEXT)

#: Display group of signals no declaration places (GTKWave lists it last).
OTHER_GROUP = "Other"


@dataclass(frozen=True)
class SignalSpec:
    """What a signal means: its unit, and for a state signal the name of each value.

    `kind` defaults to STATE when `states` are given, else COUNT. `group` is its display group
    (GTKWave). `own_track`: whether timeline exports (Chrome JSON) give it a track of its own,
    slices for a state and a counter for a count; False when another track already shows it."""

    name: str
    unit: str
    description: str
    states: tuple[str, ...] = ()
    kind: str = ""
    group: str = OTHER_GROUP
    own_track: bool = True
    track_title: str = ""

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", STATE if self.states else COUNT)
        if self.kind not in KINDS:
            raise ValueError(f"signal {self.name}: kind must be one of {', '.join(KINDS)} (got {self.kind!r})")
        if (self.kind == STATE) != bool(self.states):
            raise ValueError(f"signal {self.name}: a state signal, and only one, names its states")

    @property
    def is_state(self) -> bool:
        return self.kind == STATE

    @property
    def is_counter(self) -> bool:
        """Exported as a counter track (Chrome JSON)."""
        return self.kind == COUNT and self.own_track

    @property
    def is_slice_track(self) -> bool:
        """Exported as a track of slices, one per interval (Chrome JSON)."""
        return self.kind == STATE and self.own_track

    @property
    def title(self) -> str:
        """Name of its track in timeline exports."""
        return self.track_title or self.name

    def label(self, value: int) -> str:
        """A value as shown: the state's name, or the number."""
        return self.states[value] if self.states and 0 <= value < len(self.states) else str(value)


class MacState(enum.IntEnum):
    """What the MAC array does in a cycle; the scheduler decides the stall reason."""

    IDLE = 0  # nothing left to do
    BUSY = 1  # working on a tile (a systolic array: loading, filling, streaming or draining)
    STALL_WEIGHTS = 2  # waiting for a weight (B operand) tile
    STALL_ACTIVATIONS = 3  # waiting for an activation tile
    STALL_OUTPUT = 4  # output buffer full: waiting for a write-back to free space


class BusState(enum.IntEnum):
    """What the DRAM data bus carries in a cycle (a cycle shared by two transfers: the later)."""

    IDLE = 0
    READ = 1
    WRITE = 2


BUS_STATES = tuple(s.name for s in BusState)


class RowState(enum.IntEnum):
    """The banked DRAM's column commands this cycle: a run of row hits, or the first access after
    an ACT (a row miss). A cycle shared by two runs shows the later one."""

    IDLE = 0
    HIT = 1
    MISS = 2


_MAC, _VECTOR, _DRAM, _BUFFERS, _SCHEDULE = "MAC array", "Vector unit", "DRAM", "Buffers", "Schedule"

MAC_STATE = SignalSpec(
    "mac.state", "state", "MAC array state", tuple(s.name for s in MacState), group=_MAC, track_title=_MAC
)
MAC_BUSY_LANES = SignalSpec(
    "mac.busy_lanes", "lanes", "MAC lanes (systolic: processing elements) doing a MAC this cycle", group=_MAC
)
# Busy lanes times the precision's packing: a timeline would show busy lanes twice.
MAC_MACS = SignalSpec("mac.macs", "MACs", "multiply-accumulates performed this cycle", group=_MAC, own_track=False)
# The vector unit's states are the MAC array's (MacState): the scheduler names what it waits for.
VECTOR_STATE = SignalSpec(
    "vector.state", "state", "vector unit state", tuple(s.name for s in MacState), group=_VECTOR, track_title=_VECTOR
)
VECTOR_BUSY_LANES = SignalSpec(
    "vector.busy_lanes", "lanes", "vector lanes doing an operation this cycle", group=_VECTOR
)
VECTOR_OPS = SignalSpec(
    "vector.ops", "operations", "vector operations performed this cycle", group=_VECTOR, own_track=False
)
# The "DRAM bus" track of timeline exports shows each transfer, which says more than the state.
DRAM_BUS = SignalSpec(
    "dram.bus", "state", "what the DRAM data bus carries this cycle", BUS_STATES, group=_DRAM, own_track=False
)
DRAM_QUEUE = SignalSpec("dram.queue", "requests", "requests waiting in the DRAM queue", group=_DRAM)
# Recorded by the banked DRAM model only (dram.model = "banked").
DRAM_ROW = SignalSpec(
    "dram.row", "state", "banked DRAM: row hits or a row miss this cycle", tuple(s.name for s in RowState), group=_DRAM
)
DRAM_REFRESH = SignalSpec("dram.refresh", "ranks", "banked DRAM: ranks under refresh (tRFC after a REF)", group=_DRAM)
BUF_WEIGHT = SignalSpec("buf.weight", "bytes", "weight (B operand) buffer bytes resident", group=_BUFFERS)
BUF_ACTIVATION = SignalSpec("buf.activation", "bytes", "activation buffer bytes resident", group=_BUFFERS)
BUF_OUTPUT = SignalSpec(
    "buf.output", "bytes", "output buffer bytes held (partial sums and tiles awaiting write-back)", group=_BUFFERS
)
# The schedule is the "Layers" track of timeline exports and part of every transfer's name.
LAYER = SignalSpec(
    "layer", "index", "layer the MAC array or the vector unit works on", kind=INDEX, group=_SCHEDULE, own_track=False
)
TILE = SignalSpec("tile", "index", "tile step within the layer", kind=INDEX, group=_SCHEDULE, own_track=False)
#: Recorded by generation runs only (`accelsim llm`): 0 during the prefill, k during decode step k.
STEP = SignalSpec(
    "step", "index", "generation phase: 0 prefill, k decode step k", kind=INDEX, group=_SCHEDULE, own_track=False
)

#: Derived by exports from the transfer table: the transfer holding the bus (`read_weight_L3_t12`).
DRAM_TRANSFER = SignalSpec(
    "dram.transfer", "transfer", "the DRAM transfer holding the bus", kind=TEXT, group=_DRAM, own_track=False
)

#: Every recorded signal, in the order runs record and files store them.
SIGNALS = (
    MAC_STATE,
    MAC_BUSY_LANES,
    MAC_MACS,
    VECTOR_STATE,
    VECTOR_BUSY_LANES,
    VECTOR_OPS,
    DRAM_BUS,
    DRAM_QUEUE,
    BUF_WEIGHT,
    BUF_ACTIVATION,
    BUF_OUTPUT,
    LAYER,
    TILE,
)

#: What a banked-DRAM run records after SIGNALS.
BANKED_DRAM_SIGNALS = (DRAM_ROW, DRAM_REFRESH)

#: Recorded by some runs only, after SIGNALS: the phase of a generation.
GENERATION_SIGNALS = (STEP,)

#: Recorded and derived signals in display order (waveform viewers): the transfer beside the bus,
#: the banked DRAM's signals after the queue, a generation's step last.
DISPLAY_ORDER = (
    *SIGNALS[: SIGNALS.index(DRAM_BUS) + 1],
    DRAM_TRANSFER,
    *SIGNALS[SIGNALS.index(DRAM_BUS) + 1 : SIGNALS.index(DRAM_QUEUE) + 1],
    *BANKED_DRAM_SIGNALS,
    *SIGNALS[SIGNALS.index(DRAM_QUEUE) + 1 :],
    *GENERATION_SIGNALS,
)

BY_NAME = {spec.name: spec for spec in DISPLAY_ORDER}


def display_groups() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(group title, signal names) of the declared signals, groups and names in display order."""
    groups: dict[str, list[str]] = {}
    for spec in DISPLAY_ORDER:
        groups.setdefault(spec.group, []).append(spec.name)
    return tuple((title, tuple(names)) for title, names in groups.items())


def from_file(name: str, unit: str, description: str, states: tuple[str, ...]) -> SignalSpec:
    """The declaration of a signal read from a trace file: the file's own unit, description
    and states, with the display properties of the declaration of that name if there is one."""
    declared = BY_NAME.get(name)
    if declared is None or declared.kind == TEXT or bool(states) != declared.is_state:
        return SignalSpec(name, unit, description, states)
    return dataclasses.replace(declared, unit=unit, description=description, states=states)
