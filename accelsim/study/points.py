"""Points of a design-space sweep: (network, compression, hardware) as plain, hashable data.

A `Point` holds names and numbers only, so it pickles cheaply to worker processes and Dask
workers, and its `key` (a hash of its canonical JSON) names it the same in every process and on
every machine: the results store uses it to skip what is done and to run duplicates once.
`evaluate_point` turns a point into a JSON-ready record and never raises for a failing point.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accelsim import hardware as hw_module
from accelsim.compress.accuracy import AccuracyProvider, ParametricAccuracy
from accelsim.compress.spec import canonical, parse_pipeline
from accelsim.errors import InputError
from accelsim.hardware import FIXED_PACK, SCALABLE_PACK, Accelerator
from accelsim.study.evaluate import Configuration, Result, evaluate
from accelsim.workload.layers import Network
from accelsim.workload.networks import NETWORKS, network

#: Part of every key: bump it when a change to the simulator changes results, so stores written
#: before the change are rerun instead of silently mixed with new results.
MODEL_VERSION = "accelsim-0.1.0/1"

#: Named MAC packings accepted for the override `mac_array.pack`.
PACKINGS = {"scalable": SCALABLE_PACK, "fixed": FIXED_PACK}

#: Networks with a measured accuracy provider (`accelsim.compress.measured`): accuracy "measured".
MEASURED_NETWORKS = ("digits-cnn", "digits-mlp")

OverrideValue = int | float | str | bool
Overrides = tuple[tuple[str, OverrideValue], ...]


def canonical_pipeline(text: str) -> str:
    """A pipeline text spelled one way (see `accelsim.compress.spec.canonical`); a bad text is a
    one-line error."""
    try:
        return canonical(text)
    except InputError as exc:
        raise InputError(f"compression: {exc}") from None


@functools.lru_cache(maxsize=16)
def _preset_dict(name: str) -> dict[str, Any]:
    return dataclasses.asdict(hw_module.preset(name))


def _default_at(preset: str, path: str) -> Any:
    """The preset's value of a dotted hardware field; a one-line error for an unknown field."""
    node: Any = _preset_dict(preset)
    for depth, part in enumerate(path.split(".")):
        if not isinstance(node, dict) or part not in node or part == "name":
            where = ".".join(path.split(".")[:depth]) or "the accelerator"
            allowed = ", ".join(k for k in node if k != "name") if isinstance(node, dict) else "none (a value)"
            raise InputError(f"overrides: {path!r}: unknown hardware field; allowed in {where}: {allowed}")
        node = node[part]
    return node


def _canonical_value(preset: str, path: str, value: Any) -> OverrideValue:
    """Integers given for float fields become floats, so `1000000000` and `1e9` are one point."""
    default = _default_at(preset, path)
    if isinstance(default, dict):
        if path == "mac_array.pack" and value in PACKINGS:
            return str(value)
        raise InputError(
            f"overrides: {path}: must be one of {', '.join(PACKINGS)} or set per precision (got {value!r})"
        )
    if not isinstance(value, (int, float, str, bool)):
        raise InputError(f"overrides: {path}: must be a number, a string or a boolean (got {value!r})")
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"overrides: {path}: must be finite (got {value!r})")
    return value


def canonical_overrides(preset: str, overrides: Mapping[str, Any] | Sequence[tuple[str, Any]]) -> Overrides:
    """Overrides sorted by field, values canonical; unknown fields and repeats are errors."""
    pairs = list(overrides.items()) if isinstance(overrides, Mapping) else [tuple(p) for p in overrides]
    seen: set[str] = set()
    out = []
    for pair in pairs:
        if len(pair) != 2 or not isinstance(pair[0], str):
            raise InputError(f"overrides: expected (field, value) pairs (got {pair!r})")
        path, value = pair
        if path in seen:
            raise InputError(f"overrides: {path}: given twice")
        seen.add(path)
        out.append((path, _canonical_value(preset, path, value)))
    return tuple(sorted(out))


def canonical_accuracy(text: str) -> str:
    """ "none", "parametric:<baseline fraction>", or "measured" (the network's measured provider,
    `accelsim.compress.measured`: the digits networks)."""
    kind, _, value = str(text).strip().partition(":")
    if kind in ("none", "measured") and not value:
        return kind
    if kind == "parametric":
        try:
            baseline = float(value)
        except ValueError:
            baseline = math.nan
        if 0.0 <= baseline <= 1.0:
            return f"parametric:{baseline!r}"
    raise InputError(f'accuracy: must be "none" or "parametric:<baseline in [0, 1]>" or "measured" (got {text!r})')


def _value_text(value: OverrideValue) -> str:
    return (
        f"{value:.15g}" if isinstance(value, float) else str(value).lower() if isinstance(value, bool) else str(value)
    )


@dataclass(frozen=True)
class Point:
    """One (network, compression, hardware) point of a sweep; canonical on construction.

    `overrides` are (dotted hardware field, value) pairs applied to the preset `hardware`, e.g.
    ("mac_array.lanes", 256), ("dram.bandwidth_bytes_per_s", 1e9), ("mac_array.pack", "fixed"),
    ("mac_array.pack.int8", 2). `accuracy` is "none" or "parametric:<baseline>".
    """

    network: str
    compression: str = "baseline"
    configuration: str = ""  # display name; default: the pipeline text
    hardware: str = "seed"
    overrides: Overrides = ()
    accuracy: str = "none"

    def __post_init__(self) -> None:
        if self.network not in NETWORKS:
            raise InputError(f"network: unknown {self.network!r}; allowed: {', '.join(NETWORKS)}")
        _preset_dict(self.hardware)  # an unknown preset is a one-line ConfigError
        pipeline_text = canonical_pipeline(self.compression)
        object.__setattr__(self, "compression", pipeline_text)
        object.__setattr__(self, "configuration", str(self.configuration).strip() or pipeline_text)
        object.__setattr__(self, "overrides", canonical_overrides(self.hardware, self.overrides))
        object.__setattr__(self, "accuracy", canonical_accuracy(self.accuracy))
        if self.accuracy == "measured" and self.network not in MEASURED_NETWORKS:
            raise InputError(
                f'accuracy: must be "none" or "parametric:<baseline>" for {self.network}; '
                f'"measured" only for {", ".join(MEASURED_NETWORKS)}'
            )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready; `Point.from_dict` reads it back to an equal point."""
        return {
            "network": self.network,
            "compression": self.compression,
            "configuration": self.configuration,
            "hardware": self.hardware,
            "overrides": dict(self.overrides),
            "accuracy": self.accuracy,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Point:
        return cls(**{**data, "overrides": tuple(dict(data.get("overrides", {})).items())})

    @functools.cached_property
    def key(self) -> str:
        """First 16 hex digits of the SHA-256 of the canonical JSON of the point and MODEL_VERSION."""
        text = json.dumps({**self.as_dict(), "model_version": MODEL_VERSION}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def hardware_name(self) -> str:
        """The accelerator's name: the preset, then every override, e.g. `seed+mac_array.lanes=256`."""
        if not self.overrides:
            return self.hardware
        return self.hardware + "+" + ",".join(f"{path}={_value_text(value)}" for path, value in self.overrides)

    def label(self) -> str:
        return f"{self.network} / {self.configuration} / {self.hardware_name}"

    def override(self, path: str, default: Any = None) -> Any:
        """The value this point sets for a dotted hardware field (`default` when it sets none)."""
        return dict(self.overrides).get(path, default)

    def field_value(self, path: str) -> OverrideValue | None:
        """The value a dotted hardware field has at this point: its override, else the preset's.

        A whole packing table reads as its name (`scalable`, `fixed`), or None when it matches none."""
        if path in dict(self.overrides):
            return self.override(path)
        value = _default_at(self.hardware, path)
        if isinstance(value, dict):
            return next((name for name, pack in PACKINGS.items() if dataclasses.asdict(pack) == value), None)
        return value

    def accelerator(self) -> Accelerator:
        """The preset with the overrides applied, validated field by field (one-line errors)."""
        return _accelerator(self.hardware, self.overrides, self.hardware_name)

    def network_model(self) -> Network:
        return _network(self.network)

    def configuration_model(self) -> Configuration:
        return Configuration(self.configuration, parse_pipeline(self.compression))

    def accuracy_provider(self) -> AccuracyProvider | None:
        if self.accuracy == "none":
            return None
        if self.accuracy == "measured":
            return _measured(self.network)
        return ParametricAccuracy(float(self.accuracy.partition(":")[2]))

    def validate(self) -> Point:
        """Build everything a simulation needs but the simulation, so a bad point fails before any run."""
        self.accelerator()
        self.network_model()
        self.configuration_model()
        self.accuracy_provider()
        return self


def grid_fields(points: Sequence[Point]) -> list[str]:
    """The hardware fields any of `points` overrides, in first-seen order: a sweep's grid dimensions."""
    return list(dict.fromkeys(path for point in points for path, _ in point.overrides))


@functools.lru_cache(maxsize=4096)
def _accelerator(preset: str, overrides: Overrides, name: str) -> Accelerator:
    data = json.loads(json.dumps(_preset_dict(preset)))  # a deep copy of plain data
    for path, value in overrides:
        *parents, leaf = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[leaf] = dataclasses.asdict(PACKINGS[value]) if path == "mac_array.pack" else value
    data["name"] = name
    return hw_module.from_dict(data)


@functools.lru_cache(maxsize=4)
def _measured(name: str) -> AccuracyProvider:
    """One measured provider per network and process: it keeps the models of every pipeline
    prefix it has trained, which later points of a sweep reuse."""
    from accelsim.compress.measured import MeasuredAccuracy  # numpy training: only when asked

    return MeasuredAccuracy(name)


@functools.lru_cache(maxsize=32)
def _network(name: str) -> Network:
    return network(name)  # frozen: safe to share between the points of one process


def evaluate_point(point: Point, trace_dir: str | None = None) -> dict[str, Any]:
    """The record of one point: {"key", "point", "result", "error"}, JSON-ready.

    A point that fails (a buffer too small for a layer, a compression the network does not
    allow) gets `result` None and `error` "<ExceptionType>: <message>" instead of raising, so a
    sweep goes on. With `trace_dir`, the trace is also saved there as `<key>.npz`."""
    record: dict[str, Any] = {"key": point.key, "point": point.as_dict(), "result": None, "error": None}
    try:
        evaluation = evaluate(
            point.network_model(),
            point.configuration_model(),
            point.accelerator(),
            point.accuracy_provider(),
            keep_trace=trace_dir is not None,
        )
        if trace_dir is not None:
            from accelsim.trace import store  # only sweeps that keep traces need the writer

            assert evaluation.trace is not None
            store.save(evaluation.trace, Path(trace_dir) / f"{point.key}.npz")
        record["result"] = evaluation.result.as_dict()
    except Exception as exc:  # noqa: BLE001 - a failing point is data, not a crash of the sweep
        record["error"] = f"{type(exc).__name__}: {' '.join(str(exc).splitlines())}"
    return record


_RESULT_FIELDS = tuple(f.name for f in dataclasses.fields(Result))


def result_of(record: Mapping[str, Any]) -> Result | None:
    """The `Result` of a stored record (None for a failed point); derived figures are recomputed."""
    data = record.get("result")
    if data is None:
        return None
    return Result(**{name: data[name] for name in _RESULT_FIELDS})
