"""The banked DRAM behind the scheduler's controller interface (`dram.model = "banked"`).

Same interface as sim/dram.py's DramController: `submit(kind, bytes, layer, tile)` enters a request
into a bounded queue (the requester waits while it is full) and returns it with `.done` and
`.bus_bytes`; `finish()` closes the signals; `table` holds one row per transfer. A server takes the
requests in order, looks up each one's address runs (dram_placement.py) and places them on the
device's banks (dram_runs.py) at once, so a request placed early has its ACTs (and, on a device of
several channels, the commands on other channels) overlap the data of the ones before it.

Lookahead: each channel holds at most `dram.channel_queue_depth` placed requests whose last column
command is still to issue (DRAMsim3's command queues, cmd_queue_size 8). The server takes the next
request once some channel has room (on a one-channel device: once it has), then waits until every
channel the request touches has; meanwhile the queue holds the rest. With depth 1 on one channel,
each request is placed once the one before has issued its last column command. Column commands
stay in request order on each rank (FCFS; runs interleave as dram_runs.py describes), while ACTs
and PREs of requests placed ahead go as early as their banks allow.

Clocks: the accelerator runs at clock_hz, the device at 1 / tCK. With r = accelerator period / tCK as
an exact fraction (tCK read as its decimal text, 0.63 -> 63/100), a request entering at accelerator
cycle a reaches the device at cycle ceil(a r); device cycle c ends in accelerator cycle ceil(c / r).
An isolated read of one burst therefore takes ceil((tRCD + CL + burst) / r) accelerator cycles.

A transfer's data is on the bus from its first burst to the end of its last (the gaps a run of
same-bank bursts leaves when tCCD_L exceeds the burst are inside it). Reads complete when their
data has left the bus; writes when their data is written (issue + CWL + burst).
"""

from __future__ import annotations

import heapq
from collections.abc import Generator, Sequence
from fractions import Fraction

import numpy as np
import simpy

from accelsim.hardware import Accelerator
from accelsim.sim.des import Fifo, call_after, new_event, succeed, timeout
from accelsim.sim.dram_placement import TensorPlacement
from accelsim.sim.dram_runs import CommandCounts, RunResult, RunTimeline
from accelsim.trace import signals
from accelsim.trace.recorder import Recorder, SignalRecorder, TableRecorder
from accelsim.trace.signals import BusState, RowState
from accelsim.trace.trace import TRANSFER_COLUMNS, WRITE_KIND

#: What the banked controller records besides the simple controller's signals.
SIGNALS = (signals.DRAM_BUS, signals.DRAM_QUEUE)
EXTRA_SIGNALS = (signals.DRAM_ROW, signals.DRAM_REFRESH)

#: Per-layer counters a banked run adds (commands and row hits of the layer's requests; refreshes
#: issued while placing them; rank-cycles of background by the layer's span, all channels).
COUNTERS = (
    "dram_act_commands",
    "dram_pre_commands",
    "dram_read_commands",
    "dram_write_commands",
    "dram_ref_commands",
    "dram_row_hits",
    "dram_active_rank_cycles",
    "dram_idle_rank_cycles",
)
_CHANNEL_0 = (0,)
_COUNT_FIELDS = ("acts", "pres", "reads", "writes", "refs", "row_hits")
_READ, _WRITE = int(BusState.READ), int(BusState.WRITE)


class BankedRequest:
    """One transfer: its address runs, tagged with the layer and tile it serves."""

    __slots__ = ("kind", "is_write", "payload_bytes", "bus_bytes", "layer", "tile", "done", "issue_cycle", "segments")

    def __init__(
        self, env: simpy.Environment, kind: int, payload_bytes: int, segments: list, burst: int, layer: int, tile: int
    ):
        self.kind = kind
        self.is_write = kind == WRITE_KIND
        self.payload_bytes = payload_bytes
        self.segments = segments
        self.bus_bytes = sum(((a + n - 1) // burst - a // burst + 1) * burst for a, n in segments)
        self.layer = layer
        self.tile = tile
        self.done = new_event(env)
        self.issue_cycle = 0


class BankedController:
    """The queue, the server process, the device timeline and what the trace needs of them."""

    def __init__(self, env: simpy.Environment, hw: Accelerator, recorder: Recorder, placement: TensorPlacement) -> None:
        self.env = env
        self.device = hw.dram.dram_device
        self.timeline = RunTimeline(self.device, hw.dram.page_policy)
        self.placement = placement
        ratio = Fraction(10**9) / (Fraction(hw.clock_hz).limit_denominator(10**9) * Fraction(str(self.device.tck_ns)))
        self._p, self._q = ratio.numerator, ratio.denominator  # device cycles per accelerator cycle = p / q
        self.queue = Fifo(env, capacity=hw.dram.queue_depth)
        self.queue_signal = recorder[signals.DRAM_QUEUE.name]
        self.recorder = recorder
        self.table = TableRecorder(TRANSFER_COLUMNS)
        self.layer_counts: dict[int, list[int]] = {}
        self._bus: list[tuple[int, int, int]] = []  # (first, after, state) in accelerator cycles
        self.end_device_cycle = 0
        # Lookahead: per channel, the accelerator cycles at which the requests placed on it will have
        # issued their last column command (a min-heap); at most `depth` of them pending per channel.
        self.depth = hw.dram.channel_queue_depth
        self._pending: list[list[int]] = [[] for _ in range(self.device.channels)]
        mapping = self.timeline.mapping
        self._channel_shift, self._channel_mask = mapping.shift + mapping.positions[0], mapping.masks[0]
        env.process(self._serve())

    # --- clocks ---
    def to_device(self, cycle: int) -> int:
        return -(-cycle * self._p // self._q)

    def to_accel_floor(self, cycle: int) -> int:
        return cycle * self._q // self._p

    def to_accel(self, cycle: int) -> int:
        return -(-cycle * self._q // self._p)

    # --- requests ---
    def submit(
        self, kind: int, payload_bytes: int, layer: int, tile: int, epilogue: bool = False
    ) -> Generator[simpy.Event, None, BankedRequest]:
        """As DramController.submit; `epilogue`: a fused epilogue's input (its own region)."""
        segments = self.placement.segments(kind, layer, tile, payload_bytes, epilogue)
        req = BankedRequest(self.env, kind, payload_bytes, segments, self.device.request_bytes, layer, tile)
        yield self.queue.put(req)
        req.issue_cycle = self.env.now
        self.queue_signal.set(self.env.now, len(self.queue.items))
        return req

    def _serve(self) -> Generator[simpy.Event, object, None]:
        env, timeline, queue, items = self.env, self.timeline, self.queue, self.queue.items
        counts, place, p, q = timeline.counts, timeline.place, self._p, self._q
        queue_signal, bus, table, layer_counts = self.queue_signal, self._bus, self.table, self.layer_counts
        pending = self._pending
        while True:
            now = int(env.now)
            room = self._room_on_some_channel(now)
            if room > now:
                yield timeout(env, room - now)
                continue
            req = yield queue.get()
            assert isinstance(req, BankedRequest)
            now = int(env.now)
            queue_signal.set(now, len(items))
            channels = self._channels(req.segments)
            room = self._room_on(channels, now)
            if room > now:  # a channel it needs is full: the request waits in the controller
                yield timeout(env, room - now)
                now = room
            acts, pres, reads, writes, refs, hits = (
                counts.acts,
                counts.pres,
                counts.reads,
                counts.writes,
                counts.refs,
                counts.row_hits,
            )
            result = RunResult()
            start = -(-now * p // q)  # to_device
            is_write = req.is_write
            for address, nbytes in req.segments:
                place(address, nbytes, is_write, start, result)
            mine = layer_counts.get(req.layer)
            if mine is None:
                mine = layer_counts[req.layer] = [0] * len(_COUNT_FIELDS)
            mine[0] += counts.acts - acts
            mine[1] += counts.pres - pres
            mine[2] += counts.reads - reads
            mine[3] += counts.writes - writes
            mine[4] += counts.refs - refs
            mine[5] += counts.row_hits - hits
            first = max(result.first_data * q // p, now)  # to_accel_floor
            after = -(-result.last_data_end * q // p)  # to_accel
            done = -(-result.done * q // p)
            bus.append((first, after, _WRITE if is_write else _READ))
            table.append(
                (req.issue_cycle, first, after, done, req.payload_bytes, req.bus_bytes, req.kind, req.layer, req.tile)
            )
            if result.done > self.end_device_cycle:
                self.end_device_cycle = result.done
            call_after(env, done - now, lambda _, ev=req.done: succeed(env, ev))
            issued = result.last_command * q // p  # the cycle its last column command has issued in
            if issued > now:
                for c in channels:
                    heapq.heappush(pending[c], issued)

    # --- lookahead ---
    def _channels(self, segments: list[tuple[int, int]]) -> Sequence[int]:
        """The channels a request's bursts fall on."""
        if len(self._pending) == 1:
            return _CHANNEL_0
        shift, mask = self._channel_shift, self._channel_mask
        out: list[int] = []
        for address, nbytes in segments:
            first, last = address >> shift, (address + nbytes - 1) >> shift
            if last - first >= mask:
                return range(mask + 1)
            out += [k & mask for k in range(first, last + 1)]  # consecutive blocks, channels in turn
        return out if len(segments) == 1 else sorted(set(out))

    def _room_on(self, channels: Sequence[int], now: int) -> int:
        """The first cycle from `now` at which each of `channels` has fewer than `depth` requests
        whose last column command is still to issue."""
        ready = now
        for c in channels:
            heap = self._pending[c]
            while heap and (heap[0] <= ready or len(heap) >= self.depth):
                ready = max(ready, heapq.heappop(heap))
        return ready

    def _room_on_some_channel(self, now: int) -> int:
        """The first cycle from `now` at which some channel has room (the next request may need it)."""
        if len(self._pending) == 1:
            return self._room_on(_CHANNEL_0, now)
        depth = self.depth
        if any(len(heap) < depth for heap in self._pending):
            return now
        best = None
        for heap in self._pending:
            while heap and heap[0] <= now:
                heapq.heappop(heap)
            room = now if len(heap) < depth else heapq.nsmallest(len(heap) - depth + 1, heap)[-1]
            best = room if best is None or room < best else best
        return now if best is None else best

    @property
    def transfers(self) -> np.ndarray:
        return self.table.rows

    # --- the end of the run ---
    def finish(self) -> None:
        """Issue the refreshes due before the run's end and record the bus, row and refresh signals."""
        end = int(self.env.now)
        self.end_device_cycle = max(self.end_device_cycle, self.to_device(end))
        self.timeline.refresh_until(self.end_device_cycle)
        self._record_bus()
        self._record_rows()
        self._record_refresh()

    def _record_bus(self) -> None:
        sig = self.recorder[signals.DRAM_BUS.name]
        busy_until = 0
        for first, after, state in sorted(self._bus):
            if first >= busy_until:
                sig.set(busy_until, int(BusState.IDLE))
            sig.set(first, state)  # a cycle shared by two transfers shows the later one
            busy_until = max(busy_until, after)
        sig.set(busy_until, int(BusState.IDLE))

    def _record_rows(self) -> None:
        """Per cycle: MISS where a run's first column command follows its ACT, HIT over the rest of a run."""
        p, q = self._p, self._q
        runs = np.array(self.timeline.row_spans, dtype=np.int64).reshape(-1, 3)
        first, after, hit = runs[:, 0] * q // p, runs[:, 1] * q // p + 1, runs[:, 2]
        cycles, values = row_changes(first, after, hit)
        _record_changes(self.recorder[signals.DRAM_ROW.name], cycles, values)

    def _record_refresh(self) -> None:
        """Ranks refreshing per cycle: each REF holds its rank for tRFC."""
        refs = np.array([at for ch in self.timeline.channels for at in ch.refs], dtype=np.int64)
        if not len(refs):
            return
        p, q = self._p, self._q
        cycles = np.concatenate((refs * q // p, -(-(refs + self.device.trfc_cycles) * q // p)))
        order = np.argsort(cycles, kind="stable")
        cycles = cycles[order]
        level = np.cumsum(np.concatenate((np.ones(len(refs), np.int64), -np.ones(len(refs), np.int64)))[order])
        last_of_cycle = np.append(cycles[1:] != cycles[:-1], True)  # a cycle's changes together
        self.recorder[signals.DRAM_REFRESH.name].extend(cycles[last_of_cycle], level[last_of_cycle])

    def add_counters(self, counters: list[dict[str, int]], layer_starts: Sequence[int]) -> None:
        """Add the banked counters to each layer's: commands by the layer whose requests issued them,
        background rank-cycles by the layer's span [start, next start) in device cycles."""
        for li, counter in enumerate(counters):
            values = self.layer_counts.get(li, [0] * len(_COUNT_FIELDS))
            for name, value in zip(COUNTERS[:6], values):
                counter[name] = value
        refs_now = self.timeline.counts.refs - sum(v[4] for v in self.layer_counts.values())
        if counters:
            counters[-1]["dram_ref_commands"] += refs_now  # refreshes issued after the last request
            counters[-1]["dram_pre_commands"] += self.timeline.counts.pres - sum(
                v[1] for v in self.layer_counts.values()
            )
        end_dev = self.end_device_cycle
        bounds = [min(self.to_device(s), end_dev) for s in layer_starts] + [end_dev]
        spans = self.timeline.active_spans(end_dev)
        ranks = len(spans)
        for li, counter in enumerate(counters):
            lo, hi = bounds[li], max(bounds[li + 1], bounds[li]) if li + 1 < len(counters) else end_dev
            active = sum(int(np.sum(np.clip(r[:, 1], lo, hi) - np.clip(r[:, 0], lo, hi))) for r in spans)
            counter["dram_active_rank_cycles"] = active
            counter["dram_idle_rank_cycles"] = (hi - lo) * ranks - active

    @property
    def counts(self) -> CommandCounts:
        return self.timeline.counts


def row_changes(first: np.ndarray, after: np.ndarray, hit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The row signal's changes over runs (first cycle, cycle after the last, began with a hit?),
    in order, several per cycle possible (the last one holds); what `_row_changes` gives, computed
    on whole arrays where no run starts in the cycle a miss before it shows MISS in."""
    order = np.lexsort((hit, after, first))
    first, after, hit = first[order], after[order], hit[order]
    # a miss shows MISS for its first cycle, then HIT
    then_hit = (hit == 0) & (after > first + 1)
    if len(first) == 0 or np.any(then_hit[:-1] & (first[1:] == first[:-1])):
        cycles, values = _row_changes(first.tolist(), after.tolist(), hit.tolist())
        return np.array(cycles, dtype=np.int64), np.array(values, dtype=np.int64)
    # the end of the runs before each one; IDLE from there where a gap precedes it
    until = np.concatenate(([0], np.maximum.accumulate(after)[:-1]))
    idle, hit_state, miss = int(RowState.IDLE), int(RowState.HIT), int(RowState.MISS)
    at = np.stack([until, first, first + 1], axis=1)
    ones = np.ones(len(first), dtype=np.int64)
    state = np.stack([ones * idle, np.where(hit != 0, hit_state, miss), ones * hit_state], axis=1)
    shown = np.stack([first >= until, ones == 1, then_hit], axis=1)
    return np.append(at[shown], after.max()), np.append(state[shown], idle)


def _row_changes(firsts: list[int], afters: list[int], hits: list[int]) -> tuple[list[int], list[int]]:
    """The row signal's changes in order over runs sorted by first cycle, several per cycle
    possible (the last one holds): IDLE from the end of the runs so far where a gap precedes a run;
    its state from its first cycle (or the cycle after the previous run's first, if that was a miss
    in the same cycle)."""
    idle, hit_state, miss = int(RowState.IDLE), int(RowState.HIT), int(RowState.MISS)
    cycles: list[int] = []
    values: list[int] = []
    until = last = 0  # end of the runs so far; the last cycle a change was recorded at
    for a, b, hit in zip(firsts, afters, hits):
        if a >= until:
            cycles.append(until)
            values.append(idle)
        if a < last:
            a = last
        last = a
        cycles.append(a)
        if hit:
            values.append(hit_state)
        else:
            values.append(miss)
            if b > a + 1:
                last = a + 1
                cycles.append(last)
                values.append(hit_state)
        if b > until:
            until = b
    cycles.append(until)
    values.append(idle)
    return cycles, values


def _record_changes(sig: SignalRecorder, cycles: np.ndarray, values: np.ndarray) -> None:
    """`sig.set` for each change in order (cycles non-decreasing), in bulk: a cycle's last change
    holds, as same-cycle sets overwrite one another."""
    at, value = np.array(cycles, dtype=np.int64), np.array(values, dtype=np.int64)
    last_of_cycle = np.append(at[1:] != at[:-1], True)
    sig.extend(at[last_of_cycle], value[last_of_cycle])
