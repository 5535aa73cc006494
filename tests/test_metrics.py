"""Metrics: counts, energy from counts and the table, bounds, efficiency, report text, trace file round trip."""

import math
import subprocess
import sys

import numpy as np
import pytest

from accelsim import hardware
from accelsim.metrics import summarize
from accelsim.metrics.counts import ActivityCounts, bus_busy_cycles, state_cycles
from accelsim.metrics.energy import energy_breakdown
from accelsim.metrics.report import format_si, format_table
from accelsim.precision import Precision
from accelsim.sim.engine import plan_network, simulate
from accelsim.sim.tiling import compulsory_bytes
from accelsim.trace import store
from accelsim.trace.trace import layer_spans
from accelsim.workload.layers import Conv2d, Gemm, Linear, Network
from accelsim.workload.networks import network


def _net():
    return Network(
        "small",
        (
            Conv2d(
                "conv",
                in_channels=8,
                out_channels=16,
                in_height=12,
                in_width=12,
                padding=1,
                batch_norm=True,
                independent=True,
            ),
            Linear("fc", in_features=16 * 12 * 12, out_features=10),
        ),
    )


def test_energy_is_counts_times_table():
    hw = hardware.seed()
    counts = ActivityCounts(
        macs=1000,
        mac_precision=Precision.INT8,
        dram_bus_bytes=64,
        sram_weight_bytes=10,
        sram_activation_bytes=20,
        sram_output_bytes=30,
        cycles=2000,
    )
    e = energy_breakdown(counts, hw)
    assert e.mac_j == pytest.approx(1000 * 0.3e-12)
    assert e.dram_j == pytest.approx(64 * 243.75e-12)
    buf = hw.buffers
    sram = (
        10 * buf.weight_energy_pj_per_byte + 20 * buf.activation_energy_pj_per_byte + 30 * buf.output_energy_pj_per_byte
    )
    assert e.sram_j == pytest.approx(sram * 1e-12)
    assert e.static_j == pytest.approx(0.02 * 2000 / 1e9)
    assert e.total_j == pytest.approx(e.mac_j + e.sram_j + e.dram_j + e.static_j)


def test_summary_totals_are_sums_of_layers():
    hw = hardware.seed()
    net = _net()
    s = summarize(simulate(net, hw), accuracy=0.9)
    assert sum(f.cycles for f in s.layers) == s.total.cycles
    assert sum(f.macs for f in s.layers) == s.total.macs == net.macs
    assert s.total.energy.total_j == pytest.approx(sum(f.energy.total_j for f in s.layers))
    assert s.total.dram_read_bytes == sum(f.dram_read_bytes for f in s.layers)
    assert s.efficiency.accuracy_per_j == pytest.approx(0.9 / s.total.energy.total_j)
    assert s.efficiency.tops_per_w == pytest.approx(2 * net.macs / s.total.energy.total_j / 1e12)
    assert s.efficiency.edp_j_s == pytest.approx(s.total.energy.total_j * s.total.latency_s)
    assert s.total.latency_s == s.total.cycles / 1e9


def test_layer_bound_is_the_roofline_of_its_counts():
    hw = hardware.seed()
    layer = Gemm("g", m=64, k=64, n=64, independent=True)
    s = summarize(simulate(Network("g", (layer,)), hw))
    f = s.layers[0]
    assert f.bound.compute_cycles == math.ceil(64**3 / 64)
    assert f.bound.memory_cycles == 3 * 64 * 64 * 4 * 5
    assert f.cycles >= f.bound.cycles
    assert f.bound.limiter == "memory"


def test_dram_bytes_never_below_compulsory():
    hw = hardware.seed()
    net = _net().with_precision(Precision.INT4)
    trace = simulate(net, hw)
    s = summarize(trace)
    for f, layer, meta in zip(s.layers, net.layers, trace.meta["layers"]):
        on_chip = (meta["input_on_chip"], meta["output_on_chip"])
        assert f.dram_read_bytes + f.dram_write_bytes >= compulsory_bytes(layer, *on_chip)
    # The conv's output (16x12x12 INT4) stays in the activation buffer for the linear layer.
    assert [m["output_on_chip"] for m in trace.meta["layers"]] == [True, False]
    assert s.layers[0].dram_write_bytes == 0 and s.layers[1].dram_read_bytes == net.layers[1].weight_bytes


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "bert-base-layer"])
@pytest.mark.parametrize("buffer_bytes", [6 * 1024, 64 * 1024])
def test_tiling_plans_fit_the_buffers(name, buffer_bytes):
    # Every tile, including interior convolution tiles with a halo on both sides, fits its slot.
    hw = hardware.seed().replace(
        buffers=hardware.Buffers(weight_bytes=buffer_bytes, activation_bytes=buffer_bytes, output_bytes=buffer_bytes)
    )
    for plan in plan_network(network(name).with_precision(Precision.INT8), hw):
        for step in plan.steps():
            assert step.w_resident_bytes * hw.buffers.slots <= hw.buffers.weight_bytes
            assert step.a_resident_bytes * hw.buffers.slots <= hw.buffers.activation_bytes
            assert step.acc_bytes * hw.buffers.slots <= hw.buffers.output_bytes


def test_trace_file_round_trip_is_lossless(tmp_path):
    hw = hardware.seed()
    trace = simulate(_net(), hw)
    path = tmp_path / "run.npz"
    store.save(trace, path)
    back = store.load(path)
    assert back.end_cycle == trace.end_cycle
    for name in trace.specs:
        assert np.array_equal(back.expand(name), trace.expand(name))
    assert summarize(back).as_dict() == summarize(trace).as_dict()


def test_trace_window_expansion_is_exact():
    trace = simulate(_net(), hardware.seed())
    full = trace.expand("mac.macs")
    assert np.array_equal(trace.expand("mac.macs", 1000, 5000), full[1000:5000])
    assert trace.integral("mac.macs", 1000, 5000) == int(full[1000:5000].sum())


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04garbage"])
def test_corrupt_trace_file_is_a_one_line_error(tmp_path, content):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(store.TraceFileError) as err:
        store.load(path)
    assert "\n" not in str(err.value)


def test_truncated_and_foreign_trace_files(tmp_path):
    trace = simulate(_net(), hardware.seed())
    path = tmp_path / "run.npz"
    store.save(trace, path)
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(store.TraceFileError):
        store.load(tmp_path / "cut.npz")
    np.savez(tmp_path / "foreign.npz", x=np.arange(3))
    with pytest.raises(store.TraceFileError, match="not an accelsim trace|not a readable"):
        store.load(tmp_path / "foreign.npz")


def test_counts_agree_with_per_cycle_values():
    trace = simulate(_net(), hardware.seed())
    spans = layer_spans(trace)
    assert spans[0][0] == 0 and spans[-1][1] == trace.end_cycle
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # layers tile the run
    names = trace.specs["mac.state"].states
    for start, stop in spans:
        states = trace.expand("mac.state", start, stop)
        expected = {names[v]: int(np.sum(states == v)) for v in np.unique(states)}
        assert state_cycles(trace, start, stop) == expected
        assert bus_busy_cycles(trace, start, stop) == int(np.sum(trace.expand("dram.bus", start, stop) != 0))


def test_report_text():
    assert [format_si(v, "J") for v in (0.0293, 1.5e9, 4.2e-13, 0.0, -2e-6)] == [
        "29.3 mJ",
        "1.5 GJ",
        "0 J",
        "0 J",
        "-2 uJ",
    ]
    assert format_table([["a", "1,000"], ["bb", "7"]], ["name", "n"]).splitlines() == [
        "name      n",
        "-----------",
        "a     1,000",
        "bb        7",
    ]


def test_metrics_import_no_plotting():
    code = "import sys, accelsim.metrics; print(any(m.startswith('matplotlib') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
