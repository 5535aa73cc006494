"""The row-stationary dataflow: mapping constraints, passes, MACs and cycles, a full run."""

import dataclasses

import pytest
from invariants import check_invariants

from accelsim import preset, simulate, summarize
from accelsim.hardware import ConfigError, MacArray
from accelsim.precision import Precision
from accelsim.sim.row_stationary import RsStep, conv_shape, input_span, map_layer, plan_row_stationary
from accelsim.workload.activation_zeros import with_activation_zero_shares
from accelsim.workload.layers import Conv2d, Linear, Network


def _rs(**buffers) -> object:
    hw = preset("eyeriss")
    return hw.replace(buffers=dataclasses.replace(hw.buffers, **buffers)) if buffers else hw


def _conv(name: str = "c", **kw) -> Conv2d:
    base = dict(in_channels=24, out_channels=32, in_height=14, in_width=14, kernel=(3, 3), padding=1, independent=True)
    return Conv2d(name, **{**base, **kw}).with_precision(Precision.FP16, Precision.FP16)


def test_rs_needs_a_systolic_array_with_the_tiles_schedule():
    with pytest.raises(ConfigError, match='mac_array.dataflow: must be "rs" only on a systolic array'):
        MacArray(dataflow="rs")
    with pytest.raises(ConfigError, match="mac_array.pe_ifmap_spad_entries: must be an integer"):
        MacArray(pe_ifmap_spad_entries=0)


def test_the_mapping_respects_scratchpads_array_and_glb():
    hw = _rs()
    for layer in (_conv(), _conv(kernel=(5, 5), padding=2, stride=2), _conv(in_height=40, in_width=40)):
        mp = map_layer(layer, hw)
        cs = conv_shape(layer)
        assert mp.q * cs.s <= hw.mac_array.pe_ifmap_spad_entries
        assert mp.p * mp.q * cs.s <= hw.mac_array.pe_filter_spad_entries
        assert mp.p <= hw.mac_array.pe_psum_spad_entries
        assert mp.active_pes <= hw.mac_array.lanes
        psums = mp.n * mp.m * mp.e * cs.f * 2
        assert psums <= hw.buffers.activation_bytes + hw.buffers.output_bytes


def test_a_wide_set_folds_into_strips():
    # AlexNet CONV2's 5 x 27 set: two strips of 14 columns stacked in 10 rows, 135 PEs.
    conv2 = _conv(in_channels=48, out_channels=128, in_height=27, in_width=27, kernel=(5, 5), padding=2)
    mp = map_layer(conv2, _rs())
    assert (mp.e, mp.r * mp.t, mp.active_pes) == (27, 1, 135)


def test_passes_conserve_macs_and_take_at_least_the_bound():
    for layer in (_conv(), _conv(stride=2, kernel=(5, 5)), Linear("fc", in_features=300, out_features=70, tokens=9)):
        hw = _rs()
        plan = plan_row_stationary(layer, hw)
        steps = list(plan.steps())
        assert all(isinstance(s, RsStep) for s in steps)
        assert sum(s.macs for s in steps) == layer.macs
        assert all(s.macs <= s.active_pes * s.pe_cycles for s in steps)
        assert sum(s.pe_cycles for s in steps) >= layer.macs / hw.mac_array.lanes
        assert sum(s.out_bytes for s in steps if s.out_last) == layer.output_bytes
        assert plan.step_count == len(steps)


def test_weights_are_read_once_per_image_and_row_block():
    layer = _conv()
    hw = _rs()
    mp = map_layer(layer, hw)
    steps = list(plan_row_stationary(layer, hw).steps())
    cs = conv_shape(layer)
    blocks = -(-cs.n // mp.n) * -(-cs.e // mp.e)
    assert sum(s.w_bytes for s in steps) == blocks * layer.weight_bytes


def test_input_span_counts_rows_read():
    assert input_span(0, 7, 11, 4, 0, 227) == 6 * 4 + 11
    assert input_span(0, 13, 3, 1, 1, 13) == 13  # padding is not read
    assert input_span(0, 2, 1, 3, 0, 9) == 2  # a stride past the kernel skips rows


def test_a_run_satisfies_every_invariant():
    hw = _rs()
    net = Network("n", (_conv(), _conv("d", in_channels=32, out_channels=16, independent=False)))
    net = with_activation_zero_shares(net, [0.5, 0.6], [0.6, 0.7])  # the preset codes feature maps
    trace = simulate(net, hw)
    check_invariants(trace, net, hw)
    total = summarize(trace).total
    assert total.macs == sum(layer.macs for layer in net.layers)
    assert total.cycles >= total.bound.cycles


def test_double_buffering_halves_what_a_pass_may_hold():
    layer = _conv(in_height=40, in_width=40)
    single, double = map_layer(layer, _rs()), map_layer(layer, _rs(prefetch_depth_tiles=1))
    assert double.p * double.q * 3 * 2 <= 224
    assert (single.n * single.m * single.e) >= (double.n * double.m * double.e)


def test_no_mapping_is_one_line():
    hw = preset("eyeriss")
    tiny = hw.replace(mac_array=dataclasses.replace(hw.mac_array, pe_filter_spad_entries=2))
    with pytest.raises(ConfigError, match="layer c: no row-stationary mapping fits"):
        map_layer(_conv(), tiny)
