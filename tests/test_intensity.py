"""Arithmetic intensity: seed 001's convention by hand, and the simulated bytes beside it."""

import json

import pytest

from accelsim import hardware
from accelsim.cli import main
from accelsim.compress import Quantize
from accelsim.intensity import layer_intensity, network_intensity
from accelsim.sim.engine import simulate
from accelsim.workload.layers import Linear, MatMul, Network
from accelsim.workload.networks import network


def _two():
    return Network(
        "two",
        (Linear("a", in_features=4, out_features=3, independent=True), Linear("b", in_features=3, out_features=2)),
    )


def test_two_layers_by_hand():
    net = _two()
    layers, whole = network_intensity(net)
    # a: 12 MACs; weights 4x3 + 3 biases, input 4, output 3 values, 4 bytes each.
    assert (layers[0].flops, layers[0].weight_bytes, layers[0].input_bytes, layers[0].output_bytes) == (24, 60, 16, 12)
    assert (layers[1].flops, layers[1].bytes) == (12, 32 + 12 + 8)
    assert whole.flops_per_byte == pytest.approx(36 / 140)
    # Weights at INT8, activations still FP32.
    _, int8 = network_intensity(Quantize("int8", "fp32")(net))
    assert int8.flops_per_byte == pytest.approx(36 / (15 + 16 + 12 + 8 + 12 + 8))


def test_simulated_bytes_skip_what_stays_on_chip():
    net = _two()
    layers, whole = network_intensity(net, simulate(net, hardware.seed()))
    # a's output stays in the activation buffer for b: a moves weights + input, b weights + output.
    assert [x.simulated_bytes for x in layers] == [60 + 16, 32 + 8]
    assert whole.simulated_flops_per_byte == pytest.approx(36 / 116)


def test_an_activation_matmul_counts_both_operands_as_inputs():
    mm = MatMul("mm", batch=2, m=3, k=4, n=5, independent=True)
    x = layer_intensity(mm)
    assert (x.flops, x.weight_bytes, x.input_bytes, x.output_bytes) == (2 * 2 * 3 * 4 * 5, 0, 4 * (24 + 40), 4 * 30)


def test_resnet20_fp32_is_seed_001s_baseline():
    # Seed 001 reports 29.85 FLOPs/byte for FP32 ResNet-20 under this convention.
    assert round(network_intensity(network("resnet20"))[1].flops_per_byte, 2) == 29.85


def test_ai_command(capsys):
    assert main(["ai", "--network", "resnet20", "--weight-precision", "int8", "--activation-precision", "fp32"]) == 0
    out = capsys.readouterr().out
    assert "FLOPs/B (seed 001)" in out and out.strip().splitlines()[-1].split()[5] == "42.47"
    assert main(["ai", "--network", "mlp", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[-1]["name"] == "mlp" and rows[-1]["flops"] == 2 * network("mlp").macs
