"""The results store of a sweep: one JSON record per line, appended and synced as each point finishes.

Each record is written with one `write` of the whole line and its newline, then flushed to disk
(`fsync`), so killing a sweep at any moment loses at most the points in flight and leaves at
worst a partial last line. Opening the store detects that line (no newline at the end, or a last
line that is not a JSON record) and truncates the file to the end of the last complete record.
A malformed line anywhere else is not a crash artefact: it is a one-line error naming the line.

Lines are JSON with sorted keys and no spaces (floats by `repr`, so they round-trip exactly):
the same point gives the same bytes from every executor. The line order is the finishing order,
which may differ between runs; a later record of a key supersedes an earlier one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from accelsim.errors import InputError

try:  # an exclusive lock keeps two sweeps from appending to (and repairing) one file at once
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock
    fcntl = None  # type: ignore[assignment]

Record = dict[str, Any]


def encode(record: Record) -> bytes:
    """The line of a record: canonical JSON and a newline."""
    return (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode()


def _record(line: bytes) -> Record | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) and isinstance(value.get("key"), str) else None


def parse(data: bytes, path: str | Path) -> tuple[dict[str, Record], int]:
    """The records of a store's bytes (key -> latest record, in file order) and the length of
    the part made of complete records; raises InputError for a malformed line that is not last."""
    complete_end = data.rfind(b"\n") + 1
    lines = data[:complete_end].split(b"\n")[:-1]
    records: dict[str, Record] = {}
    good_end, offset = complete_end, 0
    for number, line in enumerate(lines, start=1):
        offset += len(line) + 1
        if not line.strip():
            continue
        record = _record(line)
        if record is None:
            if number == len(lines) and complete_end == len(data):
                good_end = offset - len(line) - 1  # a last line cut short, newline included
                break
            raise InputError(f"results store {path}: line {number}: not a JSON record with a key; fix or delete it")
        records.pop(record["key"], None)  # the latest record of a key, at the place it was written
        records[record["key"]] = record
    return records, good_end


def read_records(path: str | Path) -> dict[str, Record]:
    """Key -> record of a store, read-only: a partial last line is ignored, not repaired."""
    path = Path(path)
    if not path.exists():
        return {}
    return parse(path.read_bytes(), path)[0]


class ResultStore:
    """A JSON Lines results store opened for appending (and repaired if a crash cut it short)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            self._lock()
            data = self.path.read_bytes()
            self._records, good_end = parse(data, self.path)
            #: Bytes of a partial last line dropped on opening (0: the file was whole).
            self.dropped_bytes = len(data) - good_end
            if self.dropped_bytes:
                os.ftruncate(self._fd, good_end)
                os.fsync(self._fd)
        except BaseException:
            os.close(self._fd)
            raise

    def _lock(self) -> None:
        if fcntl is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"results store {self.path}: in use by another sweep") from None

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self._records.values())

    def get(self, key: str) -> Record | None:
        return self._records.get(key)

    def done_keys(self) -> set[str]:
        """Keys with a record, failed points included."""
        return set(self._records)

    def failed_keys(self) -> set[str]:
        return {key for key, record in self._records.items() if record.get("error") is not None}

    def records(self) -> list[Record]:
        """The latest record of every key, in the order they were written."""
        return list(self._records.values())

    def append(self, record: Record) -> None:
        """Write one record as one line, and make it durable before returning."""
        if not isinstance(record.get("key"), str):
            raise ValueError("a record needs a string key")
        line = encode(record)
        written = os.write(self._fd, line)
        while written < len(line):  # a short write (a full disk raises instead): finish the line
            written += os.write(self._fd, line[written:])
        os.fsync(self._fd)
        self._records.pop(record["key"], None)
        self._records[record["key"]] = record

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # also releases the lock
            self._fd = -1

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
