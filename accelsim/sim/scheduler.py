"""The tile scheduler: streams tiles through the buffers and tells the array why it waits.

Four processes share the step list of all layers, in order:
- the weight loader and the activation loader fetch each new tile into a free buffer slot
  (each buffer has `prefetch_depth + 1` slots, so they run ahead of the array);
- the compute process waits for its step's tiles, runs the array, releases tiles it no longer
  needs, and takes an output slot at the first reduction step of each output tile;
- the writer writes finished output tiles back and frees their slot once the data is out.
An activation tile is fetched only once the layers producing it have written their outputs (a
read-after-write dependency through DRAM), and at most one layer ahead of the array. Weights
have no such dependency and are prefetched across layer boundaries.

A layer whose output stays on chip (decided by the engine) moves each finished output tile
into the activation buffer instead of writing it back; the next layer then reads its whole
input from there and fetches no activations, and frees that tensor when it finishes. While
such a tensor is held, the activation loader does not run ahead into the next layer, so the
buffer never holds more than the engine budgeted.

With a kernel launch latency (`hw.launch_latency_ns` > 0) a fifth process launches the layers as
a host launches GPU kernels, and neither loader nor the array touches a layer before its launch.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from heapq import heappush

import simpy
from simpy.events import NORMAL

from accelsim.hardware import Accelerator
from accelsim.precision import Precision
from accelsim.sim.des import Fifo, Slots, new_event
from accelsim.sim.dram import DramController
from accelsim.sim.mac_array import MacArrayUnit, MacState
from accelsim.sim.tiling import Step, TilePlan
from accelsim.sim.vector_unit import VectorUnitSim
from accelsim.trace import signals
from accelsim.trace.recorder import Recorder, SignalRecorder
from accelsim.trace.trace import TRANSFER_KINDS, WRITE_KIND

#: What the scheduler records (declared in accelsim.trace.signals).
SIGNALS = (signals.BUF_WEIGHT, signals.BUF_ACTIVATION, signals.BUF_OUTPUT, signals.LAYER, signals.TILE)

#: Bits of a step index in the ready tables' keys (layer << _STEP_BITS | step).
_STEP_BITS = 32

COUNTERS = (
    "macs",
    "vector_ops",
    "dram_read_bytes",
    "dram_write_bytes",
    "dram_read_bus_bytes",
    "dram_write_bus_bytes",
    "sram_weight_read_bytes",
    "sram_weight_write_bytes",
    "sram_activation_read_bytes",
    "sram_activation_write_bytes",
    "sram_output_read_bytes",
    "sram_output_write_bytes",
)


@dataclass(frozen=True)
class LayerWork:
    """What the scheduler needs of one layer: its plan and steps, MAC precision, dataflow."""

    plan: TilePlan
    steps: tuple[Step, ...]
    precision: Precision
    producers: tuple[int, ...]  # layers whose outputs this layer's input is made of
    input_bytes_on_chip: int  # > 0: the input is held in the activation buffer already
    output_on_chip: bool  # the output stays in the activation buffer for the next layer
    unit: str = "mac"  # the unit computing the layer: "mac" (the array) or "vector"

    @property
    def holds_activations(self) -> bool:
        return self.input_bytes_on_chip > 0 or self.output_on_chip


@dataclass
class _Occupancy:
    """Bytes held in one buffer, mirrored into its trace signal."""

    signal: SignalRecorder
    bytes: int = 0

    def add(self, cycle: int, delta: int) -> None:
        self.bytes += delta
        self.signal.set(cycle, self.bytes)


def _arrive(buf: _Occupancy, nbytes: int, event: simpy.Event) -> None:
    """A fetched tile is on chip: the buffer holds its bytes and its arrival event succeeds
    (buf.add and succeed written out: one call per fetched tile)."""
    env = event.env
    now = env._now
    buf.bytes += nbytes
    buf.signal.set(now, buf.bytes)
    event._ok = True
    event._value = None
    heappush(env._queue, (now, NORMAL, next(env._eid), event))


@dataclass
class TileScheduler:
    env: simpy.Environment
    hw: Accelerator
    recorder: Recorder
    dram: DramController
    array: MacArrayUnit
    layers: tuple[LayerWork, ...]
    on_step: Callable[[], None] | None = None
    #: Per layer, the generation step it belongs to (the `step` signal); None: not recorded.
    layer_steps: tuple[int, ...] | None = None
    vector: VectorUnitSim | None = None
    counters: list[dict[str, int]] = field(init=False)

    def __post_init__(self) -> None:
        env, slots = self.env, self.hw.buffers.slots
        self.counters = [dict.fromkeys(COUNTERS, 0) for _ in self.layers]
        self.w_slots = Slots(env, capacity=slots, init=slots)
        self.a_slots = Slots(env, capacity=slots, init=slots)
        self.o_slots = Slots(env, capacity=slots, init=slots)
        self.w_buf = _Occupancy(self.recorder[signals.BUF_WEIGHT.name])
        self.a_buf = _Occupancy(self.recorder[signals.BUF_ACTIVATION.name])
        self.o_buf = _Occupancy(self.recorder[signals.BUF_OUTPUT.name])
        # layer << _STEP_BITS | step -> event fired when the tile that step fetches is on chip (an
        # int key: a tuple is built and hashed twice per tile)
        self.w_ready: dict[int, simpy.Event] = {}
        self.a_ready: dict[int, simpy.Event] = {}
        self.layer_written = [env.event() for _ in self.layers]
        self.layer_started = [env.event() for _ in self.layers]
        # Layers of one shape share their step tuple: each is counted once.
        writes_of: dict[int, int] = {}
        for work in self.layers:
            if id(work.steps) not in writes_of:
                writes_of[id(work.steps)] = sum(s.out_last for s in work.steps)
        self._writes_left = [writes_of[id(work.steps)] for work in self.layers]
        self.write_queue = Fifo(env)
        self._counts_of: dict[int, dict[str, int]] = {}
        self._counted: list[tuple[Step, ...]] = []
        # Kernel launches (hw.launch_latency_ns > 0): layer li's loads and compute wait for
        # launched[li]; None keeps the launch-free schedule exactly as it was.
        self.launched: list[simpy.Event] | None = None
        self.layer_computed: list[simpy.Event] = []
        if self.hw.launch_latency_cycles:
            self.launched = [env.event() for _ in self.layers]
            self.layer_computed = [env.event() for _ in self.layers]

    def start(self) -> simpy.Event:
        if self.launched is not None:
            self.env.process(self._launcher())
        self.env.process(self._loader(weights=True))
        self.env.process(self._loader(weights=False))
        self.env.process(self._writer())
        return self.env.process(self._compute())

    # --- kernel launches ---------------------------------------------------------------------
    def _launcher(self) -> Generator[simpy.Event, object, None]:
        """Launch each layer as a host launches kernels into a GPU stream: the host issues them
        back to back from time 0, one launch latency each, without waiting for the GPU (kernel
        i is issued at (i + 1) x latency); a kernel starts once it is issued and the previous
        one has computed and written its output. Kernels longer than a launch hide the
        launches of the next ones; a run of short kernels waits for the host."""
        assert self.launched is not None
        env, latency = self.env, self.hw.launch_latency_cycles
        for li, event in enumerate(self.launched):
            if li:
                yield simpy.AllOf(env, (self.layer_computed[li - 1], self.layer_written[li - 1]))
            issued = (li + 1) * latency
            if env.now < issued:
                yield env.timeout(issued - env.now)
            event.succeed()

    # --- loaders -----------------------------------------------------------------------------
    def _loader(self, weights: bool) -> Generator[simpy.Event, object, None]:
        dram = self.dram
        slots, ready, buf = (
            (self.w_slots, self.w_ready, self.w_buf) if weights else (self.a_slots, self.a_ready, self.a_buf)
        )
        kind = "weight" if weights else "activation"
        kind_index = TRANSFER_KINDS.index(kind)
        sram_write = f"sram_{kind}_write_bytes"
        for li, work in enumerate(self.layers):
            counter = self.counters[li]
            if self.launched is not None:
                yield self.launched[li]
            if not weights and any(s.a_bytes for s in work.steps):
                yield from self._may_fetch_activations(li)
            for step in work.steps:
                nbytes = step.w_bytes if weights else step.a_bytes
                if not nbytes:
                    continue
                yield slots.get()
                req = yield from dram.submit(kind_index, nbytes, li, step.index)
                key = li << _STEP_BITS | step.index
                arrived = ready.get(key) or self._ready(ready, key)
                req.done.callbacks.append(lambda _, n=nbytes, ev=arrived: _arrive(buf, n, ev))
                counter["dram_read_bytes"] += nbytes
                counter["dram_read_bus_bytes"] += req.bus_bytes
                counter[sram_write] += nbytes

    def _may_fetch_activations(self, li: int) -> Generator[simpy.Event, object, None]:
        """Wait until layer li's input is in DRAM and the activation buffer has room for it."""
        for producer in self.layers[li].producers:
            yield self.layer_written[producer]
        if li > 0:
            previous = self.layers[li - 1]
            yield self.layer_started[li if previous.holds_activations else li - 1]

    # --- compute -----------------------------------------------------------------------------
    def _ready(self, table: dict[int, simpy.Event], key: int) -> simpy.Event:
        """The event of a fetched tile's arrival, created by whichever side asks first."""
        event = table.get(key)
        if event is None:
            event = table[key] = new_event(self.env)
        return event

    def _unit(self, work: LayerWork) -> MacArrayUnit | VectorUnitSim:
        """The unit computing a layer; the other one is IDLE meanwhile (one layer at a time)."""
        if work.unit != "vector":
            if self.vector is not None:
                self.vector.set_state(MacState.IDLE)
            return self.array
        if self.vector is None:
            raise ValueError("a vector layer needs the scheduler's vector unit")
        self.array.set_state(MacState.IDLE)
        return self.vector

    def _compute(self) -> Generator[simpy.Event, object, None]:
        env = self.env
        layer_sig, tile_sig = self.recorder[signals.LAYER.name], self.recorder[signals.TILE.name]
        steps, step_sig = self.layer_steps, self.recorder.signals.get(signals.STEP.name)
        w_ready, a_ready = self.w_ready, self.a_ready
        # Loop-invariant attributes in locals: the step loop runs once per tile step.
        o_slots, w_slots, a_slots = self.o_slots, self.w_slots, self.a_slots
        o_buf, w_buf, a_buf = self.o_buf, self.w_buf, self.a_buf
        write_queue, on_step = self.write_queue, self.on_step
        for li, work in enumerate(self.layers):
            counter = self.counters[li]
            if self.launched is not None and not self.launched[li].triggered:
                self._idle()  # the launch gap: no unit works until the kernel starts
                yield self.launched[li]
            layer_sig.set(env._now, li)
            if steps is not None and step_sig is not None:
                step_sig.set(env._now, steps[li])
            self.layer_started[li].succeed()
            unit = self._unit(work)
            residual: simpy.Event | None = None  # the output tile's epilogue input, on its way
            for step in work.steps:
                tile_sig.set(env._now, step.index)
                if step.out_first:
                    if o_slots.level == 0:
                        unit.set_state(MacState.STALL_OUTPUT)
                    yield o_slots.get()
                    o_buf.add(env._now, step.acc_bytes)
                    if step.e_bytes:
                        residual = env.process(self._fetch_epilogue_input(li, step))
                # The tiles' arrivals (_wait_tile written out: a generator per wait cost a tenth
                # of a generation's run).
                if step.w_bytes:
                    key = li << _STEP_BITS | step.index
                    event = w_ready.get(key) or self._ready(w_ready, key)
                    if event.callbacks is not None:
                        unit.set_state(MacState.STALL_WEIGHTS)
                        yield event
                    del w_ready[key]
                if step.a_bytes:
                    key = li << _STEP_BITS | step.index
                    event = a_ready.get(key) or self._ready(a_ready, key)
                    if event.callbacks is not None:
                        unit.set_state(MacState.STALL_ACTIVATIONS)
                        yield event
                    del a_ready[key]
                if step.vector_ops and work.unit != "vector":
                    yield from self._with_epilogue(unit, step, work.precision, residual)
                else:
                    yield unit.compute(step, work.precision)
                if step.w_release:
                    w_buf.add(env._now, -step.w_resident_bytes)
                    w_slots.put()
                if step.a_release:
                    a_buf.add(env._now, -step.a_resident_bytes)
                    a_slots.put()
                if step.out_last:
                    if work.output_on_chip:
                        self._keep_on_chip(li, step)
                    else:
                        write_queue.put_nowait((li, step))
                if on_step is not None:
                    on_step()
            for name, count in self._array_counts(work.steps).items():
                counter[name] += count
            if work.input_bytes_on_chip:
                self.a_buf.add(env._now, -work.input_bytes_on_chip)
            if self.layer_computed:
                self.layer_computed[li].succeed()
        self._idle()
        yield simpy.AllOf(env, self.layer_written)

    def _idle(self) -> None:
        self.array.set_state(MacState.IDLE)
        if self.vector is not None:
            self.vector.set_state(MacState.IDLE)

    def _fetch_epilogue_input(self, li: int, step: Step) -> Generator[simpy.Event, object, None]:
        """Read an output tile's epilogue input (a residual add's stream) from DRAM into the tile's
        accumulator slot, as a GEMM's C operand (out = A x B + C): it needs no slot of its own
        (the accumulator tile is at least as large), and arrives while the tile's MACs run."""
        for producer in self.layers[li].producers:
            yield self.layer_written[producer]
        req = yield from self.dram.submit(TRANSFER_KINDS.index("activation"), step.e_bytes, li, step.index, True)
        counter = self.counters[li]
        counter["dram_read_bytes"] += step.e_bytes
        counter["dram_read_bus_bytes"] += req.bus_bytes
        counter["sram_output_write_bytes"] += step.e_bytes
        yield req.done

    def _with_epilogue(
        self, unit: MacArrayUnit | VectorUnitSim, step: Step, precision: Precision, residual: simpy.Event | None
    ) -> Generator[simpy.Event, object, None]:
        """A MAC step and its output tile's fused epilogue, the vector unit working in the array's
        shadow: the step takes max(array cycles, vector cycles), the epilogue starting once its
        input (if any) has arrived; an array done first waits for the epilogue to finish its
        output tile (STALL_OUTPUT)."""
        if self.vector is None:
            raise ValueError("a fused epilogue needs the scheduler's vector unit")
        epilogue = self.env.process(self._epilogue(step, precision, residual))
        yield unit.compute(step, precision)
        if not epilogue.triggered:
            unit.set_state(MacState.STALL_OUTPUT)
        yield epilogue

    def _epilogue(
        self, step: Step, precision: Precision, residual: simpy.Event | None
    ) -> Generator[simpy.Event, object, None]:
        assert self.vector is not None
        if residual is not None and not residual.processed:
            yield residual
        yield self.vector.compute(step, precision)
        self.vector.set_state(MacState.IDLE)

    def _array_counts(self, steps: tuple[Step, ...]) -> dict[str, int]:
        """What the array's work on these steps adds to a layer's counters: a sum over the steps
        that no timing changes, so each step list (shared by layers of one shape) is summed once
        and added when its layer ends, instead of five counter updates per step."""
        counts = self._counts_of.get(id(steps))
        if counts is None:
            counts = dict.fromkeys(("macs", "vector_ops", "sram_weight_read_bytes", "sram_activation_read_bytes"), 0)
            counts |= dict.fromkeys(("sram_output_write_bytes", "sram_output_read_bytes"), 0)
            for step in steps:
                self._count_step(counts, step)
            self._counts_of[id(steps)] = counts
            self._counted.append(steps)  # keeps the id valid for the run
        return counts

    @staticmethod
    def _count_step(counter: dict[str, int], step: Step) -> None:
        # The array reads each operand tile once per step and reads and writes the partial sums
        # (the first reduction step only writes them); write-back reads the finished tile.
        counter["macs"] += step.macs
        counter["vector_ops"] += step.vector_ops
        counter["sram_weight_read_bytes"] += step.w_resident_bytes
        counter["sram_activation_read_bytes"] += step.a_resident_bytes + step.b_on_chip_bytes
        counter["sram_output_write_bytes"] += step.acc_bytes
        if not step.out_first:
            counter["sram_output_read_bytes"] += step.acc_bytes
        if step.out_last:
            counter["sram_output_read_bytes"] += step.out_bytes

    # --- write-back --------------------------------------------------------------------------
    def _writer(self) -> Generator[simpy.Event, object, None]:
        while True:
            li, step = yield self.write_queue.get()
            if not step.out_bytes:  # a fused attention's key block: its output is not done yet
                self._written(li, step)
                continue
            req = yield from self.dram.submit(WRITE_KIND, step.out_bytes, li, step.index)
            counter = self.counters[li]
            counter["dram_write_bytes"] += step.out_bytes
            counter["dram_write_bus_bytes"] += req.bus_bytes
            req.done.callbacks.append(lambda _, li=li, step=step: self._written(li, step))

    def _keep_on_chip(self, li: int, step: Step) -> None:
        """Move a finished output tile into the activation buffer for the next layer."""
        self.a_buf.add(self.env._now, step.out_bytes)
        self.counters[li]["sram_activation_write_bytes"] += step.out_bytes
        self._written(li, step)

    def _written(self, li: int, step: Step) -> None:
        self.o_buf.add(self.env._now, -step.acc_bytes)
        self.o_slots.put()
        self._writes_left[li] -= 1
        if self._writes_left[li] == 0:
            self.layer_written[li].succeed()
