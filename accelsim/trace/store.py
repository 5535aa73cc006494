"""Trace files: one `.npz` archive, readable with numpy alone (`allow_pickle=False`).

Layout (schema version 1):
- `meta`: 0-d unicode array holding JSON: schema, schema_version, clock_hz, hardware, network,
  provenance, layers (shapes, precisions, tiling plans), counters (activity per layer),
  end_cycle, and `signals`: name -> {unit, description, states}.
- `signal/<name>/starts`, `signal/<name>/values`: int64 interval starts (sorted, first is 0) and
  the value held from each start to the next; the last holds until end_cycle.
- `transfer/<column>`: int64 columns of the DRAM transfer table (see TRANSFER_COLUMNS).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from accelsim.errors import InputError
from accelsim.trace.recorder import SignalSpec
from accelsim.trace.trace import TRANSFER_COLUMNS, Trace

SCHEMA = "accelsim-trace"
SCHEMA_VERSION = 1


class TraceFileError(InputError):
    """A file that is not a readable accelsim trace; the message is one line."""


def save(trace: Trace, path: str | Path) -> None:
    """Write atomically: a crash mid-write never leaves a half-written file under `path`."""
    meta = dict(trace.meta)
    meta.update(schema=SCHEMA, schema_version=SCHEMA_VERSION, end_cycle=trace.end_cycle)
    meta["signals"] = {
        name: {"unit": s.unit, "description": s.description, "states": list(s.states)}
        for name, s in trace.specs.items()
    }
    arrays: dict[str, np.ndarray] = {"meta": np.array(json.dumps(meta))}
    for name in trace.specs:
        arrays[f"signal/{name}/starts"] = trace.starts[name]
        arrays[f"signal/{name}/values"] = trace.values[name]
    for column in TRANSFER_COLUMNS:
        arrays[f"transfer/{column}"] = trace.transfers[column]
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load(path: str | Path) -> Trace:
    """Read a trace file; a missing, foreign, corrupt or newer-schema file raises TraceFileError."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            _check_schema(meta, path)
            specs = {
                name: SignalSpec(name, s["unit"], s["description"], tuple(s["states"]))
                for name, s in meta["signals"].items()
            }
            starts = {name: data[f"signal/{name}/starts"] for name in specs}
            values = {name: data[f"signal/{name}/values"] for name in specs}
            transfers = {c: data[f"transfer/{c}"] for c in TRANSFER_COLUMNS}
    except TraceFileError:
        raise
    except FileNotFoundError:
        raise TraceFileError(f"{path}: no such file") from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError, json.JSONDecodeError) as exc:
        raise TraceFileError(f"{path}: not a readable accelsim trace ({type(exc).__name__})") from None
    end = meta.pop("end_cycle")
    meta.pop("signals")
    return Trace(specs=specs, starts=starts, values=values, end_cycle=end, transfers=transfers, meta=meta)


def _check_schema(meta: dict, path: str | Path) -> None:
    if not isinstance(meta, dict) or meta.get("schema") != SCHEMA:
        raise TraceFileError(f"{path}: not an accelsim trace")
    version = meta.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise TraceFileError(
            f"{path}: trace schema version {version} is newer than this accelsim reads ({SCHEMA_VERSION})"
        )
