"""A SimPy front end to the banked DRAM model: processes ask for bursts, a driver process advances the model.

Simulated time is in DRAM device clock cycles. A request is one burst (the device's request size); it is
offered to the controller in the order asked, not before its `at` cycle, and waits while its channel's
queue is full (with accepts_per_cycle=1, the trace-replay semantics of dram_stream). Its event succeeds
at the cycle its data has left the bus, with the Transaction as value. The driver sleeps until the model
says something can change (a timing constraint expiring, a refresh falling due) or a new request arrives,
so idle stretches cost nothing. Refresh keeps the driver waking every tREFI / ranks, so run the
environment until an event or a time, not until it runs dry.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator

import simpy

from accelsim.dram_devices import DramControllerConfig, DramDevice
from accelsim.sim.banked_dram import BankedDram, Transaction


class BankedDramPort:
    """Owns a BankedDram and the SimPy process that drives it."""

    def __init__(
        self,
        env: simpy.Environment,
        device: DramDevice,
        config: DramControllerConfig | None = None,
        accepts_per_cycle: int | None = None,
    ) -> None:
        """`accepts_per_cycle`: how many waiting requests may enter per cycle (None: all that fit, in order)."""
        self.env = env
        self.accepts_per_cycle = accepts_per_cycle
        self.dram = BankedDram(device, config)
        self.pending: deque[tuple[Transaction, simpy.Event]] = deque()
        self.events: dict[int, simpy.Event] = {}  # id(transaction) -> its completion event
        self.arrived = env.event()
        self.last_step = -1
        env.process(self._drive())

    def access(self, address: int, is_write: bool, at: int | None = None) -> simpy.Event:
        """Ask for one burst at `address`, offered at cycle `at` (default: now)."""
        arrival = int(self.env.now) if at is None else at
        txn = Transaction(address, is_write, arrival)
        done = self.env.event()
        self.pending.append((txn, done))
        self.events[id(txn)] = done
        if not self.arrived.triggered:
            self.arrived.succeed()
        return done

    def _accept(self, now: int) -> bool:
        """Admit waiting requests in order until one is not due, its queue is full, or the cycle's quota is met."""
        accepted = 0
        while self.pending and accepted != self.accepts_per_cycle:
            txn = self.pending[0][0]
            if txn.arrival > now:
                break
            channel = self.dram.route(txn)
            if not channel.will_accept(txn.is_write):
                break
            self.pending.popleft()
            channel.add(txn, now)
            accepted += 1
        return accepted > 0

    def _complete(self, now: int) -> None:
        """Fire each finished transaction's event at the cycle its data is done."""
        for ch in self.dram.channels:
            for txn in ch.completed:
                done = self.events.pop(id(txn))
                self.env.timeout(txn.done - now, txn).callbacks.append(lambda ev, d=done: d.succeed(ev.value))
            ch.completed.clear()

    def _drive(self) -> Generator[simpy.Event, object, None]:
        env = self.env
        while True:
            yield env.timeout(0)  # let the processes due this cycle ask first
            now = int(env.now)
            if now == self.last_step:  # woken twice in one cycle: the next step belongs to the next cycle
                yield env.timeout(1)
                continue
            self.last_step = now
            changed = self._accept(now)
            for ch in self.dram.channels:
                ch.flush = not self.pending  # nothing waiting upstream: drain buffered writes
            changed |= self.dram.step(now)
            self._complete(now)
            if changed:
                yield env.timeout(1)
                continue
            wake = self.dram.next_change(now)
            if self.pending and self.pending[0][0].arrival > now:
                wake = min(wake, self.pending[0][0].arrival)
            if self.arrived.triggered:
                self.arrived = env.event()
            yield env.timeout(wake - now) | self.arrived
