"""Validation against published chips (scenarios/validation.py): the presets read the
publications, the figures stay where the README says, and the targets that are met stay met."""

import json
from pathlib import Path

import pytest
import validation

from accelsim import Network, Precision, hardware, network, preset, simulate, summarize, with_batch
from accelsim.cli import main
from accelsim.study import table as tables
from accelsim.workload.batched import BatchedConv2d
from accelsim.workload.layers import Conv2d, LayerError, Linear

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def nvdla_points():
    return validation.nvdla_points()


@pytest.fixture(scope="module")
def eyeriss_layers():
    return validation.eyeriss_layers()


# --- published data -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["nvdla_primer.csv", "eyeriss_jssc2017_table5.csv", "tpu_v1_isca2017.csv"])
def test_published_figures_carry_their_citation(name):
    text = (validation.DATA / name).read_text()
    assert text.startswith("# ") and ("primer" in text or "JSSC" in text or "ISCA 2017" in text)


def test_the_committed_tables_are_the_publications():
    nvdla = validation.read_table("nvdla_primer.csv")
    assert [(int(r["macs"]), float(r["resnet50_int8_fps"])) for r in nvdla] == [
        (2048, 269),
        (1024, 153),
        (512, 93),
        (256, 46),
        (128, 20),
        (64, 7.3),
        (32, 3.6),
    ]
    eyeriss = validation.read_table("eyeriss_jssc2017_table5.csv")
    assert [float(r["processing_latency_ms"]) for r in eyeriss] == [16.5, 39.2, 21.8, 16.0, 10.0]
    assert [float(r["dram_accesses_mb"]) for r in eyeriss] == [5.0, 4.0, 3.0, 2.1, 1.3]


# --- presets --------------------------------------------------------------------------------------


def test_nvdla_presets_are_the_primer_table():
    for row in validation.read_table("nvdla_primer.csv"):
        hw = preset(f"nvdla-{row['macs']}")
        assert hw.clock_hz == 1e9
        assert hw.mac_array.macs_per_cycle(Precision.INT8) == int(row["macs"])
        assert hw.mac_array.macs_per_cycle(Precision.FP16) == int(row["macs"]) // 2
        assert hw.buffers.weight_bytes + hw.buffers.activation_bytes == int(row["cbuf_kb"]) * 1024
        assert hw.buffers.weight_bytes == hw.buffers.activation_bytes
        assert hw.dram.bandwidth_bytes_per_s == float(row["sdram_gb_per_s"]) * 1e9
        assert not hw.buffers.retain_activations and hw.static_power_w == 0


def test_an_nvdla_size_outside_the_primer_is_one_line():
    with pytest.raises(hardware.ConfigError, match="nvdla: macs must be one of 2048, 1024"):
        hardware.nvdla(100)


def test_eyeriss_and_tpu_presets_are_the_papers():
    e = preset("eyeriss")
    assert (e.clock_hz, e.mac_array.rows, e.mac_array.cols, e.mac_array.dataflow) == (200e6, 12, 14, "rs")
    assert (e.dram.activation_compression, e.buffers.prefetch_depth_tiles) == ("rlc", 0)
    assert e.buffers.activation_bytes + e.buffers.output_bytes == 108 * 1024
    assert e.buffers.weight_bytes == 168 * 224 * 2 and e.buffers.accumulator_bits == 16
    t = preset("tpu-v1")
    assert (t.clock_hz, t.mac_array.lanes, t.dram.bandwidth_bytes_per_s) == (700e6, 65536, 34e9)
    assert t.buffers.activation_bytes == 24 * 2**20


def test_the_issue_command_runs(capsys):
    args = ["run", "--network", "resnet50", "--precision", "int8", "--hardware", "nvdla-2048", "--json"]
    assert main(args) == 0
    total = json.loads(capsys.readouterr().out)["total"]
    # Batch-norm, ReLU, pools and residual adds run as vector layers of their own (the
    # validation fuses them into the convolutions, as NVDLA's SDP does: 3,580,539).
    assert total["cycles"] == 6_233_919


# --- NVDLA ----------------------------------------------------------------------------------------


def test_nvdla_frames_per_second(nvdla_points):
    assert [round(p.fps, 1) for p in nvdla_points] == [279.3, 178.2, 103.3, 51.5, 24.6, 11.3, 5.9]
    # Optimistic everywhere; the 15% target is missed (README: which mechanisms are missing).
    assert all(p.fps_error_pct > 0 for p in nvdla_points)
    assert validation.mape([p.fps_error_pct for p in nvdla_points]) == pytest.approx(26.63, abs=0.01)


def test_the_estimator_replica_is_the_primer():
    for row in validation.read_table("nvdla_primer.csv"):
        fps = validation.estimator_fps(int(row["macs"]))
        assert abs(validation.error_pct(fps, float(row["resnet50_int8_fps"]))) < 1.5, row["macs"]


def test_accelsim_is_the_estimator_without_its_two_departures_from_the_hardware(nvdla_points):
    # Without channel-extended strided weights and Winograd, the estimator's mechanisms are the
    # ones accelsim models: -10% to +10% by design, 4.9% on average.
    bare = validation.EstimatorOptions(channel_extended_weights=False, winograd=False)
    errors = [validation.error_pct(p.fps, validation.estimator_fps(p.macs, bare)) for p in nvdla_points]
    assert [round(e, 1) for e in errors] == [-10.0, -5.6, -0.7, -1.0, 1.6, 5.3, 10.1]
    assert validation.mape(errors) < 5


def test_nvdla_energy_per_frame(nvdla_points):
    assert validation.energy_scale_45_to_16() == pytest.approx(0.12027 / 0.84433, rel=1e-4)
    first = nvdla_points[0]
    assert first.published_energy_mj == pytest.approx(291 / 269)
    assert first.energy_16nm_mj == pytest.approx(0.421, abs=5e-4)


# --- Eyeriss --------------------------------------------------------------------------------------


def test_eyeriss_latency_target_is_met(eyeriss_layers):
    assert [e.name for e in eyeriss_layers] == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    assert all(abs(e.latency_error_pct) <= validation.EYERISS_LATENCY_TARGET_PCT for e in eyeriss_layers)
    assert [round(e.latency_error_pct, 1) for e in eyeriss_layers] == [21.4, -2.5, 5.9, 6.8, 14.4]
    # Against the total latency (DRAM loading included, as accelsim's stalls are): within 10%.
    assert [round(e.total_latency_error_pct, 1) for e in eyeriss_layers] == [-4.2, -8.8, -2.2, -7.1, 9.0]


def test_eyeriss_dram_target_is_met_against_the_coded_figures(eyeriss_layers):
    assert all(abs(e.dram_error_pct) <= validation.EYERISS_DRAM_TARGET_PCT for e in eyeriss_layers)
    assert [round(e.dram_error_pct, 1) for e in eyeriss_layers] == [-12.6, -13.4, -15.0, -8.9, -0.1]


def test_eyeriss_mapping_keeps_the_papers_active_pes(eyeriss_layers):
    # Table V's active PEs are the oracle; the mapper derives its passes from the layer alone.
    assert [e.active_pes for e in eyeriss_layers] == [e.published_active_pes for e in eyeriss_layers]
    assert [e.published_active_pes for e in eyeriss_layers] == [154, 135, 156, 156, 156]


def test_eyeriss_zero_shares_are_attached_from_table_v():
    net = validation.alexnet_conv()
    assert [round(layer.input_zero_share, 6) for layer in net.layers] == [0.0001, 0.387, 0.725, 0.793, 0.776]
    assert [round(layer.output_zero_share, 6) for layer in net.layers] == [0.387, 0.725, 0.793, 0.776, 0.776]


# --- TPUv1 ----------------------------------------------------------------------------------------


def test_tpu_roofline_within_five_percent():
    roof = validation.tpu_roofline()
    assert roof.peak_tops == pytest.approx(91.75, abs=0.001)
    assert roof.ridge_macs_per_byte == pytest.approx(1349.27, abs=0.01)
    assert abs(validation.error_pct(roof.peak_tops, 92)) <= 5
    assert abs(validation.error_pct(roof.ridge_macs_per_byte, 1350)) <= 5
    assert roof.attainable_tops(200) == pytest.approx(13.6)
    assert roof.attainable_tops(2888) == roof.peak_tops


# --- README ---------------------------------------------------------------------------------------


def test_readme_shows_what_the_scenario_produces(tmp_path, nvdla_points, eyeriss_layers):
    text = validation.markdown(nvdla_points, eyeriss_layers, validation.tpu_roofline())
    assert tables.block(ROOT / "README.md", validation.README_BLOCK) == text.strip()


def test_readme_needs_the_full_run(tmp_path, capsys):
    assert validation.main(["--quick", "--readme", "README.md", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("validation: error: --readme: needs the full run")


# --- the workload pieces ----------------------------------------------------------------------------


def test_alexnet_is_the_original():
    net = network("alexnet")
    assert (net.parameter_count, net.macs) == (60_965_224, 724_406_816)
    convs = [layer for layer in net.layers if layer.kind == "conv2d"]
    assert [layer.macs for layer in convs] == [105_415_200, 223_948_800, 149_520_384, 112_140_288, 74_760_192]
    assert [layer.groups for layer in convs] == [1, 2, 1, 2, 2]


def test_a_batch_shares_weights_and_multiplies_the_rest():
    conv = Conv2d("c", in_channels=8, out_channels=16, in_height=9, in_width=9, padding=1, independent=True)
    net = Network("n", (conv, Linear("fc", in_features=16 * 81, out_features=10)))
    four = with_batch(net, 4)
    bc, fc = four.layers
    assert isinstance(bc, BatchedConv2d) and bc.batch == 4 and fc.tokens == 4
    assert (bc.macs, bc.weight_bytes) == (4 * conv.macs, conv.weight_bytes)
    assert (bc.input_elements, bc.output_elements) == (4 * conv.input_elements, 4 * conv.output_elements)
    assert with_batch(net, 1) is net
    assert with_batch(with_batch(net, 2), 2).layers[0].batch == 4


def test_a_tile_across_inputs_reads_each_inputs_window():
    conv = Conv2d("c", in_channels=2, out_channels=4, in_height=6, in_width=6, padding=1)
    bc = with_batch(Network("n", (conv,)), 3).layers[0]
    p = conv.out_height * conv.out_width
    k = conv.gemm_mkn[1]
    # Rows 4..5 of input 0, all of input 1, rows 0..1 of input 2.
    expected = conv.a_tile_elements(24, p, 0, k) + conv.a_tile_elements(0, p, 0, k) + conv.a_tile_elements(0, 12, 0, k)
    assert bc.a_tile_elements(24, 2 * p + 12, 0, k) == expected
    assert bc.a_tile_elements(p + 6, p + 18, 0, k) == conv.a_tile_elements(6, 18, 0, k)


def test_a_batch_fetches_weights_once_when_they_fit():
    conv = Conv2d("c", in_channels=16, out_channels=16, in_height=8, in_width=8, padding=1, independent=True)
    one, four = Network("n", (conv,)), with_batch(Network("n", (conv,)), 4)
    hw = preset("seed")
    read = [summarize(simulate(n, hw)).total.dram_read_bytes for n in (one, four)]
    assert read[1] == 4 * (read[0] - conv.weight_bytes) + conv.weight_bytes


def test_bad_batch_is_one_line():
    with pytest.raises(LayerError, match="batch: must be an integer >= 1"):
        with_batch(network("mlp"), 0)
