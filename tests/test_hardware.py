"""Hardware description: preset, energy table, TOML round trip, validation."""

import dataclasses
from fractions import Fraction
from pathlib import Path

import pytest

from accelsim import hardware
from accelsim.energy_table import MAC_ENERGY_PJ, sram_energy_pj_per_byte
from accelsim.hardware import Accelerator, Buffers, ConfigError, Dram, MacArray
from accelsim.precision import Precision, storage_bytes
from accelsim.sim.tiling import plan_layer
from accelsim.workload.layers import Gemm


def test_seed_preset_is_the_seed_study_hardware():
    hw = hardware.seed()
    assert hw.clock_hz == 1e9
    assert hw.mac_array.lanes == 64
    assert hw.dram.bandwidth_bytes_per_s == 200e6
    assert hw.dram.latency_ns == 100
    assert hw.dram_bytes_per_cycle == Fraction(1, 5)
    assert hw.dram_latency_cycles == 100
    assert (hw.buffers.weight_bytes, hw.buffers.activation_bytes, hw.buffers.output_bytes) == (65536, 65536, 32768)


def test_energy_table_follows_horowitz_and_its_derivations():
    assert MAC_ENERGY_PJ[Precision.FP32] == pytest.approx(3.7 + 0.9)
    assert MAC_ENERGY_PJ[Precision.FP16] == pytest.approx(1.1 + 0.4)
    assert MAC_ENERGY_PJ[Precision.INT8] == pytest.approx(0.2 + 0.1)
    assert MAC_ENERGY_PJ[Precision.INT4] == pytest.approx(0.05 + 0.05)
    assert MAC_ENERGY_PJ[Precision.BF16] == pytest.approx(1.1 * 64 / 121 + 0.4)
    assert sram_energy_pj_per_byte(8 * 1024) == pytest.approx(10 / 8)
    assert sram_energy_pj_per_byte(32 * 1024) == pytest.approx(20 / 8)
    assert sram_energy_pj_per_byte(1024 * 1024) == pytest.approx(100 / 8)
    assert sram_energy_pj_per_byte(16 * 1024) == pytest.approx(15 / 8)


def test_storage_bytes_pack_int4_two_per_byte():
    assert storage_bytes(3, Precision.INT4) == 2
    assert storage_bytes(3, Precision.BF16) == 6


def test_toml_round_trip(tmp_path):
    hw = Accelerator(
        name="edge",
        mac_array=MacArray(lanes=128, pack=hardware.FIXED_PACK, tile_overhead_cycles=2),
        buffers=Buffers(weight_bytes=1 << 20, prefetch_depth_tiles=2),
        dram=Dram(bandwidth_bytes_per_s=25.6e9, latency_ns=60, queue_depth=32),
    )
    path = tmp_path / "hw.toml"
    hardware.save_toml(hw, path)
    assert hardware.load_toml(path) == hw


def test_toml_floats_round_trip_bit_for_bit_on_every_preset(tmp_path):
    awkward = Dram(bandwidth_bytes_per_s=(0.1 + 0.2) * 1e9, latency_ns=1 / 3, energy_pj_per_byte=5e-324)
    for hw in [*(hardware.preset(name) for name in hardware.PRESETS), Accelerator(name="odd", dram=awkward)]:
        path = tmp_path / f"{hw.name}.toml"
        hardware.save_toml(hw, path)
        assert hardware.load_toml(path) == hw, hw.name
    assert "bandwidth_bytes_per_s = 300000000.00000006" in hardware.to_toml(Accelerator(name="odd", dram=awkward))


def test_hardware_show_seed_toml_is_the_checked_in_text(capsys):
    from accelsim.cli import main

    assert main(["hardware", "show", "seed", "--toml"]) == 0
    assert capsys.readouterr().out == (Path(__file__).parent / "data" / "hardware_seed.toml").read_text()


def test_partial_toml_takes_defaults(tmp_path):
    path = tmp_path / "hw.toml"
    path.write_text('name = "fast"\n[dram]\nbandwidth_bytes_per_s = 2e9\n[mac_array.pack]\nint8 = 2\n')
    hw = hardware.load_toml(path)
    assert hw.dram.bandwidth_bytes_per_s == 2e9
    assert hw.dram.latency_ns == 100
    assert hw.mac_array.pack[Precision.INT8] == 2
    assert hw.mac_array.pack[Precision.INT4] == 8


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: MacArray(lanes=0), "mac_array.lanes: must be an integer in [1, 16,777,216] (got 0)"),
        (lambda: MacArray(geometry="hex"), "mac_array.geometry: must be one of vector"),
        (
            lambda: Dram(bandwidth_bytes_per_s=0),
            "dram.bandwidth_bytes_per_s: must be a number > 1000 and <= 1e+15 (got 0)",
        ),
        (lambda: Dram(latency_ns=-1), "dram.latency_ns: must be a number >= 0 and <= 1e+09 (got -1)"),
        (lambda: Dram(queue_depth=0), "dram.queue_depth: must be an integer in [1, 65,536] (got 0)"),
        (
            lambda: Buffers(weight_bytes=-5),
            "buffers.weight_bytes: must be an integer in [1, 1,099,511,627,776] (got -5)",
        ),
        (
            lambda: Buffers(output_bytes=1.5),
            "buffers.output_bytes: must be an integer in [1, 1,099,511,627,776] (got 1.5)",
        ),
        (lambda: Accelerator(clock_hz=float("nan")), "accelerator.clock_hz: must be a number > 1000 and <= 1e+11"),
        (lambda: Accelerator(clock_hz=1e-10), "accelerator.clock_hz: must be a number > 1000 and <= 1e+11"),
        (lambda: Accelerator(clock_hz=1e308), "accelerator.clock_hz: must be a number > 1000 and <= 1e+11"),
        (
            lambda: MacArray(tile_overhead_cycles=2**62),
            "mac_array.tile_overhead_cycles: must be an integer in [0, 1,048,576]",
        ),
        (lambda: Dram(burst_bytes=2**62), "dram.burst_bytes: must be an integer in [1, 1,048,576]"),
        (lambda: Dram(bandwidth_bytes_per_s=1e-9), "dram.bandwidth_bytes_per_s: must be a number > 1000"),
        (lambda: Dram(latency_ns=1e300), "dram.latency_ns: must be a number >= 0 and <= 1e+09"),
        (
            lambda: MacArray(pack=dataclasses.replace(hardware.SCALABLE_PACK, int4=0)),
            "mac_array.pack.int4: must be an integer in [1, 64] (got 0)",
        ),
    ],
)
def test_invalid_fields_name_the_field_and_range(build, message):
    with pytest.raises(ConfigError) as err:
        build()
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_toml_errors_name_file_and_field(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[dram]\nbandwidth_bytes_per_s = 0\n")
    with pytest.raises(ConfigError, match=r"bad.toml: dram.bandwidth_bytes_per_s: must be a number > 1000"):
        hardware.load_toml(path)
    path.write_text("[dram]\nbandwith = 1\n")
    with pytest.raises(ConfigError, match=r"dram.bandwith: unknown field; allowed: .*bandwidth_bytes_per_s"):
        hardware.load_toml(path)
    path.write_text("[dram\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        hardware.load_toml(path)


def test_buffer_too_small_for_smallest_tile():
    hw = Accelerator(buffers=Buffers(weight_bytes=4))
    with pytest.raises(ConfigError, match=r"buffers.weight_bytes: too small for layer g; must be >= 8 bytes"):
        plan_layer(Gemm("g", m=4, k=4, n=4), hw)


def test_unknown_preset_lists_allowed():
    with pytest.raises(ConfigError, match="allowed: seed, seed-fixed"):
        hardware.preset("tpu")
