"""Study specs: a TOML file naming a grid (and/or a list) of sweep points.

    [study]
    name = "roofline"
    networks = ["resnet18", "resnet50"]
    hardware = "seed"                      # a preset (or a list of presets)
    accuracy = "none"                      # or "parametric:0.9125"
    [study.compression]                    # display name = pipeline text (or a list of texts)
    FP32 = "baseline"
    INT8 = "int8"
    [grid]                                 # cartesian product over hardware fields
    "mac_array.lanes" = [16, 64, 256]
    "dram.bandwidth_bytes_per_s" = [2e8, 1e9]
    [[points]]                             # explicit points, after the grid
    network = "resnet20"
    compression = "prune(0.5) -> int8"
    overrides = { "dram.latency_ns" = 50.0 }

The grid expands as networks x hardware presets x compressions x grid values, each in the order
written (the last grid field varies fastest). Everything is validated before any simulation:
errors are one line naming the file, the key and what is allowed.
"""

from __future__ import annotations

import functools
import itertools
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from accelsim.errors import InputError
from accelsim.study.points import Point

if TYPE_CHECKING:
    import pandas

T = TypeVar("T")

_TABLES = ("study", "grid", "points")
_STUDY_KEYS = ("name", "networks", "hardware", "accuracy", "compression")
_POINT_KEYS = ("network", "compression", "configuration", "hardware", "overrides", "accuracy")


@dataclass(frozen=True)
class Study:
    """A named, validated list of points (duplicates kept: the sweep runs them once)."""

    name: str
    points: tuple[Point, ...]
    source: str = ""

    def to_dataframe(self, store: str | Path | None = None) -> pandas.DataFrame:
        """The stored results of this study's points as a tidy DataFrame (`accelsim.study.tidy`):
        one row per point that ran, one column per grid dimension and per figure. `store`: the
        results store (default: the spec's path with .jsonl). Needs the extra `accelsim[data]`."""
        from accelsim.study.sweep import results
        from accelsim.study.tidy import results_dataframe

        if store is None and not self.source:
            raise InputError("store: required for a study not loaded from a file")
        return results_dataframe(results(self.points, store or Path(self.source).with_suffix(".jsonl")))


def _at(key: str, make: Callable[[], T]) -> T:
    """Run `make`, prefixing a one-line error with the spec key it came from."""
    try:
        return make()
    except InputError as exc:
        raise InputError(f"{key}: {exc}") from None


def _strings(value: Any, key: str) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise InputError(f"{key}: must be a non-empty string or a non-empty list of strings (got {value!r})")
    return values


def _flatten(table: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted field paths of a (possibly nested) table: `mac_array.lanes` or `mac_array = {lanes}`."""
    out = []
    for name, value in table.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            out += _flatten(value, path + ".")
        else:
            out.append((path, value))
    return out


def _unknown(table: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    for name in table:
        if name not in allowed:
            raise InputError(f"{where}{name}: unknown key; allowed: {', '.join(allowed)}")


def _compressions(value: Any) -> list[tuple[str, str]]:
    """(display name, pipeline text) pairs of `study.compression`."""
    if value is None:
        return [("baseline", "baseline")]
    if isinstance(value, dict):
        if not value:
            raise InputError("study.compression: must name at least one configuration")
        pairs = []
        for name, text in value.items():
            if not isinstance(text, str):
                raise InputError(f"study.compression.{name}: must be a pipeline text (got {text!r})")
            pairs.append((name, text))
        return pairs
    return [(text, text) for text in _strings(value, "study.compression")]


def _grid(table: Any, hardware: Sequence[str]) -> tuple[list[str], list[list[Any]]]:
    """The grid's fields and their value lists, each value checked on every preset."""
    if not isinstance(table, dict):
        raise InputError("grid: must be a table of hardware field = [values]")
    fields, values = [], []
    for path, raw in _flatten(table):
        options = raw if isinstance(raw, list) else [raw]
        if not options:
            raise InputError(f"grid.{path}: must list at least one value")
        for i, value in enumerate(options):
            for preset in hardware:
                _at(f"grid.{path}[{i}]", functools.partial(_check_hardware, preset, path, value))
        fields.append(path)
        values.append(options)
    return fields, values


def _check_hardware(preset: str, path: str, value: Any) -> None:
    """One grid value on its own: a known field, and a value that field accepts."""
    Point("mlp", hardware=preset, overrides=((path, value),)).accelerator()


def _grid_points(study: Mapping[str, Any], grid: Any) -> list[Point]:
    networks = _strings(study.get("networks"), "study.networks")
    presets = _strings(study.get("hardware", "seed"), "study.hardware")
    accuracy = study.get("accuracy", "none")
    _at("study.accuracy", lambda: Point("mlp", accuracy=accuracy))
    for i, net in enumerate(networks):
        _at(f"study.networks[{i}]", lambda n=net: Point(n))
    for i, preset in enumerate(presets):
        _at(f"study.hardware[{i}]", lambda p=preset: Point("mlp", hardware=p))
    compressions = _compressions(study.get("compression"))
    for name, text in compressions:
        _at(f"study.compression.{name}", lambda t=text: Point("mlp", t))
    fields, values = _grid(grid if grid is not None else {}, presets)
    points = []
    for net, preset, (name, text), combo in itertools.product(
        networks, presets, compressions, itertools.product(*values)
    ):
        points.append(Point(net, text, name, preset, tuple(zip(fields, combo)), accuracy))
    return points


def _explicit_points(entries: Any, study: Mapping[str, Any]) -> list[Point]:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputError("points: must be an array of tables ([[points]])")
    points = []
    for i, entry in enumerate(entries):
        where = f"points[{i}]"
        _unknown(entry, _POINT_KEYS, where + ".")
        if "network" not in entry:
            raise InputError(f"{where}.network: required")
        overrides = entry.get("overrides", {})
        if not isinstance(overrides, dict):
            raise InputError(f"{where}.overrides: must be a table of hardware field = value")
        presets = study.get("hardware", "seed")
        if "hardware" not in entry and not isinstance(presets, str):
            raise InputError(f"{where}.hardware: required when study.hardware lists several presets")
        fields = {
            "network": entry["network"],
            "compression": entry.get("compression", "baseline"),
            "configuration": entry.get("configuration", ""),
            "hardware": entry.get("hardware", presets),
            "overrides": tuple(_flatten(overrides)),
            "accuracy": entry.get("accuracy", study.get("accuracy", "none")),
        }
        for name, value in fields.items():
            if name != "overrides" and not isinstance(value, str):
                raise InputError(f"{where}.{name}: must be a string (got {value!r})")
        point = _at(where, lambda f=fields: Point(**f))
        points.append(_at(where, point.validate))
    return points


def parse_study(data: Mapping[str, Any], default_name: str = "study") -> Study:
    """The validated points of a spec already read from TOML."""
    _unknown(data, _TABLES, "")
    study = data.get("study", {})
    if not isinstance(study, dict):
        raise InputError("study: must be a table")
    _unknown(study, _STUDY_KEYS, "study.")
    name = study.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise InputError(f"study.name: must be a non-empty string (got {name!r})")
    points: list[Point] = []
    if "networks" in study:
        points += _grid_points(study, data.get("grid"))
    elif "grid" in data or "compression" in study:
        raise InputError("study.networks: required with [grid] or [study.compression]")
    if "points" in data:
        points += _explicit_points(data["points"], study)
    if not points:
        raise InputError("study.networks: required (or at least one [[points]] entry)")
    for point in points:  # combinations of valid values can still clash
        try:
            point.validate()
        except InputError as exc:
            raise InputError(f"grid point {point.label()}: {exc}") from None
    return Study(name, tuple(points))


def load_study(path: str | Path) -> Study:
    """Read and validate a study spec; every error is one line naming the file and the key."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise InputError(f"study spec {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"study spec {path}: invalid TOML: {exc}") from None
    study = _at(f"study spec {path}", lambda: parse_study(data, path.stem))
    return Study(study.name, study.points, str(path))
