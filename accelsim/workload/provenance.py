"""Typed provenance: one record per compression step that produced a network.

A network carries its steps (`Network.provenance`) and the simulator writes them into every
trace's metadata as JSON, so the record lives here, below both `compress` (which makes them) and
`sim` (which stores them). A step is its method's pipeline name, its parameters as plain values
(numbers, strings, None, tuples of those) and the text reports print; `from_json(as_json())`
gives back an equal step. Traces written before typed provenance hold the text alone: they read
back as steps with that text, no method and no parameters.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: A parameter value as JSON can hold it and read it back equal (tuples come back from lists).
Value = None | bool | int | float | str | tuple[Any, ...]


def _plain(name: str, value: Any) -> Value:
    """`value` as a plain JSON-able value: enums by their value, sequences as tuples."""
    if isinstance(value, enum.Enum):
        return _plain(name, value.value)
    if isinstance(value, (list, tuple)):
        return tuple(_plain(name, v) for v in value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"provenance: parameter {name}: {type(value).__name__} is not a plain value")


def _json(value: Value) -> Any:
    return [_json(v) for v in value] if isinstance(value, tuple) else value


@dataclass(frozen=True)
class ProvenanceStep:
    """One compression step: `ProvenanceStep("prune", (("ratio", 0.5),), "prune(structured, ratio=0.5)")`."""

    method: str
    params: tuple[tuple[str, Value], ...] = ()
    text: str = ""

    def __post_init__(self) -> None:
        pairs = self.params.items() if isinstance(self.params, Mapping) else self.params
        object.__setattr__(self, "params", tuple((str(k), _plain(str(k), v)) for k, v in pairs))
        if not self.text:
            object.__setattr__(self, "text", self.method)

    def __str__(self) -> str:
        return self.text

    def param(self, name: str) -> Value:
        """The value of parameter `name` (KeyError when the step has none)."""
        return dict(self.params)[name]

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "params": {k: _json(v) for k, v in self.params}, "text": self.text}

    @classmethod
    def from_json(cls, record: Mapping[str, Any] | str) -> ProvenanceStep:
        """A step from `as_json()`, or from the bare text of a trace written before typed provenance."""
        if isinstance(record, str):
            return cls("", (), record)
        return cls(str(record["method"]), tuple(record.get("params", {}).items()), str(record["text"]))


def steps_from_json(records: Iterable[Mapping[str, Any] | str]) -> tuple[ProvenanceStep, ...]:
    """The steps of a trace's `meta["provenance"]` (empty for an uncompressed network)."""
    return tuple(ProvenanceStep.from_json(record) for record in records)


def provenance_text(steps: Iterable[ProvenanceStep]) -> str:
    """The steps as reports print them: `prune(structured, ratio=0.5) -> quantize(...)`."""
    return " -> ".join(step.text for step in steps)
