"""Exports checked by independent readers: vcdvcd for VCD, json for trace events, csv."""

import csv
import json

import numpy as np
import pytest
from vcdvcd import VCDVCD

from accelsim import hardware
from accelsim.errors import InputError
from accelsim.precision import Precision
from accelsim.sim.engine import simulate
from accelsim.trace import export
from accelsim.workload.networks import network


@pytest.fixture(scope="module")
def trace():
    return simulate(network("resnet20").with_precision(Precision.INT8), hardware.seed())


def _vcd_values(vcd, name, states, lo, hi):
    """Per-cycle values of one VCD variable over [lo, hi), rebuilt from its change list."""
    changes = vcd[name].tv
    times = np.array([t for t, _ in changes])
    raw = [v for _, v in changes]
    values = [states.index(v) for v in raw] if states else [int(v, 2) for v in raw]
    cycles = np.arange(lo, hi)
    return np.asarray(values)[np.searchsorted(times, cycles, side="right") - 1]


def _string_values(path, var, states, lo, hi):
    """Per-cycle state names of a `string` variable (vcdvcd skips those), read line by line."""
    scope, leaf = var.rsplit(".", 1)
    code, times, values, now = None, [], [], 0
    for line in path.read_text().splitlines():
        parts = line.split()
        if parts[:2] == ["$var", "string"] and parts[4] == leaf and f".{scope.split('.')[-1]}" in scope:
            code = parts[3]
        elif line.startswith("#"):
            now = int(line[1:])
        elif code is not None and line.startswith("s") and parts[-1] == code:
            times.append(now)
            values.append(states.index(parts[0][1:]))
    cycles = np.arange(lo, hi)
    return np.asarray(values)[np.searchsorted(np.asarray(times), cycles, side="right") - 1]


@pytest.mark.parametrize("window", [(None, None), (1_000_000, 1_250_000)])
def test_vcd_matches_the_trace_cycle_for_cycle(tmp_path, trace, window):
    path = tmp_path / "run.vcd"
    written = export.export(trace, "vcd", path, *window)
    assert written == [path, path.with_suffix(".gtkw")]
    vcd = VCDVCD(str(path))
    assert vcd.timescale["unit"] == "ns" and vcd.timescale["magnitude"] == 1
    lo, hi = window[0] or 0, window[1] or trace.end_cycle
    probe = np.linspace(lo, hi - 1, 5000).astype(int)  # spread over the whole window
    for name, spec in trace.specs.items():
        unit = name.split(".")[0] if "." in name else "sched"
        var = f"accelsim.{unit}.{name.split('.')[-1]}"
        width = int(vcd[var].size)
        assert int(trace.values[name].max()) < 2 ** (width - 1), name  # never negative when signed
        expected = trace.expand(name, lo, hi)[probe - lo]
        assert np.array_equal(_vcd_values(vcd, var, (), lo, hi)[probe - lo], expected), name
        if spec.states:
            names = _string_values(path, var + "_name", list(spec.states), lo, hi)[probe - lo]
            assert np.array_equal(names, expected), name


def test_gtkw_opens_the_dump_in_groups(tmp_path, trace):
    path = tmp_path / "run.vcd"
    export.export(trace, "vcd", path)
    text = path.with_suffix(".gtkw").read_text()
    assert f'[dumpfile] "{path.resolve()}"' in text
    for group in ("-MAC array", "-DRAM", "-Buffers", "-Schedule"):
        assert group in text
    assert "accelsim.mac.state_name" in text
    # A window opens where it starts, zoomed to fit (GTKWave shows about 2 * 2**-zoom units).
    export.export(trace, "vcd", path, 16_000, 18_000)
    lines = path.with_suffix(".gtkw").read_text().splitlines()
    assert "[timestart] 16000" in lines
    zoom = float(next(line for line in lines if line.startswith("*"))[1:].split()[0])
    assert 2 * 2**-zoom == pytest.approx(2000)


def test_chrome_trace_has_the_required_fields(tmp_path, trace):
    path = tmp_path / "run.json"
    lo, hi = 500_000, 1_500_000
    export.export(trace, "chrome", path, lo, hi)
    events = json.loads(path.read_text())["traceEvents"]
    for event in events:
        assert {"name", "ph", "ts", "pid", "tid"} <= event.keys()
        if event["ph"] == "X":
            assert event["dur"] >= 0
        if event["ph"] == "C":
            assert event["args"]
    mac = [e for e in events if e["ph"] == "X" and e["tid"] == 1]
    assert sum(e["dur"] for e in mac) == pytest.approx((hi - lo) / 1e3)  # microseconds at 1 GHz
    t = trace.transfers
    overlapping = int(((t["end_cycle"] > lo) & (t["start_cycle"] < hi)).sum())
    assert len([e for e in events if e["ph"] == "X" and e["tid"] == 3]) == overlapping
    layer_names = {m["name"] for m in trace.meta["layers"]}
    assert {e["name"] for e in events if e["ph"] == "X" and e["tid"] == 2} <= layer_names


def test_csv_window_is_per_cycle(tmp_path, trace):
    path = tmp_path / "run.csv"
    export.export(trace, "csv", path, 2000, 2600, ["mac.state", "dram.queue"])
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["cycle", "mac.state", "dram.queue"]
    assert len(rows) == 601 and rows[1][0] == "2000"
    states = trace.specs["mac.state"].states
    assert [r[1] for r in rows[1:]] == [states[v] for v in trace.expand("mac.state", 2000, 2600)]
    assert [int(r[2]) for r in rows[1:]] == trace.expand("dram.queue", 2000, 2600).tolist()


@pytest.mark.parametrize(
    "fmt, window, message",
    [
        ("vcd", (10, 5), "--cycles: must satisfy"),
        ("chrome", (0, 10**12), "--cycles: must satisfy"),
        ("csv", (0, None), "narrow the window"),
        ("xml", (0, 10), "--format: unknown 'xml'"),
    ],
)
def test_bad_exports_are_one_line_errors(tmp_path, trace, fmt, window, message):
    with pytest.raises(InputError, match=message):
        export.export(trace, fmt, tmp_path / "out", *window)
