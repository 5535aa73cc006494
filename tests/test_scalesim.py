"""SCALE-Sim interoperability: its files read, and the systolic array held to its cycle counts.

The reference figures in tests/data were produced by SCALE-Sim v3.0.0 (PyPI `scalesim`): with
ideal memory (scalesim_reference.csv, scalesim_gemm_reference.csv) and in CALC mode with
realistic SRAMs (scalesim_calc_reference.csv, by tools/scalesim_oracle.py); accelsim never
depends on scalesim."""

import collections
import csv
import math
import re
from pathlib import Path

import numpy as np
import pytest
from invariants import check_invariants

from accelsim.cli import main
from accelsim.errors import InputError
from accelsim.hardware import FIXED_PACK, Accelerator, Buffers, ConfigError, Dram, MacArray
from accelsim.interop.scalesim import read_config, read_topology
from accelsim.metrics import summarize
from accelsim.precision import Precision
from accelsim.sim.engine import plan_network, simulate
from accelsim.sim.tiling import systolic_cycles
from accelsim.workload.layers import Gemm, Network

DATA = Path(__file__).parent / "data"
SCENARIO = Path(__file__).parent.parent / "scenarios" / "scalesim"
CONV_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"


def _rows(name):
    with (DATA / name).open() as fh:
        next(fh)  # provenance comment
        return list(csv.DictReader(fh))


def _config(tmp_path, rows, cols, dataflow, sram_kb=10240, bandwidth=100, mode="USER"):
    path = tmp_path / f"{rows}x{cols}_{dataflow}.cfg"
    path.write_text(
        "[general]\nrun_name = ideal\n\n[architecture_presets]\n"
        f"ArrayHeight: {rows}\nArrayWidth: {cols}\nIfmapSramSzkB: {sram_kb}\nFilterSramSzkB: {sram_kb}\n"
        f"OfmapSramSzkB: {sram_kb}\nIfmapOffset: 0\nFilterOffset: 10000000\nOfmapOffset: 20000000\n"
        f"Bandwidth : {bandwidth}\nDataflow : {dataflow}\nMemoryBanks: 1\n\n[layout]\nIfmapCustomLayout: False\n"
        "IfmapSRAMBankBandwidth: 100\n\n[sparsity]\nSparsitySupport : false\n\n"
        f"[run_presets]\nInterfaceBandwidth: {mode}\nUseRamulatorTrace: False\n"
    )
    return path


def _busy_cycles(topology, config):
    net = read_topology(topology).network.with_precision(Precision.INT8)
    hw = read_config(config).accelerator
    trace = simulate(net, hw)
    check_invariants(trace, net, hw)
    return {f.name: f.state_cycles.get("BUSY", 0) for f in summarize(trace).layers}


def test_convolutions_match_scalesim_cycle_for_cycle(tmp_path):
    rows = _rows("scalesim_reference.csv")
    topology = tmp_path / "layers.csv"
    layers = dict.fromkeys(tuple(r[k] for k in list(r)[:8]) for r in rows)
    topology.write_text(CONV_HEADER + "".join(", ".join(layer) + ",\n" for layer in layers))
    checked = 0
    for geometry in dict.fromkeys((r["array_rows"], r["array_cols"], r["dataflow"]) for r in rows):
        busy = _busy_cycles(topology, _config(tmp_path, *geometry))
        for r in rows:
            if (r["array_rows"], r["array_cols"], r["dataflow"]) == geometry:
                reference = int(r["total_cycles"])
                # SCALE-Sim reports the index of the last cycle, one less than the count.
                assert busy[r["layer"]] == reference + 1, (geometry, r["layer"])
                assert abs(busy[r["layer"]] - reference) / reference < 0.01
                checked += 1
    assert checked == 84


def test_gemms_match_scalesim(tmp_path):
    rows = _rows("scalesim_gemm_reference.csv")
    topology = tmp_path / "gemm.csv"
    gemms = dict.fromkeys((r["layer"], r["m"], r["n"], r["k"]) for r in rows)
    topology.write_text("Layer, M, N, K,\n" + "".join(", ".join(g) + ",\n" for g in gemms))
    assert [layer.gemm_mkn for layer in read_topology(topology).network.layers] == [(64, 48, 32), (100, 300, 20)]
    for dataflow in ("os", "ws", "is"):
        busy = _busy_cycles(topology, _config(tmp_path, 8, 8, dataflow))
        for r in rows:
            if r["dataflow"] == dataflow:
                assert busy[r["layer"]] == int(r["total_cycles"]) + 1, (dataflow, r["layer"])


def test_one_fold_busy_pes_per_cycle_by_hand():
    # 2 x 2 array, output stationary, M = N = 2, K = 3: PE (i, j) works cycles [i + j, i + j + 3).
    hw = Accelerator(
        mac_array=MacArray(lanes=4, geometry="systolic", rows=2, cols=2, dataflow="os", pack=FIXED_PACK),
        dram=Dram(bandwidth_bytes_per_s=1e15, latency_ns=0.0),
    )
    net = Network("one", (Gemm("g", m=2, k=3, n=2, independent=True),))
    trace = simulate(net, hw)
    start = int(trace.starts["mac.state"][trace.values["mac.state"] == 1][0])
    assert trace.expand("mac.busy_lanes", start, start + 6).tolist() == [1, 3, 4, 3, 1, 0]
    assert trace.integral("mac.macs") == 12
    # Weight stationary: R = 2 load cycles first, then the same wavefront streaming M = 2 rows.
    ws = Accelerator(mac_array=MacArray(lanes=4, geometry="systolic", rows=2, cols=2, dataflow="ws", pack=FIXED_PACK))
    busy = summarize(simulate(net, ws)).total.state_cycles["BUSY"]
    assert busy == 2 * (2 * 2 + 2 + 2 - 2)  # ceil(K / R) = 2 folds of 2R + C + M - 2 cycles


def test_topology_warnings(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        CONV_HEADER + "odd, 16, 16, 3, 3, 8, 8, 2,\nDP_dw, 8, 8, 3, 3, 4, 4, 1,\nsparse, 8, 8, 3, 3, 4, 8, 1, 2:4,\n"
    )
    topology = read_topology(path)
    text = "\n".join(topology.warnings)
    assert "layer odd: SCALE-Sim rounds the OFMAP up to 8x8; accelsim's unpadded convolution gives 7x7" in text
    assert "layer DP_dw: SCALE-Sim splits a 'DP' layer into one per channel; read as a depthwise convolution" in text
    assert "layer sparse: 2:4 sparsity saves MACs only on an array that skips zeros" in text
    odd, dw, sparse = topology.network.layers
    assert (odd.out_height, dw.groups, sparse.sparsity.pattern) == (7, 4, "2:4")
    assert all(layer.independent for layer in topology.network.layers)


def test_config_is_a_systolic_accelerator_and_names_what_it_ignores(tmp_path):
    config = read_config(_config(tmp_path, 32, 16, "ws", sram_kb=64, bandwidth=10, mode="CALC"))
    hw = config.accelerator
    assert (hw.mac_array.rows, hw.mac_array.cols, hw.mac_array.dataflow, hw.mac_array.lanes) == (32, 16, "ws", 512)
    assert hw.buffers.weight_bytes == hw.buffers.activation_bytes == hw.buffers.output_bytes == 64 * 1024
    assert (hw.mac_array.schedule, hw.buffers.accumulator_bits) == ("scalesim-folds", 8)
    # CALC: a bus moving all three SRAMs in a cycle; SCALE-Sim's Bandwidth kept for the other memory model.
    assert hw.dram.bandwidth_bytes_per_s == 3 * 64 * 1024 * 1e9 and hw.dram.latency_ns == 0.0 and hw.name == "ideal"
    assert (config.interface_bandwidth, config.bandwidth_words_per_cycle, config.stall_free) == ("CALC", 10, True)
    text = "\n".join(config.warnings)
    for key in ("IfmapOffset", "MemoryBanks", "layout.IfmapSRAMBankBandwidth", "InterfaceBandwidth = CALC", "latency"):
        assert key in text, key
    assert "UseRamulatorTrace" not in text and "IfmapCustomLayout" not in text  # switched off: nothing lost


@pytest.mark.parametrize(
    "rows, message",
    [
        ("a, 8, 8, 3, 3, 4,\n", "line 2: expected 8 fields"),
        ("a, 8, x, 3, 3, 4, 8, 1,\n", "line 2: IFMAP Width must be an integer >= 1 (got 'x')"),
        ("a, 8, 8, 3, 3, 4, 8, 1,\n\nb, 4, 4, 5, 5, 1, 1, 1,\n", "line 4: the 5x5 filter is larger than the 4x4 IFMAP"),
        ("a, 8, 8, 3, 3, 4, 8, 1, 4:2,\n", "line 2: sparsity must be N:M with 1 <= N < M (got '4:2')"),
        ("a, 8, 8, 3, 3, 4, 8, 1,\na, 8, 8, 3, 3, 4, 8, 1,\n", "layer names must be unique (repeated: a)"),
        ("", "no layers after the header"),
    ],
)
def test_malformed_topologies_name_the_line(tmp_path, rows, message):
    path = tmp_path / "bad.csv"
    path.write_text(CONV_HEADER + rows)
    with pytest.raises(InputError, match=re.escape(message)) as err:
        read_topology(path)
    assert "\n" not in str(err.value)


def test_malformed_configs(tmp_path):
    path = tmp_path / "bad.cfg"
    path.write_text("[general]\nrun_name = x\n")
    with pytest.raises(InputError, match=r"no \[architecture_presets\] section"):
        read_config(path)
    path.write_text("[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nDataflow: rs\n")
    with pytest.raises(InputError, match="Dataflow: must be one of os, ws, is"):
        read_config(path)
    path.write_text("[architecture_presets]\nArrayWidth: 8\n")
    with pytest.raises(InputError, match="ArrayHeight: missing"):
        read_config(path)
    path.write_text("not an ini file")
    with pytest.raises(InputError, match="not an INI file"):
        read_config(path)


def test_cli_runs_scalesim_files(tmp_path, capsys):
    topology = tmp_path / "t.csv"
    topology.write_text(CONV_HEADER + "conv_b, 16, 16, 3, 3, 16, 32, 1,\n")
    config = _config(tmp_path, 8, 8, "os")
    assert main(["run", "--topology", str(topology), "--scalesim-config", str(config), "--precision", "int8"]) == 0
    captured = capsys.readouterr()
    assert "network t on hardware ideal" in captured.out and "conv_b" in captured.out
    assert "accelsim: warning: SCALE-Sim models no DRAM latency" in captured.err
    assert main(["run", "--topology", str(tmp_path / "missing.csv")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["run", "--topology", str(topology), "--scalesim-config", str(config), "--hardware-file", "x"]) == 2


def test_systolic_hardware_is_validated():
    with pytest.raises(
        ConfigError, match=r"mac_array.lanes: must be rows x cols = 256 for a systolic array \(got 64\)"
    ):
        MacArray(geometry="systolic", rows=16, cols=16)
    with pytest.raises(ConfigError, match="mac_array.dataflow: must be one of os, ws, is, rs"):
        MacArray(geometry="systolic", dataflow="xs")
    with pytest.raises(ConfigError, match="mac_array.zero_skipping: must be false for a systolic array"):
        MacArray(geometry="systolic", zero_skipping=True)
    with pytest.raises(ConfigError, match="mac_array.schedule: must be one of tiles, scalesim-folds"):
        MacArray(geometry="systolic", schedule="folds")
    with pytest.raises(ConfigError, match='mac_array.schedule: must be "tiles" for a vector array'):
        MacArray(schedule="scalesim-folds")


def test_systolic_bound_uses_one_mac_per_pe():
    hw = Accelerator(
        mac_array=MacArray(lanes=64, geometry="systolic", pack=FIXED_PACK),
        buffers=Buffers(weight_bytes=1 << 20, activation_bytes=1 << 20, output_bytes=1 << 20),
    )
    net = Network("one", (Gemm("g", m=64, k=64, n=64, independent=True),)).with_precision(Precision.INT4)
    total = summarize(simulate(net, hw)).total
    assert total.bound.compute_cycles == math.ceil(64**3 / 64) and total.cycles >= total.bound.cycles
    assert np.isclose(total.mac_utilization, total.macs / (total.cycles * 64))


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_the_planner_knows_what_each_tiling_costs_the_array(dataflow):
    # Small buffers force several tiles; the planner's closed form equals the simulated BUSY cycles.
    hw = Accelerator(
        mac_array=MacArray(lanes=32, geometry="systolic", rows=4, cols=8, dataflow=dataflow, pack=FIXED_PACK),
        buffers=Buffers(weight_bytes=4096, activation_bytes=4096, output_bytes=4096),
        dram=Dram(bandwidth_bytes_per_s=1e12, latency_ns=0.0),
    )
    net = Network("one", (Gemm("g", m=100, k=90, n=70, independent=True),)).with_precision(Precision.INT8)
    plan = plan_network(net, hw)[0]
    assert plan.step_count > 1
    busy = summarize(simulate(net, hw)).total.state_cycles["BUSY"]
    assert busy == systolic_cycles(net.layers[0], hw, plan.tm, plan.tk, plan.tn)


# --- CALC mode against SCALE-Sim 3.0.0 with realistic SRAMs -------------------------------------

#: ResNet-18 layers checked on every array, dataflow and SRAM set (all of them on scale.cfg);
#: tools/scalesim_compare.py checks every layer of every configuration.
RESNET_SAMPLE = ("conv1", "layer2_0_downsample", "layer3_0_conv1", "layer4_0_downsample", "fc")


def _calc_reference():
    groups = collections.defaultdict(list)
    for r in _rows("scalesim_calc_reference.csv"):
        groups[(r["topology"], r["config"])].append(r)
    return groups


def _scale_cfg(tmp_path, r):
    """scenarios/scalesim/scale.cfg with the array, dataflow and SRAMs of a reference row."""
    if r["config"] == "scale.cfg":
        return SCENARIO / "scale.cfg"
    text = (SCENARIO / "scale.cfg").read_text()
    for key, value in (
        ("ArrayHeight", r["array_rows"]),
        ("ArrayWidth", r["array_cols"]),
        ("IfmapSramSzkB", r["ifmap_kb"]),
        ("FilterSramSzkB", r["filter_kb"]),
        ("OfmapSramSzkB", r["ofmap_kb"]),
        ("Dataflow", r["dataflow"]),
    ):
        text = re.sub(rf"{key}\s*:\s*\w+", f"{key}: {value}", text)
    path = tmp_path / r["config"]
    path.write_text(text)
    return path


def _calc_run(tmp_path, topology, refs):
    names = {r["layer"] for r in refs}
    full = read_topology(SCENARIO / topology).network
    net = Network(full.name, tuple(layer for layer in full.layers if layer.name in names))
    config = read_config(_scale_cfg(tmp_path, refs[0]))
    return net, config.accelerator


@pytest.mark.parametrize("key", sorted(_calc_reference()), ids="-".join)
def test_calc_mode_takes_scalesims_total_cycles(tmp_path, key):
    refs = _calc_reference()[key]
    if key[0] == "resnet18.csv" and key[1] != "scale.cfg":
        refs = [r for r in refs if r["layer"] in RESNET_SAMPLE]
    net, hw = _calc_run(tmp_path, key[0], refs)
    summary = summarize(simulate(net.with_precision(Precision.INT8), hw))
    for figures, r in zip(summary.layers, refs, strict=True):
        total = int(r["total_cycles"])
        # The compute schedule is SCALE-Sim's to the cycle: it reports the last cycle's index.
        assert figures.state_cycles["BUSY"] == total + 1, (key, r["layer"])
        assert abs(figures.state_cycles["BUSY"] - total) / total < 0.01
        assert r["mode"] == "compute" or int(r["stall_cycles"]) == 0
    # Nothing stalls but the first tiles' one-cycle load; the last write-back takes one more.
    assert summary.total.stall_cycles == 1
    assert summary.total.cycles == sum(int(r["total_cycles"]) + 1 for r in refs) + 2


def test_sram_size_changes_traffic_not_the_schedule(tmp_path):
    refs = _calc_reference()
    small = refs[("layers.csv", "s8x8_ws_8_8_8.cfg")]
    large = refs[("layers.csv", "s8x8_ws_16_16_8.cfg")]
    runs = []
    for rows in (small, large):
        net, hw = _calc_run(tmp_path, "layers.csv", rows)
        runs.append(summarize(simulate(net.with_precision(Precision.INT8), hw)))
    assert [f.state_cycles for f in runs[0].layers] == [f.state_cycles for f in runs[1].layers]
    assert runs[0].total.dram_read_bytes > runs[1].total.dram_read_bytes
    # SCALE-Sim too reads more through the smaller SRAMs, in the same number of cycles.
    reads = [sum(int(r["ifmap_dram_reads"]) + int(r["filter_dram_reads"]) for r in rows) for rows in (small, large)]
    assert reads[0] > reads[1]


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_scalesim_schedule_ignores_the_buffers(dataflow):
    # SCALE-Sim's folds whatever the tiles: BUSY is the whole layer's folds however small the buffers.
    def hw(kib, schedule):
        return Accelerator(
            mac_array=MacArray(
                lanes=32, geometry="systolic", rows=4, cols=8, dataflow=dataflow, pack=FIXED_PACK, schedule=schedule
            ),
            buffers=Buffers(weight_bytes=kib * 1024, activation_bytes=kib * 1024, output_bytes=kib * 1024),
            dram=Dram(bandwidth_bytes_per_s=1e12, latency_ns=0.0),
        )

    net = Network("one", (Gemm("g", m=100, k=90, n=70, independent=True),)).with_precision(Precision.INT8)
    small, large = hw(1, "scalesim-folds"), hw(1024, "scalesim-folds")
    assert plan_network(net, small)[0].step_count > 1 and plan_network(net, large)[0].step_count == 1
    whole = systolic_cycles(net.layers[0], large, 100, 90, 70)
    for machine in (small, large):
        trace = simulate(net, machine)
        check_invariants(trace, net, machine)
        assert summarize(trace).total.state_cycles["BUSY"] == whole
        plan = plan_network(net, machine)[0]
        assert systolic_cycles(net.layers[0], machine, plan.tm, plan.tk, plan.tn) == whole
    # Each tile paying its own fill and drain (accelsim's `tiles` schedule) takes longer.
    assert summarize(simulate(net, hw(1, "tiles"))).total.state_cycles["BUSY"] > whole


def test_user_mode_and_accelsim_memory_keep_the_configs_bus(tmp_path):
    user = read_config(_config(tmp_path, 8, 8, "os", sram_kb=16, bandwidth=10, mode="USER"))
    assert user.accelerator.dram.bandwidth_bytes_per_s == 10e9 and not user.stall_free
    assert any("InterfaceBandwidth = USER: accelsim's own memory model" in w for w in user.warnings)
    calc = _config(tmp_path, 8, 8, "os", sram_kb=16, bandwidth=10, mode="CALC")
    ours = read_config(calc, memory="accelsim")
    assert ours.accelerator.dram.bandwidth_bytes_per_s == 10e9 and not ours.stall_free
    assert any("CALC not followed (--scalesim-memory accelsim)" in w for w in ours.warnings)
    with pytest.raises(InputError, match="memory: must be one of scalesim, accelsim"):
        read_config(calc, memory="ideal")


def test_cli_reports_calc_bandwidth_and_the_distance_from_it(tmp_path, capsys):
    topology = tmp_path / "t.csv"
    topology.write_text(CONV_HEADER + "conv_b, 16, 16, 3, 3, 16, 32, 1,\n")
    config = _config(tmp_path, 8, 8, "os", sram_kb=16, bandwidth=10, mode="CALC")
    args = ["run", "--topology", str(topology), "--scalesim-config", str(config), "--json"]
    assert main(args) == 0
    captured = capsys.readouterr()
    layer = __import__("json").loads(captured.out)["layers"][0]
    busy = layer["state_cycles"]["BUSY"]
    assert busy == 15_800  # SCALE-Sim's 15,799 + 1 (tests/data/scalesim_reference.csv)
    # One-byte words by default: int8, so the bytes are SCALE-Sim's words.
    assert layer["precision"] == "int8" and layer["dram_write_bytes"] == 14 * 14 * 32
    note = re.search(r"CALC bandwidth of layer conv_b: IFMAP ([\d.]+), filter ([\d.]+), OFMAP ([\d.]+)", captured.err)
    assert note and float(note[3]) == pytest.approx(14 * 14 * 32 / busy, abs=5e-4)
    assert main([*args, "--scalesim-memory", "accelsim"]) == 0
    err = capsys.readouterr().err
    ratio = re.search(r"--scalesim-memory accelsim: ([\d,]+) cycles .* ([\d.]+)x the 15,800 of CALC", err)
    assert ratio and float(ratio[2]) == pytest.approx(int(ratio[1].replace(",", "")) / 15_800, abs=5e-4)
    assert main(["run", "--network", "resnet20", "--scalesim-memory", "accelsim"]) == 2
    assert "--scalesim-memory: needs --scalesim-config" in capsys.readouterr().err
