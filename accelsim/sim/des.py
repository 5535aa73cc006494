"""Lean stand-ins for the SimPy parts the hot loop uses, event for event the same schedule.

A generation runs about 1.5 M SimPy events; SimPy's generic machinery (resource request classes
bound per instance, a `step` call per event) was a third of the run. These replicas keep SimPy's
exact semantics, so every run schedules the same events at the same (cycle, priority, order):

- `Environment.run(until=event)` is SimPy's step loop written out in one function;
- `Slots` is a `simpy.Container` whose gets and puts move one unit;
- `Fifo` is a `simpy.Store`: a bounded FIFO of items.

Each get and put is still an event (a waiter resumes when it is processed, as in SimPy), and the
queues of waiting requests are served in SimPy's order: a container serves waiters while it can,
a store only the first waiter per trigger.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import NORMAL, PENDING, Event

__all__ = ["Environment", "Fifo", "Slots", "call_after", "new_event", "succeed", "timeout"]


class Environment(simpy.Environment):
    """simpy.Environment whose `run(until=event)` inlines `step` (same order, same errors)."""

    def run(self, until: Any = None) -> Any:
        if not isinstance(until, Event) or until.callbacks is None:
            return super().run(until)
        until.callbacks.append(StopSimulation.callback)
        queue = self._queue
        try:
            while True:
                try:
                    self._now, _, _, event = heappop(queue)
                except IndexError:
                    raise EmptySchedule from None
                callbacks, event.callbacks = event.callbacks, None
                for callback in callbacks:
                    callback(event)
                if not event._ok and not hasattr(event, "_defused"):
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    raise exc
        except StopSimulation as exc:
            return exc.args[0]
        except EmptySchedule:
            raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {until}') from None


def succeed(env: simpy.Environment, event: Event, value: Any = None) -> None:
    """Event.succeed with env.schedule written out: the same (cycle, priority, order) entry."""
    event._ok = True
    event._value = value
    heappush(env._queue, (env._now, NORMAL, next(env._eid), event))


def new_event(env: simpy.Environment) -> Event:
    """env.event() without Event.__init__'s call overhead."""
    event = Event.__new__(Event)
    event.env = env
    event.callbacks = []
    event._value = PENDING
    return event


def call_after(env: simpy.Environment, delay: int, callback: Callable[[Event], None]) -> None:
    """env.timeout(delay).callbacks.append(callback), without the Timeout object's overhead."""
    event = Event.__new__(Event)
    event.env = env
    event.callbacks = [callback]
    event._ok = True
    event._value = None
    heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), event))


def timeout(env: simpy.Environment, delay: int) -> Event:
    """env.timeout(delay) as a plain triggered event: the same schedule entry, less overhead."""
    event = Event.__new__(Event)
    event.env = env
    event.callbacks = []
    event._ok = True
    event._value = None
    heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), event))
    return event


class Slots:
    """A simpy.Container moving one unit per get and put: `level` units free of `capacity`.

    One process gets from it, and every put returns a unit a get took, so a put never waits
    and at most one get does. Then a put made while no get waits needs no event: SimPy would
    process it with nothing to serve (a later get is served at once, since the put raised the
    level, and that getter cannot ask again before this put's turn, its own get coming after).
    The events left keep their order; the put returns None then."""

    __slots__ = ("env", "capacity", "level", "_waiting")

    def __init__(self, env: simpy.Environment, capacity: int, init: int) -> None:
        self.env, self.capacity, self.level = env, capacity, init
        self._waiting: Event | None = None

    def get(self) -> Event:
        event = new_event(self.env)
        if self.level >= 1:
            self.level -= 1
            succeed(self.env, event)
        elif self._waiting is not None:
            raise RuntimeError("Slots: a second process waits to get")
        else:
            self._waiting = event
        return event

    def put(self) -> Event | None:
        if self.level >= self.capacity:
            raise RuntimeError("Slots: a put beyond capacity (a unit no get took)")
        self.level += 1
        if self._waiting is None:
            return None
        event = new_event(self.env)
        event.callbacks.append(self._serve)
        succeed(self.env, event)
        return event

    def _serve(self, _: object) -> None:
        """A processed put serves the waiting get, as SimPy's _trigger_get."""
        waiting = self._waiting
        if waiting is not None and self.level >= 1:
            self.level -= 1
            self._waiting = None
            succeed(self.env, waiting)


class Fifo:
    """A simpy.Store: `items` in arrival order, at most `capacity` of them; `put_nowait` for a
    store with one getter."""

    __slots__ = ("env", "capacity", "items", "_gets", "_puts")

    def __init__(self, env: simpy.Environment, capacity: float = float("inf")) -> None:
        self.env, self.capacity = env, capacity
        self.items: list[Any] = []
        self._gets: list[Event] = []
        self._puts: list[tuple[Event, Any]] = []

    def put(self, item: Any) -> Event:
        event = new_event(self.env)
        self._puts.append((event, item))
        event.callbacks.append(self._trigger_get)
        self._trigger_put(None)
        return event

    def put_nowait(self, item: Any) -> None:
        """`put` on an unbounded store with one getter, by a caller that does not wait for it:
        made while no get waits, SimPy's put event would be processed with nothing to serve (as
        `Slots.put`), so none is scheduled; else the put is an event as in `put`."""
        if self.capacity != float("inf"):
            raise RuntimeError("Fifo.put_nowait: only an unbounded store never makes a put wait")
        if self._gets:
            self.put(item)
        else:
            self.items.append(item)

    def get(self) -> Event:
        event = new_event(self.env)
        self._gets.append(event)
        event.callbacks.append(self._trigger_put)
        self._trigger_get(None)
        return event

    # SimPy's Store serves only the first waiting request per trigger.
    def _trigger_put(self, _: object) -> None:
        if self._puts and len(self.items) < self.capacity:
            event, item = self._puts.pop(0)
            self.items.append(item)
            succeed(self.env, event)

    def _trigger_get(self, _: object) -> None:
        if self._gets and self.items:
            succeed(self.env, self._gets.pop(0), self.items.pop(0))
