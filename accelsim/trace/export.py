"""Exports of a trace window: VCD (+ GTKWave save file), Chrome trace-event JSON, CSV.

Every export streams interval by interval, so its cost grows with the changes in the window,
never with its cycles (CSV, one row per cycle by nature, refuses very long windows).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import numpy as np

from accelsim.errors import InputError
from accelsim.metrics import layer_spans
from accelsim.trace.listing import check_window
from accelsim.trace.trace import TRANSFER_KINDS, Trace

EXPORT_FORMATS = ("vcd", "chrome", "csv")
#: Longest window written as CSV, one row per cycle.
MAX_CSV_CYCLES = 2_000_000

# GTKWave groups: (group title, signals) in display order.
_GROUPS = (
    ("MAC array", ("mac.state", "mac.busy_lanes", "mac.macs")),
    ("DRAM", ("dram.bus", "dram.queue")),
    ("Buffers", ("buf.weight", "buf.activation", "buf.output")),
    ("Schedule", ("layer", "tile")),
)


# --- VCD -----------------------------------------------------------------------------------------


def _timescale(clock_hz: float) -> tuple[str, float]:
    """VCD timescale of one cycle, and cycles per timescale unit (1 when a cycle is whole ns)."""
    period_ns = 1e9 / clock_hz
    if abs(period_ns - round(period_ns)) < 1e-9 and round(period_ns) >= 1:
        return f"{round(period_ns)} ns", 1.0
    return "1 ps", 1e12 / clock_hz


def _vcd_id(index: int) -> str:
    chars = [chr(33 + index % 94)]
    while index >= 94:
        index = index // 94 - 1
        chars.append(chr(33 + index % 94))
    return "".join(chars)


def _unit(name: str) -> str:
    """VCD scope of a signal: its prefix (mac, dram, buf), or `sched` for layer and tile."""
    return name.split(".")[0] if "." in name else "sched"


def _width(max_value: int) -> int:
    # One bit more than the value needs, so viewers showing it as signed never go negative.
    return max(int(max_value).bit_length() + 1, 2)


def write_vcd(trace: Trace, path: str | Path, start: int | None = None, stop: int | None = None) -> None:
    """IEEE 1364 value change dump of [start, stop); times are absolute cycle numbers (scaled to
    the timescale when a cycle is not a whole number of ns). State signals appear twice: as the
    state code and as a `string` variable holding the state's name."""
    lo, hi = check_window(trace, start, stop)
    scale, per_unit = _timescale(trace.meta["clock_hz"])
    names = list(trace.specs)
    clipped = {n: trace.intervals(n, lo, hi) for n in names}
    ids, texts = {}, {}
    with open(path, "w") as out:
        out.write(f"$comment accelsim trace of {trace.meta['network']['name']} $end\n$timescale {scale} $end\n")
        out.write("$scope module accelsim $end\n")
        for unit in sorted({_unit(n) for n in names}):
            out.write(f"$scope module {unit} $end\n")
            for n in (n for n in names if _unit(n) == unit):
                ids[n] = _vcd_id(len(ids) + len(texts))
                width = _gtkw_msb(trace, n) + 1
                out.write(f"$var wire {width} {ids[n]} {n.split('.')[-1]} $end\n")
                if trace.specs[n].states:
                    texts[n] = _vcd_id(len(ids) + len(texts))
                    out.write(f"$var string 1 {texts[n]} {n.split('.')[-1]}_name $end\n")
            out.write("$upscope $end\n")
        out.write("$upscope $end\n$enddefinitions $end\n")
        _write_changes(out, trace, clipped, ids, texts, per_unit)
        out.write(f"#{round(hi * per_unit)}\n")


def _write_changes(out: IO[str], trace: Trace, clipped: dict, ids: dict, texts: dict, per_unit: float) -> None:
    # Merge every signal's changes in time order: one sort over all interval starts.
    names = list(clipped)
    starts = np.concatenate([clipped[n][0] for n in names])
    which = np.concatenate([np.full(len(clipped[n][0]), i) for i, n in enumerate(names)])
    values = np.concatenate([clipped[n][2].astype(np.int64) for n in names])
    order = np.lexsort((which, starts))
    current = None
    for cycle, i, value in zip(starts[order].tolist(), which[order].tolist(), values[order].tolist()):
        if cycle != current:
            out.write(f"#{round(cycle * per_unit)}\n")
            current = cycle
        name = names[i]
        out.write(f"b{value:b} {ids[name]}\n")
        if name in texts:
            out.write(f"s{trace.specs[name].states[value]} {texts[name]}\n")


def write_gtkw(
    trace: Trace, vcd_path: str | Path, gtkw_path: str | Path, start: int | None = None, stop: int | None = None
) -> None:
    """GTKWave save file that opens the VCD with the useful signals in groups, in decimal,
    zoomed to show the whole exported window."""
    lo, hi = check_window(trace, start, stop)
    scale, per_unit = _timescale(trace.meta["clock_hz"])
    # GTKWave's default window shows about 2 * 2**-zoom time units (measured with GTKWave 3.3).
    zoom = -math.log2(max((hi - lo) * per_unit, 2) / 2)
    lines = [
        f'[dumpfile] "{Path(vcd_path).resolve()}"',
        f"[timestart] {round(lo * per_unit)}",
        f"*{zoom:.6f} {round(lo * per_unit)}" + " -1" * 26,
        "@200",
    ]
    for title, signals in _GROUPS:
        present = [s for s in signals if s in trace.specs]
        if not present:
            continue
        lines += ["@800200", f"-{title}"]
        for s in present:
            unit, leaf = _unit(s), s.split(".")[-1]
            if trace.specs[s].states:
                lines += ["@28", f"accelsim.{unit}.{leaf}_name"]
            else:
                lines += ["@24", f"accelsim.{unit}.{leaf}[{_gtkw_msb(trace, s)}:0]"]
        lines += ["@1000200", f"-{title}"]
    Path(gtkw_path).write_text("\n".join(lines) + "\n")


def _gtkw_msb(trace: Trace, name: str) -> int:
    """Most significant bit of a signal's vector, sized for the whole run so that every window's
    VCD and its save file agree."""
    return _width(int(np.max(trace.values[name], initial=0))) - 1


# --- Chrome trace-event JSON ---------------------------------------------------------------------


def _us(cycle: int, clock_hz: float) -> float:
    return cycle / clock_hz * 1e6


def _chrome_events(trace: Trace, lo: int, hi: int) -> Iterator[dict]:
    clock = trace.meta["clock_hz"]
    threads = {"MAC array": 1, "Layers": 2, "DRAM bus": 3, "Counters": 4}
    yield {"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "ts": 0, "args": {"name": "accelsim"}}
    for title, tid in threads.items():
        yield {"name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "ts": 0, "args": {"name": title}}
    states = trace.specs["mac.state"].states
    for s, e, v in zip(*(a.tolist() for a in trace.intervals("mac.state", lo, hi))):
        yield {"name": states[v], "ph": "X", "pid": 1, "tid": 1, "ts": _us(s, clock), "dur": _us(e - s, clock)}
    for meta, (s, e) in zip(trace.meta["layers"], layer_spans(trace)):
        s, e = max(s, lo), min(e, hi)
        if e > s:
            args = {"shape": meta["shape"], "plan": meta["plan"]["text"], "precision": meta["mac_precision"]}
            yield {
                "name": meta["name"],
                "ph": "X",
                "pid": 1,
                "tid": 2,
                "ts": _us(s, clock),
                "dur": _us(e - s, clock),
                "args": args,
            }
    t = trace.transfers
    inside = np.nonzero((t["end_cycle"] > lo) & (t["start_cycle"] < hi))[0]
    layers = trace.meta["layers"]
    for i in inside.tolist():
        s, e = max(int(t["start_cycle"][i]), lo), min(int(t["end_cycle"][i]), hi)
        kind = TRANSFER_KINDS[int(t["kind"][i])]
        verb = "write" if kind == "output" else "read"
        args = {c: int(t[c][i]) for c in ("issue_cycle", "done_cycle", "payload_bytes", "bus_bytes", "tile")}
        args["layer"] = layers[int(t["layer"][i])]["name"]
        yield {
            "name": f"{verb} {kind}",
            "ph": "X",
            "pid": 1,
            "tid": 3,
            "ts": _us(s, clock),
            "dur": _us(e - s, clock),
            "args": args,
        }
    for name in ("dram.queue", "mac.busy_lanes", "buf.weight", "buf.activation", "buf.output"):
        for s, _, v in zip(*(a.tolist() for a in trace.intervals(name, lo, hi))):
            yield {
                "name": name,
                "ph": "C",
                "pid": 1,
                "tid": 4,
                "ts": _us(s, clock),
                "args": {trace.specs[name].unit: v},
            }


def write_chrome_trace(trace: Trace, path: str | Path, start: int | None = None, stop: int | None = None) -> None:
    """Chrome trace-event JSON (Perfetto UI, speedscope, chrome://tracing): MAC states, layers and
    DRAM transfers as slices on their own tracks, queue depth and occupancies as counters."""
    lo, hi = check_window(trace, start, stop)
    with open(path, "w") as out:
        out.write('{"displayTimeUnit": "ns", "otherData": ')
        out.write(
            json.dumps(
                {"network": trace.meta["network"]["name"], "cycles": [lo, hi], "clock_hz": trace.meta["clock_hz"]}
            )
        )
        out.write(', "traceEvents": [\n')
        for i, event in enumerate(_chrome_events(trace, lo, hi)):
            out.write((",\n" if i else "") + json.dumps(event))
        out.write("\n]}\n")


# --- CSV -----------------------------------------------------------------------------------------


def write_csv(
    trace: Trace,
    path: str | Path,
    start: int | None = None,
    stop: int | None = None,
    signals: Sequence[str] | None = None,
) -> None:
    """One row per cycle of the window: the cycle, then each signal (states by name)."""
    lo, hi = check_window(trace, start, stop)
    if hi - lo > MAX_CSV_CYCLES:
        raise InputError(
            f"--cycles: CSV writes one row per cycle; narrow the window to at most {MAX_CSV_CYCLES:,} cycles"
        )
    names = list(signals or trace.specs)
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["cycle", *names])
        chunk = 100_000
        for a in range(lo, hi, chunk):
            b = min(a + chunk, hi)
            columns = []
            for n in names:
                values = trace.expand(n, a, b)
                states = trace.specs[n].states
                columns.append(np.asarray(states, dtype=object)[values] if states else values)
            writer.writerows(zip(range(a, b), *columns))


def export(
    trace: Trace,
    fmt: str,
    path: str | Path,
    start: int | None = None,
    stop: int | None = None,
    signals: Sequence[str] | None = None,
) -> list[Path]:
    """Write `trace` in `fmt` (one of EXPORT_FORMATS); returns the files written."""
    path = Path(path)
    if fmt == "vcd":
        write_vcd(trace, path, start, stop)
        gtkw = path.with_suffix(".gtkw")
        write_gtkw(trace, path, gtkw, start, stop)
        return [path, gtkw]
    if fmt == "chrome":
        write_chrome_trace(trace, path, start, stop)
        return [path]
    if fmt == "csv":
        write_csv(trace, path, start, stop, signals)
        return [path]
    raise InputError(f"--format: unknown {fmt!r}; allowed: {', '.join(EXPORT_FORMATS)}")
