"""Exports of a trace window: VCD (+ GTKWave save file), Chrome trace-event JSON, CSV, Parquet.

VCD, Chrome JSON and Parquet (an interval table) are written change by change, so their cost
grows with the intervals and transfers in the window, never with its cycles: a 10^9-cycle
window costs what its changes cost. CSV, one row per cycle by nature, refuses windows over
`MAX_CSV_CYCLES`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from accelsim.errors import InputError
from accelsim.trace import signals
from accelsim.trace.listing import check_window
from accelsim.trace.trace import TRANSFER_KINDS, WRITE_KIND, Trace, layer_spans

EXPORT_FORMATS = ("vcd", "chrome", "csv", "parquet")
#: Longest window written as CSV (one row per cycle: about 0.5 GB of text at the limit).
MAX_CSV_CYCLES = 10_000_000

#: VCD / GTKWave name of the derived signal naming the DRAM transfer on the bus.
TRANSFER_SIGNAL = signals.DRAM_TRANSFER.name

# GTKWave groups in display order, from the declarations. Signals of the trace declared nowhere
# (a file from another build) land in "Other".
_GROUPS = signals.display_groups()


def _has_transfer_signal(trace: Trace) -> bool:
    # Derived from the transfer table, unless a future trace records such a signal itself.
    return len(trace.transfers.get("start_cycle", ())) > 0 and TRANSFER_SIGNAL not in trace.specs


def _window(trace: Trace, start: int | None, stop: int | None) -> tuple[int, int]:
    lo, hi = check_window(trace, start, stop)
    return int(lo), int(hi)


def _clock_hz(trace: Trace) -> float:
    return float(trace.meta.get("clock_hz") or trace.meta["hardware"]["clock_hz"])


def _checked_signals(trace: Trace, signals: Sequence[str] | None) -> list[str]:
    names = list(signals) if signals else list(trace.specs)
    for name in names:
        if name not in trace.specs:
            raise InputError(f"--signals: unknown {name!r}; allowed: {', '.join(trace.specs)}")
    return names


# --- VCD -----------------------------------------------------------------------------------------


def _timescale(clock_hz: float) -> tuple[str, Fraction, int]:
    """VCD `$timescale` of one clock period, timescale units per cycle, and the timescale's
    magnitude (GTKWave counts time in magnitude-1 units: a `2 ns` dump's #5 is its 10 ns).

    When the period is a whole number of ns or ps (1 GHz -> `1 ns`, 500 MHz -> `2 ns`, 800 MHz ->
    `1250 ps`) one unit is one cycle, so VCD times are cycle numbers. Otherwise (3 GHz) the unit
    is 1 ps and times are cycles scaled to the nearest ps.
    """
    period_ps = Fraction(10**12) / Fraction(clock_hz).limit_denominator(10**6)
    if period_ps.denominator == 1 and period_ps >= 1:
        ps = period_ps.numerator
        if ps % 1000 == 0:
            return f"{ps // 1000} ns", Fraction(1), ps // 1000
        return f"{ps} ps", Fraction(1), ps
    return "1 ps", period_ps, 1


def _period_text(clock_hz: float, scale: str, per_cycle: Fraction) -> str:
    """The clock period in the timescale's terms: `1 ns = 1 unit`, `333.333 ps = 1000/3 units`."""
    units = "1 unit" if per_cycle == 1 else f"{per_cycle} units"
    return f"{1e12 / clock_hz:g} ps = {units} of {scale}"


def _vcd_time(cycle: int, per_cycle: Fraction) -> int:
    return cycle if per_cycle == 1 else round(cycle * per_cycle)


def _vcd_id(index: int) -> str:
    """Short VCD identifier code from printable ASCII 33..126."""
    chars = [chr(33 + index % 94)]
    while index >= 94:
        index = index // 94 - 1
        chars.append(chr(33 + index % 94))
    return "".join(chars)


def _scope(name: str) -> tuple[str, str]:
    """(unit scope, leaf) of a signal: `mac.busy_lanes` -> (mac, busy_lanes); `layer` -> (sched, layer).

    Dots inside the leaf become underscores because GTKWave reads dots as hierarchy."""
    if "." in name:
        unit, leaf = name.split(".", 1)
        return unit, leaf.replace(".", "_")
    return "sched", name


def _width(trace: Trace, name: str) -> int:
    """Bits of a signal's VCD vector: its range over the whole run plus a sign bit, at least 2.

    The spare bit keeps GTKWave's signed display from showing large values as negative; sizing
    by the whole run (not the window) keeps every window's dump consistent with its save file."""
    values = trace.values[name]
    top = int(np.max(values, initial=0))
    bottom = int(np.min(values, initial=0))
    magnitude = max(top.bit_length(), (-bottom - 1).bit_length() if bottom < 0 else 0)
    return max(magnitude + 1, 2)


def _gtkw_name(trace: Trace, name: str) -> str:
    """Full name GTKWave gives the VCD variable of `name` (vectors get `[msb:0]`)."""
    unit, leaf = _scope(name)
    if name == TRANSFER_SIGNAL:
        return f"accelsim.{unit}.{leaf}"
    if trace.specs[name].is_state:
        return f"accelsim.{unit}.{leaf}_name"
    return f"accelsim.{unit}.{leaf}[{_width(trace, name) - 1}:0]"


def _vcd_text(text: str) -> str:
    # A VCD string value ends at whitespace; an empty one would not parse.
    return "_".join(str(text).split()) or "-"


def _transfer_changes(trace: Trace, lo: int, hi: int) -> tuple[list[int], list[str]]:
    """Changes of the derived transfer signal in [lo, hi): `read_weight_L3_t12` while a transfer
    holds the bus, `-` when none does. Cost: the transfers overlapping the window."""
    t = trace.transfers
    inside = np.flatnonzero((t["end_cycle"] > lo) & (t["start_cycle"] < hi))
    events: list[tuple[int, int, int]] = []  # (cycle, 0 = end / 1 = start, transfer)
    for i in inside.tolist():
        events.append((max(int(t["start_cycle"][i]), lo), 1, i))
        if int(t["end_cycle"][i]) < hi:
            events.append((int(t["end_cycle"][i]), 0, i))
    events.sort()  # at one cycle, ends before starts so a back-to-back transfer wins
    cycles, texts, showing = [lo], ["-"], None
    for cycle, is_start, i in events:
        if is_start:
            showing, text = i, _vcd_text(_transfer_label(trace, i, "_"))
        elif i == showing:
            showing, text = None, "-"
        else:
            continue  # an overlapped transfer ended: keep showing the later one
        if cycles[-1] == cycle:
            cycles.pop()
            texts.pop()
        if texts and texts[-1] == text:
            continue
        cycles.append(cycle)
        texts.append(text)
    return cycles, texts


def _transfer_label(trace: Trace, i: int, sep: str = " ") -> str:
    t = trace.transfers
    kind = int(t["kind"][i])
    verb = "write" if kind == WRITE_KIND else "read"
    return sep.join((verb, TRANSFER_KINDS[kind], f"L{int(t['layer'][i])}", f"t{int(t['tile'][i])}"))


def write_vcd(trace: Trace, path: str | Path, start: int | None = None, stop: int | None = None) -> None:
    """IEEE 1364 value change dump of cycles [start, stop) under `$scope module accelsim`.

    Times are absolute cycle numbers (the timescale is one clock period), so a time in the file
    is the cycle of the trace; the dump begins at `#start` and ends with `#stop`. (A clock whose
    period is not a whole number of ps gets a `1 ps` timescale and times in ps instead.)
    Integer signals are `wire` vectors; state signals are their code plus a `string` variable
    `<leaf>_name` holding the state's name, and `dram.transfer` names the transfer on the bus.

    String values are written `b<text> <id>`, not with GTKWave's own `s` prefix: GTKWave stores a
    `b` change of a `string` variable as that text (as it does an `s` one), and readers that know
    only the standard prefixes (vcdvcd) read `b` changes but skip `s` lines, losing every string.
    The header's `$comment` gives the clock and its period in timescale units.
    """
    lo, hi = _window(trace, start, stop)
    scale, per_cycle, _ = _timescale(_clock_hz(trace))
    times = "cycle numbers" if per_cycle == 1 else "cycles scaled to ps"
    clock = _clock_hz(trace)
    channels: list[tuple[np.ndarray | list[int], list[str]]] = []  # (change cycles, value lines)
    by_unit: dict[str, list[str]] = {}
    for name, spec in trace.specs.items():
        unit, leaf = _scope(name)
        starts, _, values = trace.intervals(name, lo, hi)
        width = _width(trace, name)
        code = _vcd_id(len(channels))
        by_unit.setdefault(unit, []).append(f"$var wire {width} {code} {leaf} $end")
        mask = (1 << width) - 1  # two's complement for negative values, if a signal ever has any
        channels.append((starts, [f"b{v & mask:b} {code}" for v in values.tolist()]))
        if spec.is_state:
            code = _vcd_id(len(channels))
            by_unit[unit].append(f"$var string 1 {code} {leaf}_name $end")
            labels = [_vcd_text(s) for s in spec.states]
            texts = [f"b{labels[v]} {code}" if 0 <= v < len(labels) else f"b{v} {code}" for v in values.tolist()]
            channels.append((starts, texts))
    if _has_transfer_signal(trace):
        unit, leaf = _scope(TRANSFER_SIGNAL)
        code = _vcd_id(len(channels))
        by_unit.setdefault(unit, []).append(f"$var string 1 {code} {leaf} $end")
        cycles, texts = _transfer_changes(trace, lo, hi)
        channels.append((cycles, [f"b{text} {code}" for text in texts]))

    # Merge every channel's changes in time order with one stable sort, which keeps declaration
    # order within a timestamp; the cost is the number of changes, not of cycles.
    cycles = np.concatenate([np.asarray(c, dtype=np.int64) for c, _ in channels])
    lines = [line for _, ls in channels for line in ls]
    order = np.argsort(cycles, kind="stable")
    cycles = cycles[order]
    cut = np.flatnonzero(np.diff(cycles)) + 1
    bounds = [0, *cut.tolist(), len(cycles)]
    with open(path, "w") as out:
        out.write(
            f"$comment accelsim trace of {trace.meta['network']['name']}, cycles {lo}:{hi};"
            f" times are {times}; clock {clock / 1e6:g} MHz, one period = {_period_text(clock, scale, per_cycle)}"
            f" $end\n$version accelsim $end\n$timescale {scale} $end\n"
        )
        out.write("$scope module accelsim $end\n")
        for unit, decls in by_unit.items():
            out.write(f"$scope module {unit} $end\n" + "\n".join(decls) + "\n$upscope $end\n")
        out.write("$upscope $end\n$enddefinitions $end\n")
        for k in range(len(bounds) - 1):
            a, b = bounds[k], bounds[k + 1]
            body = "\n".join(lines[j] for j in order[a:b].tolist())
            time = _vcd_time(int(cycles[a]), per_cycle)
            # The first timestamp (the window start) sets every variable: the `$dumpvars` block.
            out.write(f"#{time}\n$dumpvars\n{body}\n$end\n" if k == 0 else f"#{time}\n{body}\n")
        out.write(f"#{_vcd_time(hi, per_cycle)}\n")


# GTKWave save-file trace flags (gtkwave analyzer.h): right-justified decimal, a blank row
# opening a group, and one closing it.
_GTKW_DECIMAL = "@24"
_GTKW_TEXT = "@28"
_GTKW_GROUP_BEGIN = "@800200"
_GTKW_GROUP_END = "@1000200"
# Window size the save file asks for, and the wave pane it leaves with the tree collapsed and
# signal names 320 px wide (measured on GTKWave 3.3.118).
_GTKW_SIZE = (1280, 800)
_GTKW_WAVE_PX = 860
# GTKWave draws 200 * 2**zoom pixels per time unit (measured on GTKWave 3.3.118).
_GTKW_PX_PER_UNIT_AT_ZOOM_0 = 200


def write_gtkw(
    trace: Trace, vcd_path: str | Path, gtkw_path: str | Path, start: int | None = None, stop: int | None = None
) -> None:
    """GTKWave save file for `write_vcd`'s dump: signals in groups (MAC array, DRAM, Buffers,
    Schedule, then any other), in decimal, states as text, zoomed to fit the window.

    GTKWave has no cycle axis: it labels time in SI units of the VCD's timescale. The timescale
    is one clock period wherever the period is a whole number of ns or ps, so a time is a cycle
    number times the period; the save file's `[*]` comment lines say how to read it, and with a
    magnitude-1 timescale (1 ns at 1 GHz) `gtkwave --rcvar 'scale_to_time_dimension n'` keeps
    the axis in that unit, where its numbers are cycle numbers."""
    lo, hi = _window(trace, start, stop)
    clock = _clock_hz(trace)
    scale, per_cycle, magnitude = _timescale(clock)
    # GTKWave reads save-file times and zoom in units of the timescale's magnitude-1 unit.
    t0, t1 = _vcd_time(lo, per_cycle) * magnitude, _vcd_time(hi, per_cycle) * magnitude
    zoom = math.log2(_GTKW_WAVE_PX / (_GTKW_PX_PER_UNIT_AT_ZOOM_0 * max(t1 - t0, 1)))
    lines = [
        f"[*] accelsim: cycles {lo}:{hi} at {clock / 1e6:g} MHz; one cycle = {_period_text(clock, scale, per_cycle)}",
        f"[*] {_gtkw_reading(scale, per_cycle, magnitude)}",
        f'[dumpfile] "{Path(vcd_path).resolve()}"',
        f"[size] {_GTKW_SIZE[0]} {_GTKW_SIZE[1]}",
        "[pos] -1 -1",
        f"*{zoom:.6f} {t0}" + " -1" * 26,  # zoom, primary marker at the start (shows values), 26 named
        f"[timestart] {t0}",
        "[sst_expanded] 0",
        "[signals_width] 320",
    ]
    names = list(trace.specs)
    if _has_transfer_signal(trace):
        names.append(TRANSFER_SIGNAL)
    listed = {s for _, members in _GROUPS for s in members}
    groups = [*_GROUPS, (signals.OTHER_GROUP, tuple(n for n in names if n not in listed))]
    for title, members in groups:
        present = [s for s in members if s in names]
        if not present:
            continue
        lines += [_GTKW_GROUP_BEGIN, f"-{title}"]
        for s in present:
            text = s == TRANSFER_SIGNAL or trace.specs[s].is_state
            lines += [_GTKW_TEXT if text else _GTKW_DECIMAL, _gtkw_name(trace, s)]
        lines += [_GTKW_GROUP_END, f"-{title}"]
    Path(gtkw_path).write_text("\n".join(lines) + "\n")


def _gtkw_reading(scale: str, per_cycle: Fraction, magnitude: int) -> str:
    """How to read GTKWave's time axis as cycles, for the save file's comment."""
    unit = scale.split()[1]
    if per_cycle == 1 and magnitude == 1:
        return f"time in {unit} = cycle number; gtkwave --rcvar 'scale_to_time_dimension {unit[0]}' keeps the axis in {unit}"
    if per_cycle == 1:
        return f"time in {unit} / {magnitude} = cycle number"
    return f"time in {unit} x {1 / per_cycle} = cycle number (times are rounded to the {unit})"


# --- Chrome trace-event JSON ---------------------------------------------------------------------

# Tracks (threads of process 1): a track of slices for each state signal and a counter for each
# count signal, as their declarations say (`SignalSpec.is_slice_track`, `is_counter`); then the
# layers and the DRAM transfers, each on as many tracks as overlapping slices need.
_PID = 1
_TRANSFER_COLUMNS = ("tile", "payload_bytes", "bus_bytes", "issue_cycle", "start_cycle", "end_cycle", "done_cycle")


def _lanes(starts: Sequence[int], ends: Sequence[int]) -> list[int]:
    """Lane of each slice such that no two slices of one lane overlap (the first free lane, in
    start order): viewers draw a lane as one row, where an overlap would stack a staircase."""
    free_from: list[int] = []  # per lane, the cycle its last slice ends
    lanes = [0] * len(starts)
    for i in sorted(range(len(starts)), key=lambda i: (starts[i], ends[i])):
        lane = next((k for k, end in enumerate(free_from) if end <= starts[i]), len(free_from))
        if lane == len(free_from):
            free_from.append(0)
        free_from[lane] = ends[i]
        lanes[i] = lane
    return lanes


def _layer_slices(trace: Trace, lo: int, hi: int) -> list[dict[str, Any]]:
    out = []
    for index, (meta, (a, b)) in enumerate(zip(trace.meta["layers"], layer_spans(trace))):
        a, b = max(a, lo), min(b, hi)
        if b > a:
            args = {
                "index": index,
                "shape": meta.get("shape"),
                "plan": meta.get("plan", {}).get("text"),
                "precision": meta.get("mac_precision"),
                "macs": meta.get("macs"),
                "cycles": [a, b],
            }
            out.append({"name": meta["name"], "ph": "X", "pid": _PID, "ts": a, "dur": b - a, "args": args})
    return out


def _transfer_slices(trace: Trace, lo: int, hi: int) -> list[dict[str, Any]]:
    t = trace.transfers
    if not len(t.get("start_cycle", ())):
        return []
    inside = np.flatnonzero((t["end_cycle"] > lo) & (t["start_cycle"] < hi))
    columns = {c: t[c][inside].tolist() for c in t}
    layers = trace.meta["layers"]
    out = []
    for k, i in enumerate(inside.tolist()):
        a, b = max(columns["start_cycle"][k], lo), min(columns["end_cycle"][k], hi)
        layer = columns["layer"][k]
        args = {"layer": layers[layer]["name"] if 0 <= layer < len(layers) else layer}
        args |= {c: columns[c][k] for c in _TRANSFER_COLUMNS}
        out.append({"name": _transfer_label(trace, i), "ph": "X", "pid": _PID, "ts": a, "dur": b - a, "args": args})
    return out


def _chrome_events(trace: Trace, lo: int, hi: int) -> Iterator[dict[str, Any]]:
    """Trace events with `ts` and `dur` in whole clock cycles."""

    def thread(tid: int, title: str) -> Iterator[dict[str, Any]]:
        yield {"name": "thread_name", "ph": "M", "pid": _PID, "tid": tid, "ts": 0, "args": {"name": title}}
        yield {"name": "thread_sort_index", "ph": "M", "pid": _PID, "tid": tid, "ts": 0, "args": {"sort_index": tid}}

    network = trace.meta["network"]["name"]
    yield {"name": "process_name", "ph": "M", "pid": _PID, "tid": 0, "ts": 0, "args": {"name": f"accelsim {network}"}}
    state_names = [n for n, spec in trace.specs.items() if spec.is_slice_track]
    for tid, name in enumerate(state_names, start=1):
        yield from thread(tid, trace.specs[name].title)
        spec = trace.specs[name]
        s, e, v = (a.tolist() for a in trace.intervals(name, lo, hi))
        for a, b, value in zip(s, e, v):  # one signal's intervals never overlap: one track
            yield {"name": spec.label(value), "ph": "X", "pid": _PID, "tid": tid, "ts": a, "dur": b - a}

    tid = len(state_names)
    for title, slices in (("Layers", _layer_slices(trace, lo, hi)), ("DRAM bus", _transfer_slices(trace, lo, hi))):
        lanes = _lanes([x["ts"] for x in slices], [x["ts"] + x["dur"] for x in slices])
        for lane in range(max(lanes, default=0) + 1):
            yield from thread(tid + 1 + lane, title if lane == 0 else f"{title} ({lane + 1})")
        for event, lane in zip(slices, lanes):
            yield {**event, "tid": tid + 1 + lane}
        tid += max(lanes, default=0) + 1

    # Counters are per process in the trace-event format; tid 0 is the process itself.
    for name, spec in trace.specs.items():
        if not spec.is_counter:
            continue
        s, _, v = (a.tolist() for a in trace.intervals(name, lo, hi))
        series = spec.unit or "value"
        for a, value in zip(s, v):
            yield {"name": name, "ph": "C", "pid": _PID, "tid": 0, "ts": a, "args": {series: value}}


def write_chrome_trace(trace: Trace, path: str | Path, start: int | None = None, stop: int | None = None) -> None:
    """Chrome trace-event JSON of cycles [start, stop) for the Perfetto UI, speedscope and
    chrome://tracing: one track of slices each for MAC array states, layers (shape, tiling plan)
    and DRAM transfers, and counters for the other integer signals.

    `ts` and `dur` are whole clock cycles, not the format's microseconds: every slice starts and
    ends exactly where its interval does, so neighbours touch and never overlap (float
    microseconds overlapped by 1e-14 and stacked staircases). Viewers label the axis in us: read
    1 us as 1 cycle. `otherData` says so and gives the clock. Slices that do overlap (transfers
    sharing the bus) go to a second track, so that every track is one row."""
    lo, hi = _window(trace, start, stop)
    clock = _clock_hz(trace)
    other = {
        "network": trace.meta["network"]["name"],
        "hardware": trace.meta.get("hardware", {}).get("name"),
        "clock_hz": clock,
        "cycle_ns": 1e9 / clock,
        "cycles": [lo, hi],
        "ts_unit": "cycle",
        "ts": "ts and dur are clock cycles (viewers label them us: read 1 us as 1 cycle); seconds = ts / clock_hz",
    }
    with open(path, "w") as out:
        out.write(f'{{"otherData": {json.dumps(other)}, "traceEvents": [\n')
        # Events are encoded one at a time and written in batches: memory stays one batch.
        batch: list[str] = []
        for event in _chrome_events(trace, lo, hi):
            batch.append(json.dumps(event, separators=(",", ":")))
            if len(batch) == 10_000:
                out.write(",\n".join(batch) + ",\n")
                batch.clear()
        out.write(",\n".join(batch) + "\n]}\n")


# --- CSV -----------------------------------------------------------------------------------------


def _csv_field(value: object) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([value])
    return buffer.getvalue()


def write_csv(
    trace: Trace,
    path: str | Path,
    start: int | None = None,
    stop: int | None = None,
    signals: Sequence[str] | None = None,
) -> None:
    """One row per cycle of [start, stop): `cycle`, then each signal (states by name)."""
    lo, hi = _window(trace, start, stop)
    if hi - lo > MAX_CSV_CYCLES:
        raise InputError(
            f"--cycles: CSV writes one row per cycle; narrow the window from {hi - lo:,} to at most"
            f" {MAX_CSV_CYCLES:,} cycles"
        )
    names = _checked_signals(trace, signals)
    # Rows change only where some signal changes: write each run of equal rows as the cycle
    # numbers joined by the run's shared tail, so the cost per row is one integer's text.
    clipped = [trace.intervals(n, lo, hi) for n in names]
    cuts = np.unique(np.concatenate([np.array([lo, hi], dtype=np.int64), *(s for s, _, _ in clipped)]))
    tails = []
    for name, (s, _, v) in zip(names, clipped):
        held = v[np.searchsorted(s, cuts[:-1], side="right") - 1].tolist()
        labels = [_csv_field(state) for state in trace.specs[name].states]
        tails.append([labels[x] if 0 <= x < len(labels) else str(x) for x in held] if labels else list(map(str, held)))
    chunk = 100_000  # rows per write: bounds memory for long runs of equal rows
    with open(path, "w", newline="") as out:
        out.write(",".join(_csv_field(c) for c in ("cycle", *names)) + "\n")
        for k, (a, b) in enumerate(zip(cuts[:-1].tolist(), cuts[1:].tolist())):
            tail = "".join("," + column[k] for column in tails) + "\n"
            for c in range(a, b, chunk):
                out.write(tail.join(map(str, range(c, min(c + chunk, b)))) + tail)


# --- Parquet -------------------------------------------------------------------------------------

PARQUET_MISSING = "--format parquet needs the optional extra: pip install 'accelsim[data]'"


def write_parquet(
    trace: Trace,
    path: str | Path,
    start: int | None = None,
    stop: int | None = None,
    signals: Sequence[str] | None = None,
) -> None:
    """The intervals of [start, stop) as one table, a row per interval of each signal:
    `start_cycle`, `end_cycle` (exclusive, clipped to the window), `signal`, `value`, and
    `value_name` (the state's name for state signals, null otherwise). Rows are in signal
    order, then time; the clock, network and window are in the file's metadata."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(PARQUET_MISSING) from None
    lo, hi = _window(trace, start, stop)
    names = _checked_signals(trace, signals)
    starts, ends, values, which, labels = [], [], [], [], []
    for k, name in enumerate(names):
        s, e, v = trace.intervals(name, lo, hi)
        starts.append(s.astype(np.int64))
        ends.append(e.astype(np.int64))
        values.append(v.astype(np.int64))
        which.append(np.full(len(s), k, dtype=np.int32))
        states = np.array([*trace.specs[name].states, None], dtype=object)  # the last: no name
        labels.append(states[np.where((v >= 0) & (v < len(states) - 1), v, len(states) - 1)])
    table = pa.table(
        {
            "start_cycle": np.concatenate(starts),
            "end_cycle": np.concatenate(ends),
            "signal": pa.DictionaryArray.from_arrays(np.concatenate(which), pa.array(names, pa.string())),
            "value": np.concatenate(values),
            "value_name": pa.array(np.concatenate(labels), pa.string()),
        }
    )
    meta = {"clock_hz": _clock_hz(trace), "network": trace.meta["network"]["name"], "cycles": [lo, hi]}
    pq.write_table(table.replace_schema_metadata({"accelsim": json.dumps(meta)}), path)


# --- dispatcher ----------------------------------------------------------------------------------


def export(
    trace: Trace,
    fmt: str,
    path: str | Path,
    start: int | None = None,
    stop: int | None = None,
    signals: Sequence[str] | None = None,
) -> list[Path]:
    """Write cycles [start, stop) of `trace` as `fmt` (one of EXPORT_FORMATS); returns the files
    written. VCD also writes a GTKWave save file `<stem>.gtkw` beside the dump."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"--format: unknown {fmt!r}; allowed: {', '.join(EXPORT_FORMATS)}")
    path = Path(path)
    if fmt == "vcd":
        write_vcd(trace, path, start, stop)
        gtkw = path.with_suffix(".gtkw")
        write_gtkw(trace, path, gtkw, start, stop)
        return [path, gtkw]
    if fmt == "chrome":
        write_chrome_trace(trace, path, start, stop)
        return [path]
    if fmt == "parquet":
        write_parquet(trace, path, start, stop, signals)
        return [path]
    write_csv(trace, path, start, stop, signals)
    return [path]
