"""Eyeriss's run-length code for feature maps: the exact encoder, its analytical twin, and the
DRAM-side coding of a run (`dram.activation_compression = "rlc"`)."""

import dataclasses

import numpy as np
import pytest

from accelsim import preset, simulate, summarize
from accelsim.hardware import ConfigError, Dram
from accelsim.precision import Precision
from accelsim.sim import rlc
from accelsim.workload.activation_zeros import with_activation_zero_shares
from accelsim.workload.layers import Conv2d, LayerError, Network


def test_a_word_holds_three_16_bit_pairs():
    assert rlc.pairs_per_word(Precision.FP16) == 3  # 3 x (5 + 16) + 1 = 64
    assert [rlc.pairs_per_word(p) for p in (Precision.INT8, Precision.INT4, Precision.FP32)] == [4, 7, 1]


def test_exact_encoder_counts_pairs():
    assert rlc.rlc_pairs([1, 2, 3]) == 3
    assert rlc.rlc_pairs([0, 0, 5]) == 1  # (run 2, level 5)
    assert rlc.rlc_pairs([0] * 31 + [7]) == 1  # the longest run a pair carries
    assert rlc.rlc_pairs([0] * 32 + [7]) == 2  # (31, 0) then (0, 7)
    assert rlc.rlc_pairs([0] * 64) == 2  # two (31, 0) pairs
    assert rlc.rlc_pairs([4, 0, 0]) == 2  # trailing zeros take one pair
    assert rlc.rlc_pairs([]) == 0
    assert rlc.rlc_words([1] * 7) == 3 and rlc.rlc_words([1] * 6) == 2


def test_the_analytical_size_is_exact_without_zeros():
    for n in (1, 2, 3, 100, 3001):
        words = rlc.rlc_words([1] * n)
        assert rlc.expected_pairs(n, 0.0) == n
        assert rlc.coded_bytes(n, 0.0, Precision.FP16) == min(8 * words, 2 * n)


def test_the_analytical_twin_matches_the_encoder_on_independent_zeros():
    rng = np.random.default_rng(17)
    for z in (0.387, 0.725, 0.9, 0.98):
        values = (rng.random(200_000) >= z).astype(np.int64)
        exact = rlc.rlc_pairs(values.tolist())
        # within three standard deviations of the pair count (about sqrt(n z (1 - z)))
        assert abs(rlc.expected_pairs(values.size, z) - exact) <= 3 * (values.size * z * (1 - z)) ** 0.5


def test_coded_bytes_never_exceed_the_dense_size():
    assert rlc.coded_bytes(1000, 0.0001, Precision.FP16) == 2000  # the coder is bypassed
    # 72.5% zeros: 0.275 x 1000 pairs (runs past 31 are negligible), 92 words of 3.
    assert rlc.coded_bytes(1000, 0.725, Precision.FP16) == 8 * 92
    assert rlc.coded_size(0, 0.5, Precision.FP16) == 0


def _conv_net(zero_in: float, zero_out: float) -> Network:
    conv = Conv2d("c", in_channels=16, out_channels=32, in_height=16, in_width=16, padding=1, independent=True)
    net = Network("n", (conv,)).with_precision(Precision.FP16)
    return with_activation_zero_shares(net, [zero_in], [zero_out])


def test_a_run_moves_coded_feature_maps_and_dense_weights():
    net = _conv_net(0.6, 0.7)
    hw = preset("seed")
    coded = hw.replace(dram=dataclasses.replace(hw.dram, activation_compression="rlc"))
    dense_total = summarize(simulate(net, hw)).total
    coded_total = summarize(simulate(net, coded)).total
    layer = net.layers[0]
    assert coded_total.dram_write_bytes == rlc.coded_bytes(layer.output_elements, 0.7, Precision.FP16)
    assert dense_total.dram_write_bytes == layer.output_bytes
    assert coded_total.dram_read_bytes < dense_total.dram_read_bytes
    assert coded_total.macs == dense_total.macs
    assert coded_total.cycles >= coded_total.bound.cycles


def test_no_zeros_or_no_coding_changes_nothing():
    hw = preset("seed")
    coded = hw.replace(dram=dataclasses.replace(hw.dram, activation_compression="rlc"))
    plain = summarize(simulate(_conv_net(0.0, 0.0), coded)).total
    assert plain.dram_read_bytes == summarize(simulate(_conv_net(0.0, 0.0), hw)).total.dram_read_bytes
    assert summarize(simulate(_conv_net(0.5, 0.5), hw)).total == summarize(simulate(_conv_net(0.0, 0.0), hw)).total


def test_bad_inputs_are_one_line():
    with pytest.raises(ConfigError, match="dram.activation_compression: must be one of none, rlc"):
        Dram(activation_compression="zip")
    with pytest.raises(LayerError, match=r"input_zero_share: must be a number in \[0, 1\)"):
        _conv_net(1.0, 0.0)
    with pytest.raises(LayerError, match="output_zero_share: 2 values for 1 layers"):
        with_activation_zero_shares(_conv_net(0, 0), [0.1], [0.1, 0.2])


def test_a_tensor_kept_on_chip_is_not_coded():
    first = Conv2d("a", in_channels=16, out_channels=32, in_height=16, in_width=16, padding=1, independent=True)
    second = Conv2d("b", in_channels=32, out_channels=16, in_height=16, in_width=16, padding=1)
    net = with_activation_zero_shares(
        Network("n", (first, second)).with_precision(Precision.FP16), [0.5, 0.6], [0.6, 0.7]
    )
    hw = preset("seed")
    coded = hw.replace(dram=dataclasses.replace(hw.dram, activation_compression="rlc"))
    trace = simulate(net, coded)
    assert [layer["output_on_chip"] for layer in trace.meta["layers"]] == [True, False]
    layers = summarize(trace).layers
    assert layers[0].dram_write_bytes == 0 and layers[1].dram_read_bytes == net.layers[1].weight_bytes
    assert layers[1].dram_write_bytes == rlc.coded_bytes(net.layers[1].output_elements, 0.7, Precision.FP16)
    # The kept tensor is booked dense in the activation buffer, as without coding.
    assert trace.values["buf.activation"].max() == simulate(net, hw).values["buf.activation"].max()
