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

__all__ = ["Environment", "Fifo", "Process", "Slots", "call_after", "new_event", "succeed", "timeout"]


class Process(simpy.Process):
    """simpy.Process whose `_resume` holds its generator's `send` and its own bound `_resume`:
    SimPy's, statement for statement, without building a bound method and looking up the
    generator per event (a generation resumes processes about 7 M times)."""

    def __init__(self, env: simpy.Environment, generator: simpy.events.ProcessGenerator) -> None:
        super().__init__(env, generator)
        self._send = generator.send
        self._resume_callback = self._resume

    def _resume(self, event: Event) -> None:
        env = self.env
        env._active_proc = self
        send = self._send
        while True:
            try:
                if event._ok:
                    event = send(event._value)
                else:
                    event._defused = True
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    event = self._generator.throw(exc)
            except StopIteration as e:
                event = None  # type: ignore[assignment]
                self._ok = True
                self._value = e.args[0] if len(e.args) else None
                env.schedule(self)
                break
            except BaseException as e:
                event = None  # type: ignore[assignment]
                self._ok = False
                e.__traceback__ = e.__traceback__.tb_next  # type: ignore[union-attr]
                self._value = e
                env.schedule(self)
                break
            try:
                callbacks = event.callbacks
            except AttributeError:
                raise RuntimeError(f'Invalid yield value "{event}"') from None
            if callbacks is not None:
                callbacks.append(self._resume_callback)
                break
        self._target = event
        env._active_proc = None


class Environment(simpy.Environment):
    """simpy.Environment whose `run(until=event)` inlines `step` (same order, same errors) and
    whose processes are `Process`."""

    def process(self, generator: simpy.events.ProcessGenerator) -> Process:
        return Process(self, generator)

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
        env = self.env
        event = Event.__new__(Event)  # new_event and succeed written out: a get per tile
        event.env = env
        event.callbacks = []
        if self.level >= 1:
            self.level -= 1
            event._ok = True
            event._value = None
            heappush(env._queue, (env._now, NORMAL, next(env._eid), event))
        elif self._waiting is not None:
            raise RuntimeError("Slots: a second process waits to get")
        else:
            event._value = PENDING
            self._waiting = event
        return event

    def put(self) -> Event | None:
        if self.level >= self.capacity:
            raise RuntimeError("Slots: a put beyond capacity (a unit no get took)")
        self.level += 1
        if self._waiting is None:
            return None
        env = self.env
        event = Event.__new__(Event)
        event.env = env
        event.callbacks = [self._serve]
        event._ok = True
        event._value = None
        heappush(env._queue, (env._now, NORMAL, next(env._eid), event))
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

    __slots__ = ("env", "capacity", "items", "_gets", "_puts", "_on_put", "_on_get")

    def __init__(self, env: simpy.Environment, capacity: float = float("inf")) -> None:
        self.env, self.capacity = env, capacity
        self.items: list[Any] = []
        self._gets: list[Event] = []
        self._puts: list[tuple[Event, Any]] = []
        # The callbacks bound once: a put and a get per DRAM request each append one.
        self._on_put, self._on_get = self._trigger_get, self._trigger_put

    def put(self, item: Any) -> Event:
        event = Event.__new__(Event)  # new_event written out
        event.env = self.env
        event.callbacks = [self._on_put]
        event._value = PENDING
        self._puts.append((event, item))
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
        event = Event.__new__(Event)
        event.env = self.env
        event.callbacks = [self._on_get]
        event._value = PENDING
        self._gets.append(event)
        self._trigger_get(None)
        return event

    # SimPy's Store serves only the first waiting request per trigger (succeed written out).
    def _trigger_put(self, _: object) -> None:
        if self._puts and len(self.items) < self.capacity:
            event, item = self._puts.pop(0)
            self.items.append(item)
            event._ok = True
            event._value = None
            env = self.env
            heappush(env._queue, (env._now, NORMAL, next(env._eid), event))

    def _trigger_get(self, _: object) -> None:
        if self._gets and self.items:
            event = self._gets.pop(0)
            event._ok = True
            event._value = self.items.pop(0)
            env = self.env
            heappush(env._queue, (env._now, NORMAL, next(env._eid), event))
