"""Trace files: one `.npz` archive, readable with numpy alone (`np.load(..., allow_pickle=False)`).

Schema version 3 (documented for readers without accelsim in `traces/README.md`):
- `meta`: 0-d unicode array holding JSON: schema ("accelsim-trace"), schema_version, end_cycle,
  clock_hz, hardware, network, provenance, layers (shapes, precisions, tiling plans, dataflow),
  counters (activity per layer), and `signals`: name -> {unit, description, states}.
- `signal/<name>/starts`: interval starts, sorted, the first is 0; uint32 while the run is
  shorter than 2^32 cycles, else uint64. `signal/<name>/values`: the value held from each start
  to the next (the last until end_cycle), in the smallest integer type that holds them.
- `transfer/<column>`: integer columns of the DRAM transfer table (see TRANSFER_COLUMNS), one
  row per request, each in the smallest integer type that holds it.
- `digest`: 0-d unicode array, the SHA-256 (hex) of every other member in file order (`_Digest`),
  checked on every load: a file changed by even one bit is refused as corrupted. Version 2 files
  (no digest) still load.
Signal members are stored uncompressed, so `load(..., lazy=True)` memory-maps them: reading a
window binary-searches the starts and touches only the pages it needs (the digest check reads
the file once). The transfer table and the metadata, always read whole, are deflated.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from accelsim.errors import InputError
from accelsim.trace import signals
from accelsim.trace.trace import TRANSFER_COLUMNS, Trace

SCHEMA = "accelsim-trace"
SCHEMA_VERSION = 3
#: Oldest schema still read (version 2 has no digest).
OLDEST_SCHEMA_VERSION = 2
#: Deepest nesting of JSON containers accepted in `meta` (a file nested deeper is refused).
MAX_META_DEPTH = 32


class TraceFileError(InputError):
    """A file that is not a readable accelsim trace; the message is one line."""


def _smallest_int(values: np.ndarray) -> np.ndarray:
    if not len(values):
        return values.astype(np.uint8)
    lo, hi = int(values.min()), int(values.max())
    for dtype in (np.uint8, np.uint16, np.uint32, np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return values.astype(dtype)
    return values.astype(np.int64)


def _meta(trace: Trace) -> dict[str, Any]:
    meta = dict(trace.meta)
    meta.update(schema=SCHEMA, schema_version=SCHEMA_VERSION, end_cycle=trace.end_cycle)
    meta["signals"] = {
        name: {"unit": s.unit, "description": s.description, "states": list(s.states)}
        for name, s in trace.specs.items()
    }
    return meta


class _Text:
    """A 0-d unicode array (`np.array(text)`) written and hashed from the str, a chunk at a
    time: a long generation's metadata is 100 MB of JSON, 400 MB as numpy's UCS-4 array."""

    _CHARS = 1 << 20

    def __init__(self, text: str) -> None:
        self.text = text
        self.dtype = np.dtype(f"<U{max(len(text), 1)}")
        self.shape = ()
        self.ndim = 0

    def chunks(self) -> Iterator[bytes]:
        """The array's bytes (UCS-4, little-endian), as `np.array(text).tobytes()`."""
        text = self.text or "\0"
        for i in range(0, len(text), self._CHARS):
            yield text[i : i + self._CHARS].encode("utf-32-le")

    def write(self, out: Any) -> None:
        """As np.lib.format.write_array(out, np.array(text))."""
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": ()}
        np.lib.format.write_array_header_1_0(out, header)  # what write_array picks for so short a header
        for chunk in self.chunks():
            out.write(chunk)


def _members(trace: Trace) -> Iterator[tuple[str, np.ndarray | _Text]]:
    """(member name, array) in file order, each converted only when it is written: a long run
    never holds a second copy of all its signals."""
    start_type = np.uint32 if trace.end_cycle < 2**32 else np.uint64
    yield "meta", _Text(json.dumps(_meta(trace)))
    for name in trace.specs:
        yield f"signal/{name}/starts", np.asarray(trace.starts[name]).astype(start_type)
        yield f"signal/{name}/values", _smallest_int(np.asarray(trace.values[name]))
    for column in TRANSFER_COLUMNS:
        yield f"transfer/{column}", _smallest_int(np.asarray(trace.transfers[column]))


class _Digest:
    """SHA-256 over members in file order: each member's name, dtype, shape and bytes."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, name: str, array: np.ndarray | _Text) -> None:
        header = f"{name}\0{array.dtype.str}\0{array.shape}\0".encode()
        self._hash.update(header)
        if isinstance(array, _Text):
            for chunk in array.chunks():
                self._hash.update(chunk)
            return
        self._hash.update(np.ascontiguousarray(array).view(np.uint8).ravel() if array.ndim else array.tobytes())

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _with_digest(
    members: Iterator[tuple[str, np.ndarray | _Text]],
) -> Iterator[tuple[str, np.ndarray | _Text]]:
    digest = _Digest()
    for name, array in members:
        digest.add(name, array)
        yield name, array
    yield "digest", np.array(digest.hexdigest())


def save(trace: Trace, path: str | Path) -> None:
    """Write atomically: a crash mid-write never leaves a half-written file under `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.resolve().parent)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w") as archive:
            for name, array in _with_digest(_members(trace)):
                # A fixed timestamp keeps files of identical runs identical, byte for byte.
                member = zipfile.ZipInfo(name + ".npy", (1980, 1, 1, 0, 0, 0))
                member.compress_type = zipfile.ZIP_STORED if name.startswith("signal/") else zipfile.ZIP_DEFLATED
                with archive.open(member, "w", force_zip64=True) as out:
                    if isinstance(array, _Text):
                        array.write(out)
                    else:
                        np.lib.format.write_array(out, array, allow_pickle=False)
                del array  # freed before the next member is converted
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _memmap_member(path: Path, archive: zipfile.ZipFile, member: str) -> np.ndarray:
    """Map one stored (uncompressed) .npy member of the archive without reading it."""
    info = archive.getinfo(member + ".npy")
    if info.compress_type != zipfile.ZIP_STORED:
        with archive.open(info) as fh:
            return np.lib.format.read_array(fh, allow_pickle=False)
    with open(path, "rb") as fh:
        fh.seek(info.header_offset)
        local = fh.read(30)
        name_len, extra_len = int.from_bytes(local[26:28], "little"), int.from_bytes(local[28:30], "little")
        fh.seek(info.header_offset + 30 + name_len + extra_len)
        version = np.lib.format.read_magic(fh)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(fh)
        offset = fh.tell()
    if fortran or dtype.hasobject:
        raise ValueError("unexpected array layout")
    if not shape or shape[0] == 0:
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


def load(path: str | Path, lazy: bool = False) -> Trace:
    """Read a trace file; a missing, foreign, corrupt, truncated or newer-schema file raises
    TraceFileError. `lazy` memory-maps the signals instead of reading them."""
    path = Path(path)
    try:
        return _load(path, lazy)
    except TraceFileError:
        raise
    except FileNotFoundError:
        raise TraceFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TraceFileError(f"{path}: is a directory") from None
    except PermissionError:
        raise TraceFileError(f"{path}: permission denied") from None
    except zipfile.BadZipFile:
        raise TraceFileError(f"{path}: not a readable accelsim trace (not a zip archive, or a damaged one)") from None
    except Exception as exc:  # any damage a flipped byte can do to zip, npy or JSON structure
        raise TraceFileError(f"{path}: trace file is corrupted ({type(exc).__name__})") from None


def _load(path: Path, lazy: bool) -> Trace:
    with np.load(path, allow_pickle=False) as data:
        if "meta" not in data.files:
            raise TraceFileError(f"{path}: not an accelsim trace (no meta member)")
        meta = json.loads(str(data["meta"]))
        _check_schema(meta, path)
        _check_depth(meta, path)
        specs = {
            name: signals.from_file(name, s["unit"], s["description"], tuple(s["states"]))
            for name, s in meta["signals"].items()
        }
        transfers = {c: data[f"transfer/{c}"] for c in TRANSFER_COLUMNS}
        if lazy:
            with zipfile.ZipFile(path) as archive:
                arrays = {
                    key: _memmap_member(path, archive, f"signal/{name}/{key.split('|')[1]}")
                    for name in specs
                    for key in (f"{name}|starts", f"{name}|values")
                }
            starts = {name: arrays[f"{name}|starts"] for name in specs}
            values = {name: arrays[f"{name}|values"] for name in specs}
        else:
            starts = {name: data[f"signal/{name}/starts"] for name in specs}
            values = {name: data[f"signal/{name}/values"] for name in specs}
        if meta["schema_version"] >= 3:
            _check_digest(data, meta, starts, values, transfers, path)
        _check_signals(starts, values, meta["end_cycle"], path)
    end = meta.pop("end_cycle")
    for key in ("signals", "schema", "schema_version"):
        meta.pop(key)
    return Trace(specs=specs, starts=starts, values=values, end_cycle=end, transfers=transfers, meta=meta)


def _check_digest(data: Any, meta: dict, starts: dict, values: dict, transfers: dict, path: Path) -> None:
    """Recompute the digest over what was read, in the order `save` wrote it."""
    digest = _Digest()
    digest.add("meta", data["meta"])
    for name in meta["signals"]:
        digest.add(f"signal/{name}/starts", np.asarray(starts[name]))
        digest.add(f"signal/{name}/values", np.asarray(values[name]))
    for column in TRANSFER_COLUMNS:
        digest.add(f"transfer/{column}", np.asarray(transfers[column]))
    if str(data["digest"]) != digest.hexdigest():
        raise TraceFileError(f"{path}: trace file is corrupted (its content does not match its digest)")


def _check_depth(meta: Any, path: Path) -> None:
    """Refuse metadata nested deeper than MAX_META_DEPTH (no valid trace comes close)."""
    level, depth = [meta], 0
    while level:
        depth += 1
        if depth > MAX_META_DEPTH:
            raise TraceFileError(f"{path}: trace file is corrupted (metadata nested deeper than {MAX_META_DEPTH})")
        level = [v for c in level for v in (c.values() if isinstance(c, dict) else c) if isinstance(v, (dict, list))]


def _check_schema(meta: Any, path: Path) -> None:
    if not isinstance(meta, dict) or meta.get("schema") != SCHEMA:
        raise TraceFileError(f"{path}: not an accelsim trace")
    version = meta.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise TraceFileError(
            f"{path}: trace schema version {version} is newer than this accelsim reads ({SCHEMA_VERSION}); upgrade accelsim"
        )
    if version < OLDEST_SCHEMA_VERSION:
        raise TraceFileError(f"{path}: trace schema version {version} is no longer read; re-run to regenerate it")


def _check_signals(starts: dict, values: dict, end: Any, path: Path) -> None:
    """Cheap structural checks, so a damaged file fails here rather than giving wrong answers."""
    if not isinstance(end, int) or end < 0:
        raise TraceFileError(f"{path}: corrupt trace (end_cycle)")
    for name, s in starts.items():
        if len(s) != len(values[name]) or not len(s) or int(s[0]) != 0 or int(s[-1]) >= max(end, 1):
            raise TraceFileError(f"{path}: corrupt trace (signal {name})")


def file_size_bytes(path: str | Path) -> int:
    return Path(path).stat().st_size
