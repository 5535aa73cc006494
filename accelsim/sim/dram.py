"""DRAM controller: a bounded FIFO request queue in front of one bandwidth-limited bus.

Timing model (DESIGN.md): the bus moves one request at a time at B / f_clk bytes per cycle,
tracked as an exact rational so back-to-back streams never drift; a request's data occupies the
bus from `start` to `end = start + bus_bytes / bytes_per_cycle`, where `start` is the later of
its arrival and the end of the previous transfer. A read completes `latency` cycles after its
transfer ends (ceil(end) + latency), so latency overlaps across outstanding requests and an
isolated read of n bytes takes latency + ceil(n / bytes_per_cycle) cycles. A write completes
when its data has left the bus (posted write): its buffer space is free from ceil(end).
The queue holds requests waiting for the bus; a requester that finds it full waits.
"""

from __future__ import annotations

from collections.abc import Generator
from heapq import heappush

import numpy as np
import simpy
from simpy.events import NORMAL, PENDING, Event

from accelsim.hardware import Accelerator
from accelsim.sim.des import Fifo, succeed
from accelsim.trace import signals
from accelsim.trace.recorder import Recorder, TableRecorder
from accelsim.trace.signals import BUS_STATES, BusState
from accelsim.trace.trace import TRANSFER_COLUMNS, WRITE_KIND

__all__ = ["BUS_STATES", "SIGNALS", "DramController", "Request"]

#: What the controller records (declared in accelsim.trace.signals, as are the bus states).
SIGNALS = (signals.DRAM_BUS, signals.DRAM_QUEUE)
_IDLE, _READ, _WRITE = int(BusState.IDLE), int(BusState.READ), int(BusState.WRITE)


class Request:
    """One DRAM read or write of `payload_bytes`, tagged with the layer and tile it serves."""

    __slots__ = ("kind", "is_write", "payload_bytes", "bus_bytes", "layer", "tile", "done", "issue_cycle")

    def __init__(self, env: simpy.Environment, kind: int, payload_bytes: int, burst: int, layer: int, tile: int):
        self.kind = kind
        self.is_write = kind == WRITE_KIND
        self.payload_bytes = payload_bytes
        self.bus_bytes = -(-payload_bytes // burst) * burst
        self.layer = layer
        self.tile = tile
        done = self.done = Event.__new__(Event)  # new_event written out: one per request
        done.env = env
        done.callbacks = []
        done._value = PENDING
        self.issue_cycle = 0


class DramController:
    """Owns the queue and the bus process; records bus state, queue depth and every transfer."""

    def __init__(self, env: simpy.Environment, hw: Accelerator, recorder: Recorder) -> None:
        self.env = env
        self.bytes_per_cycle = hw.dram_bytes_per_cycle
        self.latency_cycles = hw.dram_latency_cycles
        self.burst_bytes = hw.dram.burst_bytes
        self.queue = Fifo(env, capacity=hw.dram.queue_depth)
        self.bus_signal = recorder[signals.DRAM_BUS.name]
        self.queue_signal = recorder[signals.DRAM_QUEUE.name]
        self.table = TableRecorder(TRANSFER_COLUMNS)
        # Exact time in integers: units of 1 / p cycles where bytes_per_cycle = p / q, so a transfer
        # of n bytes lasts n * q units (Fraction arithmetic per request was a tenth of a run).
        self._units_per_cycle = self.bytes_per_cycle.numerator
        self._units_per_byte = self.bytes_per_cycle.denominator
        self._busy_until = 0  # first cycle after the last busy cycle recorded
        env.process(self._bus())

    def submit(
        self, kind: int, payload_bytes: int, layer: int, tile: int, epilogue: bool = False
    ) -> Generator[simpy.Event, None, Request]:
        """Enter a request (kind: index into TRANSFER_KINDS) into the queue, waiting while it is full
        (`epilogue`, a fused epilogue's input, places bytes only in the banked model)."""
        req = Request(self.env, kind, payload_bytes, self.burst_bytes, layer, tile)
        yield self.queue.put(req)
        req.issue_cycle = self.env._now
        self.queue_signal.set(self.env._now, len(self.queue.items))
        return req

    def _bus(self) -> Generator[simpy.Event, object, None]:
        env, queue, items, table = self.env, self.queue, self.queue.items, self.table
        queue_signal, bus_signal = self.queue_signal, self.bus_signal
        per_cycle, per_byte, latency = self._units_per_cycle, self._units_per_byte, self.latency_cycles
        heap, eid = env._queue, env._eid

        def complete(timer: Event) -> None:
            succeed(env, timer._value)

        # Bus state in locals (self._busy_until mirrored for `finish`): a resume per request.
        # bus_free: when the bus finishes its current transfer, in units of 1 / p cycles.
        bus_free, busy_until = 0, self._busy_until
        while True:
            req = yield queue.get()
            assert isinstance(req, Request)
            now = env._now
            queue_signal.set(now, len(items))
            start = now * per_cycle
            if start < bus_free:
                start = bus_free
            end = bus_free = start + req.bus_bytes * per_byte
            first, after = start // per_cycle, -(-end // per_cycle)
            if first >= busy_until:
                bus_signal.set(busy_until, _IDLE)
            # A cycle shared by two transfers shows the later one.
            bus_signal.set(first, _WRITE if req.is_write else _READ)
            busy_until = self._busy_until = after
            done_cycle = after if req.is_write else after + latency
            table.append(
                (
                    req.issue_cycle,
                    first,
                    after,
                    done_cycle,
                    req.payload_bytes,
                    req.bus_bytes,
                    req.kind,
                    req.layer,
                    req.tile,
                )
            )
            # call_after(env, done_cycle - now, lambda: succeed(env, req.done)) written out, the
            # timer carrying the request's event as its value (no closure per request).
            timer = Event.__new__(Event)
            timer.env = env
            timer.callbacks = [complete]
            timer._ok = True
            timer._value = req.done
            heappush(heap, (done_cycle, NORMAL, next(eid), timer))
            # The next transfer may start inside the cycle this one ends in.
            wait = end // per_cycle - now
            if wait > 0:  # timeout(env, wait) written out
                pause = Event.__new__(Event)
                pause.env = env
                pause.callbacks = []
                pause._ok = True
                pause._value = None
                heappush(heap, (now + wait, NORMAL, next(eid), pause))
                yield pause

    @property
    def transfers(self) -> np.ndarray:
        """The transfer table so far, one row per request (columns: TRANSFER_COLUMNS)."""
        return self.table.rows

    def finish(self) -> None:
        """Close the bus signal at the end of the run."""
        self.bus_signal.set(self._busy_until, _IDLE)
