"""Exports checked by independent readers: vcdvcd for VCD, json for trace events, csv."""

import csv
import dataclasses
import json
import re
import sys

import numpy as np
import pytest
from vcdvcd import VCDVCD

from accelsim import hardware
from accelsim.errors import InputError
from accelsim.precision import Precision
from accelsim.sim.engine import simulate
from accelsim.trace import export, store
from accelsim.trace.trace import TRANSFER_KINDS, WRITE_KIND, layer_spans
from accelsim.workload.networks import network

MIDDLE = (1_000_000, 1_250_000)


@pytest.fixture(scope="module")
def simulated():
    return simulate(network("resnet20").with_precision(Precision.INT8), hardware.seed())


@pytest.fixture(scope="module", params=["simulated", "stored"])
def trace(request, simulated, tmp_path_factory):
    """The run as simulated (int64 columns) and as read back from a file (narrow unsigned ones)."""
    if request.param == "simulated":
        return simulated
    path = tmp_path_factory.mktemp("store") / "run.npz"
    store.save(simulated, path)
    return store.load(path)


def _var(name):
    unit, leaf = name.split(".", 1) if "." in name else ("sched", name)
    return f"accelsim.{unit}.{leaf}"


def _per_cycle(times, values, lo, hi):
    """Per-cycle values over [lo, hi) of a change list whose first change is at lo."""
    times = np.asarray(times, dtype=np.int64)
    assert times[0] == lo and np.all(np.diff(times) > 0) and times[-1] < hi
    return np.repeat(np.asarray(values), np.diff(np.append(times, hi)))


@pytest.mark.parametrize("window", [(None, None), MIDDLE])
def test_vcd_matches_the_trace_cycle_for_cycle(tmp_path, trace, window):
    path = tmp_path / "run.vcd"
    written = export.export(trace, "vcd", path, *window)
    assert written == [path, path.with_suffix(".gtkw")]
    vcd = VCDVCD(str(path))
    assert vcd.timescale["unit"] == "ns" and vcd.timescale["magnitude"] == 1  # one cycle at 1 GHz
    lo, hi = window[0] or 0, window[1] or trace.end_cycle
    assert (vcd.begintime, vcd.endtime) == (lo, hi)  # absolute cycle numbers, final #stop
    for name, spec in trace.specs.items():
        signal = vcd[_var(name)]
        expected = trace.expand(name, lo, hi)
        width = int(signal.size)
        assert width >= 2 and int(expected.max()) < 2 ** (width - 1), name  # never negative as signed
        times, raw = zip(*signal.tv)
        assert np.array_equal(_per_cycle(times, [int(v, 2) for v in raw], lo, hi), expected), name
        if spec.states:  # the state's name, a `string` variable, read by vcdvcd like any other
            times, texts = zip(*vcd[_var(name) + "_name"].tv)
            codes = [spec.states.index(text) for text in texts]
            assert np.array_equal(_per_cycle(times, codes, lo, hi), expected), name


def test_vcdvcd_reads_every_variable_strings_included(tmp_path, trace):
    path = tmp_path / "run.vcd"
    export.write_vcd(trace, path, *MIDDLE)
    vcd = VCDVCD(str(path))
    declared = re.findall(r"^\$var (\w+) \d+ \S+ (\w+) \$end$", path.read_text(), re.M)
    assert {kind for kind, _ in declared} == {"wire", "string"}
    states = [name for name, spec in trace.specs.items() if spec.states]
    assert len(vcd.signals) == len(declared) == len(trace.specs) + len(states) + 1  # names, dram.transfer
    for reference in vcd.signals:
        assert vcd[reference].tv and vcd[reference].tv[0][0] == MIDDLE[0], reference  # set at the window start
    assert {text for _, text in vcd["accelsim.mac.state_name"].tv} <= set(trace.specs["mac.state"].states)


def test_vcd_names_the_transfer_on_the_bus(tmp_path, trace):
    path = tmp_path / "run.vcd"
    export.write_vcd(trace, path, *MIDDLE)
    times, texts = zip(*VCDVCD(str(path))["accelsim.dram.transfer"].tv)
    t = trace.transfers
    for cycle in np.linspace(MIDDLE[0], MIDDLE[1] - 1, 2000).astype(int).tolist():
        shown = texts[np.searchsorted(times, cycle, side="right") - 1]
        on_bus = np.flatnonzero((t["start_cycle"] <= cycle) & (t["end_cycle"] > cycle))
        if len(on_bus):
            i = on_bus[-1]
            verb = "write" if t["kind"][i] == WRITE_KIND else "read"
            assert shown == f"{verb}_{TRANSFER_KINDS[t['kind'][i]]}_L{t['layer'][i]}_t{t['tile'][i]}"
        else:
            assert shown == "-"


@pytest.mark.parametrize(
    "clock_hz, timescale, times",
    [(5e8, "2 ns", [16000, 16100]), (8e8, "1250 ps", [16000, 16100]), (3e9, "1 ps", [5333333, 5366667])],
)
def test_vcd_timescale_is_one_clock_period(tmp_path, simulated, clock_hz, timescale, times):
    trace = dataclasses.replace(simulated, meta={**simulated.meta, "clock_hz": clock_hz})
    path = tmp_path / "run.vcd"
    export.write_vcd(trace, path, 16000, 18000)
    text = path.read_text()
    assert f"$timescale {timescale} $end" in text
    period = {
        5e8: "2000 ps = 1 unit of 2 ns",
        8e8: "1250 ps = 1 unit of 1250 ps",
        3e9: "333.333 ps = 1000/3 units of 1 ps",
    }
    assert f"one period = {period[clock_hz]} $end" in text.splitlines()[0]
    assert re.findall(r"^#(\d+)$", text, re.M)[:2] == [str(t) for t in times]
    export.write_gtkw(trace, path, tmp_path / "run.gtkw", 16000, 18000)
    # GTKWave counts save-file times in the timescale's unit: 2 ns x cycle 16000 = 32000 ns.
    start = {5e8: 32000, 8e8: 20_000_000, 3e9: 5333333}[clock_hz]
    lines = (tmp_path / "run.gtkw").read_text().splitlines()
    assert f"[timestart] {start}" in lines
    reading = {5e8: "time in ns / 2", 8e8: "time in ps / 1250", 3e9: "time in ps x 3/1000"}[clock_hz]
    assert lines[1].startswith(f"[*] {reading} = cycle number")


def test_gtkw_opens_the_dump_in_groups(tmp_path, trace):
    path = tmp_path / "run.vcd"
    export.export(trace, "vcd", path)
    text = path.with_suffix(".gtkw").read_text()
    assert f'[dumpfile] "{path.resolve()}"' in text
    assert text.startswith(
        f"[*] accelsim: cycles 0:{trace.end_cycle} at 1000 MHz; one cycle = 1000 ps = 1 unit of 1 ns\n"
    )
    assert "[*] time in ns = cycle number; gtkwave --rcvar 'scale_to_time_dimension n'" in text
    assert re.findall(r"^-(.+)$", text, re.M) == [
        g for g in ("MAC array", "Vector unit", "DRAM", "Buffers", "Schedule") for _ in "ab"
    ]
    vcd = VCDVCD(str(path), only_sigs=True)
    listed = re.findall(r"^accelsim\.\S+$", text, re.M)
    assert "accelsim.mac.state_name" in listed and "accelsim.dram.transfer" in listed
    for name in ("mac.busy_lanes", "dram.queue", "buf.weight", "layer", "tile"):  # vectors as GTKWave names them
        assert f"{_var(name)}[{int(vcd[_var(name)].size) - 1}:0]" in listed
    # A window opens at its start, zoomed so that it fills the wave pane.
    export.export(trace, "vcd", path, 16_000, 18_000)
    lines = path.with_suffix(".gtkw").read_text().splitlines()
    assert "[timestart] 16000" in lines
    zoom = float(next(line for line in lines if line.startswith("*"))[1:].split()[0])
    pixels = 2000 * export._GTKW_PX_PER_UNIT_AT_ZOOM_0 * 2**zoom
    assert pixels == pytest.approx(export._GTKW_WAVE_PX)


def test_chrome_trace_has_the_required_fields(tmp_path, trace):
    path = tmp_path / "run.json"
    lo, hi = 500_000, 1_500_000
    export.export(trace, "chrome", path, lo, hi)
    document = json.loads(path.read_text())
    other = document["otherData"]
    assert (other["cycles"], other["clock_hz"], other["ts_unit"]) == ([lo, hi], 1e9, "cycle")
    assert "displayTimeUnit" not in document  # it offers ms or ns only; the unit is said in otherData
    events = document["traceEvents"]
    for event in events:
        assert {"name", "ph", "ts", "pid", "tid"} <= event.keys() and type(event["ts"]) is int
        if event["ph"] == "X":
            assert type(event["dur"]) is int and lo <= event["ts"] < event["ts"] + event["dur"] <= hi
        if event["ph"] == "C":
            assert event["args"]
    threads = {e["args"]["name"]: e["tid"] for e in events if e["name"] == "thread_name"}
    slices = {title: [e for e in events if e["ph"] == "X" and e["tid"] == tid] for title, tid in threads.items()}
    assert sum(e["dur"] for e in slices["MAC array"]) == hi - lo  # whole cycles, exactly
    states = trace.specs["mac.state"].states
    s, e, v = trace.intervals("mac.state", lo, hi)
    assert [x["name"] for x in slices["MAC array"]] == [states[x] for x in v]
    t = trace.transfers
    overlapping = np.flatnonzero((t["end_cycle"] > lo) & (t["start_cycle"] < hi))
    assert len(slices["DRAM bus"]) == len(overlapping)
    first = overlapping[0]
    assert slices["DRAM bus"][0]["name"].split() == [
        "write" if t["kind"][first] == WRITE_KIND else "read",
        TRANSFER_KINDS[t["kind"][first]],
        f"L{t['layer'][first]}",
        f"t{t['tile'][first]}",
    ]
    assert slices["DRAM bus"][0]["args"]["bus_bytes"] == int(t["bus_bytes"][first])
    spans = [(m["name"], a, b) for m, (a, b) in zip(trace.meta["layers"], layer_spans(trace)) if a < hi and b > lo]
    assert [x["name"] for x in slices["Layers"]] == [name for name, _, _ in spans]
    assert all("shape" in x["args"] and "plan" in x["args"] for x in slices["Layers"])
    counters = {e["name"] for e in events if e["ph"] == "C"}
    assert {"dram.queue", "mac.busy_lanes", "buf.weight", "buf.activation", "buf.output"} <= counters
    queue = [e for e in events if e["ph"] == "C" and e["name"] == "dram.queue"]
    assert len(queue) == len(trace.intervals("dram.queue", lo, hi)[0])


def _rows_per_track(events):
    """Load slices as speedscope's and Perfetto's trace-event importers do: per (pid, tid), in
    (ts, -dur) order, each slice must nest in the open one or start after it ends. Returns the
    rows (nesting depth) each track needs."""
    tracks = {}
    for e in events:
        if e["ph"] == "X":
            tracks.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"]))
    rows = {}
    for key, spans in tracks.items():
        stack, deepest = [], 0
        for a, b in sorted(spans, key=lambda span: (span[0], -span[1])):
            while stack and stack[-1] <= a:
                stack.pop()
            assert not stack or b <= stack[-1], f"track {key}: [{a}, {b}) overlaps a slice ending at {stack[-1]}"
            stack.append(b)
            deepest = max(deepest, len(stack))
        rows[key] = deepest
    return rows


@pytest.mark.parametrize("preset", ["seed", "nvdla-2048"])
def test_chrome_trace_is_one_row_per_track(tmp_path, preset):
    """nvdla-2048's banked DRAM overlaps transfers: they spread over as many bus tracks as needed."""
    trace = simulate(network("resnet20").with_precision(Precision.INT8), hardware.preset(preset))
    path = tmp_path / "run.json"
    export.write_chrome_trace(trace, path)
    events = json.loads(path.read_text())["traceEvents"]
    assert set(_rows_per_track(events).values()) == {1}
    titles = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    bus = [e for e in events if e["ph"] == "X" and titles[e["tid"]].startswith("DRAM bus")]
    t = trace.transfers
    assert sorted((e["ts"], e["ts"] + e["dur"]) for e in bus) == sorted(
        zip(t["start_cycle"].tolist(), t["end_cycle"].tolist())
    )
    tracks = sorted({titles[e["tid"]] for e in bus})
    assert tracks == (
        ["DRAM bus"] if preset == "seed" else ["DRAM bus", *(f"DRAM bus ({k})" for k in range(2, len(tracks) + 1))]
    )
    assert preset == "seed" or len(tracks) > 1


def test_csv_window_is_per_cycle(tmp_path, trace):
    path = tmp_path / "run.csv"
    lo, hi = 15_000, 40_000
    export.export(trace, "csv", path, lo, hi)
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["cycle", *trace.specs]
    assert len(rows) == hi - lo + 1
    columns = list(zip(*rows[1:]))
    assert [int(c) for c in columns[0]] == list(range(lo, hi))
    for name, column in zip(trace.specs, columns[1:]):
        expected = trace.expand(name, lo, hi).tolist()
        states = trace.specs[name].states
        assert list(column) == ([states[v] for v in expected] if states else [str(v) for v in expected]), name
    export.export(trace, "csv", path, 2000, 2600, ["dram.queue", "mac.state"])
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["cycle", "dram.queue", "mac.state"] and len(rows) == 601


def test_a_billion_cycle_window_costs_its_changes_only(tmp_path, simulated):
    """Stretch the run 2000x (5e9 cycles): an export touching cycles one by one would never end."""
    k = 2000
    stretched = dataclasses.replace(
        simulated,
        starts={n: s * k for n, s in simulated.starts.items()},
        end_cycle=simulated.end_cycle * k,
        transfers={c: v * k if c.endswith("_cycle") else v for c, v in simulated.transfers.items()},
    )
    export.write_vcd(stretched, tmp_path / "run.vcd")
    export.write_chrome_trace(stretched, tmp_path / "run.json")
    assert (tmp_path / "run.vcd").read_text().endswith(f"#{stretched.end_cycle}\n")
    events = json.loads((tmp_path / "run.json").read_text())["traceEvents"]
    mac = [e["dur"] for e in events if e["ph"] == "X" and e["tid"] == 1]
    assert sum(mac) == stretched.end_cycle


@pytest.mark.parametrize(
    "fmt, window, message",
    [
        ("vcd", (10, 5), "--cycles: must satisfy"),
        ("vcd", (-5, 10), "--cycles: must satisfy"),
        ("chrome", (0, 10**12), "--cycles: must satisfy"),
        ("csv", (7, 7), "--cycles: must satisfy"),
        ("xml", (0, 10), "--format: unknown 'xml'"),
    ],
)
def test_bad_exports_are_one_line_errors(tmp_path, simulated, fmt, window, message):
    with pytest.raises(InputError, match=message) as error:
        export.export(simulated, fmt, tmp_path / "out", *window)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "out").exists()


def test_csv_refuses_long_windows_and_unknown_signals(tmp_path, simulated, monkeypatch):
    with pytest.raises(InputError, match="narrow the window"):
        export.write_csv(dataclasses.replace(simulated, end_cycle=10**10), tmp_path / "out.csv", 0, 10_000_001)
    monkeypatch.setattr(export, "MAX_CSV_CYCLES", 1000)
    with pytest.raises(InputError, match="at most 1,000 cycles"):
        export.write_csv(simulated, tmp_path / "out.csv", 0, 1001)
    export.write_csv(simulated, tmp_path / "out.csv", 0, 1000)
    with pytest.raises(InputError, match="--signals: unknown 'nope'"):
        export.write_csv(simulated, tmp_path / "out.csv", 0, 10, ["mac.state", "nope"])


def test_parquet_is_the_interval_table(tmp_path, trace):
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "run.parquet"
    assert export.export(trace, "parquet", path, *MIDDLE) == [path]
    table = pq.read_table(path).to_pydict()
    assert list(table) == ["start_cycle", "end_cycle", "signal", "value", "value_name"]
    assert json.loads(pq.read_schema(path).metadata[b"accelsim"])["cycles"] == list(MIDDLE)
    for name, spec in trace.specs.items():
        rows = [i for i, s in enumerate(table["signal"]) if s == name]
        s, e, v = trace.intervals(name, *MIDDLE)
        assert [table["start_cycle"][i] for i in rows] == s.tolist()
        assert [table["end_cycle"][i] for i in rows] == e.tolist()
        assert [table["value"][i] for i in rows] == v.tolist()
        names = [table["value_name"][i] for i in rows]
        assert names == ([spec.states[x] for x in v.tolist()] if spec.states else [None] * len(rows)), name
    export.export(trace, "parquet", path, 2000, 2600, ["dram.queue", "mac.state"])
    assert set(pq.read_table(path).column("signal").to_pylist()) == {"dram.queue", "mac.state"}


def test_parquet_size_follows_the_intervals_not_the_cycles(tmp_path, simulated):
    pq = pytest.importorskip("pyarrow.parquet")
    k = 2000
    stretched = dataclasses.replace(
        simulated, starts={n: s * k for n, s in simulated.starts.items()}, end_cycle=simulated.end_cycle * k
    )
    export.write_parquet(simulated, tmp_path / "one.parquet")
    export.write_parquet(stretched, tmp_path / "long.parquet")
    intervals = sum(len(simulated.intervals(name)[0]) for name in simulated.specs)
    one, long = pq.read_table(tmp_path / "one.parquet"), pq.read_table(tmp_path / "long.parquet")
    assert one.num_rows == long.num_rows == intervals
    assert long.column("end_cycle").to_pylist()[-1] == stretched.end_cycle  # 5e9 cycles, same rows


def test_parquet_errors_are_one_line(tmp_path, simulated, monkeypatch):
    with pytest.raises(InputError, match="--signals: unknown 'nope'"):
        export.write_parquet(simulated, tmp_path / "out.parquet", signals=["nope"])
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(
        InputError, match=r"^--format parquet needs the optional extra: pip install 'accelsim\[data\]'$"
    ):
        export.write_parquet(simulated, tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()
