"""LLM validation (scenarios/llm_validation.py, issue 19): the committed figures within their
stated bounds, the JSON as the code produces it, calibration on the named rows only, and the
GPU presets at their cited figures."""

import copy
import dataclasses
import json
from pathlib import Path

import llm_validation as lv
import pytest

from accelsim import Calibration, Network, Precision, decode_step, decoder, hardware, preset, simulate
from accelsim.hardware import ConfigError, Dram, MacArray
from accelsim.study import table as tables
from accelsim.workload.layers import Linear

ROOT = Path(__file__).resolve().parents[1]
RESULT = json.loads(lv.PREDICTIONS.read_text())
ROWS = {(r["device"], r["workload"]): r for r in RESULT["rows"]}
#: The targeted predictions that miss their target (issue 19); every other targeted row meets it.
MISSED = {
    ("apple-m1-8", "llama-2-7b Q8_0 pp512"),
    ("apple-m1-max-24", "llama-2-7b Q8_0 tg128"),
    *(
        (f"apple-{chip}", f"llama-2-7b {fmt} tg128")
        for chip in ("m1-ultra-48", "m1-ultra-64", "m2-ultra-60", "m2-ultra-76")
        for fmt in ("F16", "Q8_0")
    ),
    ("nvidia-a100-80gb", "llama-2-7b FP16 first token, 128-token input"),
    *(
        ("nvidia-a100-80gb", f"LLMCompass {kind}")
        for kind in (
            "matmul (20 shapes, FP16)",
            "softmax (22 shapes, FP16)",
            "layernorm (22 shapes, FP16)",
            "gelu (20 shapes, FP16)",
        )
    ),
}
TARGETED = {k for k, r in ROWS.items() if r["target"] is not None and r["role"] == "prediction"}
MET = TARGETED - MISSED


def test_readme_block_is_the_committed_json():
    assert tables.block(ROOT / "README.md", lv.README_BLOCK) == lv.markdown(RESULT).strip()


def test_committed_rows_meet_or_miss_their_targets_as_stated():
    assert MISSED <= TARGETED and len(MET) == 49
    assert {k for k in TARGETED if abs(ROWS[k]["error"]) <= ROWS[k]["target"]} == MET
    for key, r in ROWS.items():
        assert r["met"] == (None if r["target"] is None or r["role"] == "calibration" else key in MET), key
        if r["measured"] is not None:
            assert r["error"] == pytest.approx((r["accelsim"] - r["measured"]) / r["measured"], abs=1e-3)


def test_calibration_rows_are_reproduced_and_the_constants_are_fractions():
    for key in [("apple-m2-max-38", "llama-2-7b F16 tg128"), ("apple-m2-max-38", "llama-2-7b F16 pp512")]:
        assert ROWS[key]["role"] == "calibration" and abs(ROWS[key]["error"]) < 0.01
    cal = RESULT["calibration"]
    assert 0 < cal["apple"]["dram_fraction"] < 1 and 0 < cal["apple"]["mac_fraction"] < 1
    assert 0 < cal["nvidia"]["dram_fraction"] < 1 and cal["nvidia"]["mac_fraction"] == 1.0
    assert [r["workload"] for r in RESULT["rows"] if r["role"] == "calibration"] == [
        "llama-2-7b F16 tg128",
        "llama-2-7b F16 pp512",
        "llama-2-7b gpt-fast 16-bit decode",
    ]


def test_a_committed_row_is_what_the_code_produces():
    """Recompute the M2 Max Q8_0 tg128 prediction from the committed Apple calibration."""
    cal = Calibration(**RESULT["calibration"]["apple"])
    hw = cal.apply(preset("apple-m2-max-38"))
    net = lv.with_format(decode_step(decoder("llama-2-7b"), lv.TG128_CONTEXT), "wq(bits=8, group=32)")
    tps = 1 / lv.seconds(net, hw)
    assert round(tps, 2) == ROWS[("apple-m2-max-38", "llama-2-7b Q8_0 tg128")]["accelsim"]


def test_nvidia_calibration_uses_only_the_named_row():
    measured = lv.load("measured_llm.json")
    fitted = lv.calibrate_nvidia(measured)
    assert fitted.dram_fraction == RESULT["calibration"]["nvidia"]["dram_fraction"]
    other = copy.deepcopy(measured)
    for r in other["gpt_fast"]["rows"]:
        if r["role"] != "calibration":
            r["tokens_per_s"] *= 3
    other["tensorrt_llm"]["rows"] = []
    assert lv.calibrate_nvidia(other) == fitted
    moved = copy.deepcopy(measured)
    next(r for r in moved["gpt_fast"]["rows"] if r["role"] == "calibration")["tokens_per_s"] = 80.0
    assert lv.calibrate_nvidia(moved).dram_fraction < fitted.dram_fraction


def test_apple_calibration_names_one_device():
    rows = lv.load("measured_llm.json")["llama_cpp_apple"]["rows"]
    assert [r["device"] for r in rows if r["role"] == "calibration"] == ["apple-m2-max-38"]
    apple = RESULT["calibration"]["apple"]
    assert "apple-m2-max-38" in apple["dram_measurement"] and "tg128" in apple["dram_measurement"]
    assert "apple-m2-max-38" in apple["mac_measurement"] and "pp512" in apple["mac_measurement"]


def tflops(hw):
    return 2 * hw.mac_array.macs_per_cycle(Precision.FP16) * hw.clock_hz / 1e12


def test_gpu_presets_match_their_cited_figures():
    a100 = preset("nvidia-a100-80gb")
    assert tflops(a100) == pytest.approx(312, rel=0.001)
    assert 2 * a100.mac_array.macs_per_cycle(Precision.INT8) * a100.clock_hz / 1e12 == pytest.approx(624, rel=0.001)
    assert a100.clock_hz == 1.41e9 and a100.dram.bandwidth_bytes_per_s == 2039e9
    assert a100.buffers.weight_bytes + a100.buffers.activation_bytes == 40_000_000
    assert a100.vector_unit.ops_per_cycle(Precision.FP16) * 2 * a100.clock_hz / 1e12 == pytest.approx(78, rel=0.001)
    h100 = preset("nvidia-h100-sxm")
    assert tflops(h100) == pytest.approx(989.4, rel=0.001) and h100.dram.bandwidth_bytes_per_s == 3.35e12
    cited = {  # TFLOPS (FP32 = FP16 on these GPUs), GB/s, SLC MB
        "apple-m1-7": (2.3, 68.25, 8),
        "apple-m1-8": (2.6, 68.25, 8),
        "apple-m1-pro-14": (4.6, 200, 24),
        "apple-m1-pro-16": (5.3, 200, 24),
        "apple-m1-max-24": (8.0, 400, 48),
        "apple-m1-max-32": (10.6, 400, 48),
        "apple-m1-ultra-48": (15.9, 800, 96),
        "apple-m1-ultra-64": (21.2, 800, 96),
        "apple-m2-8": (2.9, 100, 8),
        "apple-m2-10": (3.6, 100, 8),
        "apple-m2-pro-16": (5.7, 200, 24),
        "apple-m2-pro-19": (6.8, 200, 24),
        "apple-m2-max-30": (10.7, 400, 48),
        "apple-m2-max-38": (13.6, 400, 48),
        "apple-m2-ultra-60": (21.5, 800, 96),
        "apple-m2-ultra-76": (27.2, 800, 96),
    }
    # Every chip with a committed llama.cpp row has its preset, and every Apple preset a row.
    rows = lv.load("measured_llm.json")["llama_cpp_apple"]["rows"]
    assert sorted(r["device"] for r in rows) == sorted(cited) == sorted(f"apple-{c}" for c in hardware.APPLE_GPUS)
    for name, (tf, gbps, slc_mb) in cited.items():
        hw = preset(name)
        assert round(tflops(hw), 1) == tf, name
        assert hw.mac_array.lanes % hardware.APPLE_ALUS_PER_CORE == 0
        assert hw.dram.bandwidth_bytes_per_s == gbps * 1e9
        b = hw.buffers
        assert b.weight_bytes + b.activation_bytes + b.output_bytes == slc_mb * 2**20


def test_sustained_fractions_default_to_one_and_are_validated():
    assert Dram().sustained_fraction == 1.0 and MacArray().sustained_fraction == 1.0
    for bad in (0, -0.5, 1.5, float("nan")):
        with pytest.raises(ConfigError, match="dram.sustained_fraction"):
            Dram(sustained_fraction=bad)
        with pytest.raises(ConfigError, match="mac_array.sustained_fraction"):
            MacArray(sustained_fraction=bad)
    with pytest.raises(ConfigError, match="systolic"):
        MacArray(lanes=64, geometry="systolic", rows=8, cols=8, sustained_fraction=0.5)


def test_sustained_fractions_scale_bandwidth_and_stretch_compute():
    hw = preset("seed")
    half_bus = hw.replace(dram=dataclasses.replace(hw.dram, sustained_fraction=0.5))
    assert half_bus.dram_bytes_per_cycle == hw.dram_bytes_per_cycle / 2
    net = Network("one", (Linear("fc", in_features=64, out_features=64, tokens=64, bias=False, independent=True),))
    fast = hw.replace(dram=dataclasses.replace(hw.dram, bandwidth_bytes_per_s=1e15, latency_ns=0))
    slow = fast.replace(mac_array=dataclasses.replace(fast.mac_array, sustained_fraction=0.25))
    base, stretched = simulate(net, fast), simulate(net, slow)
    # The MACs are all performed; the array's busy time is four times as long (idle lanes added).
    busy = base.integral("mac.macs", 0, base.end_cycle)
    assert busy == stretched.integral("mac.macs", 0, stretched.end_cycle) == 64**3
    # 64^3 FP32 MACs at 64 a cycle: 4,096 compute cycles become 16,384, the rest of the run unchanged.
    assert base.end_cycle - 4096 == stretched.end_cycle - 4 * 4096 == 2


def test_metal_gemv_instruction_counts_and_the_dequantize_table():
    """The per-weight ALU counts read from llama.cpp's Metal kernels, and the committed
    overlapped / not-overlapped errors are what the code computes."""
    ops = lv.METAL_GEMV_OPS_PER_WEIGHT
    assert ops == {"F16": 1.0, "Q8_0": 2.125, "Q4_0": 3 + 6 / 16 + 29 / 64}
    measured = lv.load("measured_llm.json")
    chips = ("apple-m2-max-38", "apple-m2-10")  # the calibration chip and a base chip (fast enough)
    measured["llama_cpp_apple"]["rows"] = [r for r in measured["llama_cpp_apple"]["rows"] if r["device"] in chips]
    result = lv.dequantize_rows(measured, Calibration(**RESULT["calibration"]["apple"]))
    committed = RESULT["dequantize"]
    assert result["serial_dram_fraction"] == committed["serial_dram_fraction"]
    assert result["rows"] == [r for r in committed["rows"] if r["device"] in chips]
    by = {(r["device"], r["format"]): r for r in committed["rows"]}
    # Overlapped is the table's own error; the calibration row stays on its figure either way.
    assert (
        by[("apple-m2-max-38", "Q4_0")]["overlapped_error"]
        == ROWS[("apple-m2-max-38", "llama-2-7b Q4_0 tg128")]["error"]
    )
    assert abs(by[("apple-m2-max-38", "F16")]["not_overlapped_error"]) < 0.01
    # In series, the ALU work closes the M2 Max's quantized gap (stated in the README).
    assert abs(by[("apple-m2-max-38", "Q8_0")]["not_overlapped_error"]) < 0.01
    assert -0.10 < by[("apple-m2-max-38", "Q4_0")]["not_overlapped_error"] < -0.08
    # ... and over-corrects the base chips (the README: not the mechanism).
    assert by[("apple-m2-10", "Q4_0")]["not_overlapped_error"] < -0.25 < by[("apple-m2-10", "Q4_0")]["overlapped_error"]
