"""The simulator held to its analytical twins: conservation, one state per cycle, bounds."""

import dataclasses
import math
from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invariants import check_invariants

from accelsim.hardware import FIXED_PACK, Accelerator, Buffers, Dram, MacArray
from accelsim.metrics import summarize
from accelsim.precision import Precision
from accelsim.sim.engine import plan_network, simulate
from accelsim.sim.tiling import fold_overhead_cycles, systolic_cycles, systolic_mapping
from accelsim.workload.layers import Conv2d, Gemm, Linear, MatMul, Network
from accelsim.workload.sparsity import DENSE, WeightSparsity


def _hw(
    lanes=64,
    bandwidth=200e6,
    latency_ns=100.0,
    depth=8,
    wbuf=64 * 1024,
    abuf=64 * 1024,
    obuf=32 * 1024,
    retain=True,
    **mac,
):
    return Accelerator(
        mac_array=MacArray(lanes=lanes, **mac),
        buffers=Buffers(weight_bytes=wbuf, activation_bytes=abuf, output_bytes=obuf, retain_activations=retain),
        dram=Dram(bandwidth_bytes_per_s=bandwidth, latency_ns=latency_ns, queue_depth=depth),
    )


def _net(*layers):
    return Network("test", tuple(layers))


def test_single_tile_layer_is_fetch_then_compute_then_write():
    hw = _hw()
    layer = Gemm("g", m=16, k=128, n=16, independent=True)
    trace = simulate(_net(layer), hw)
    check_invariants(trace, _net(layer), hw)
    # Reads of W (8 KiB) and A (8 KiB) stream back to back, then latency, then the 64-lane array
    # (1 FP32 MAC per lane per cycle), then the 1 KiB output write.
    fetch = (128 * 16 * 4 + 16 * 128 * 4) * 5 + 100
    compute = math.ceil(16 * 128 * 16 / 64)
    write = 16 * 16 * 4 * 5
    assert trace.end_cycle == fetch + compute + write


def test_compute_bound_layer_takes_compute_cycles_plus_first_fetch_and_last_write():
    # 1 TB/s with no latency: every later fetch hides under the previous tile's compute.
    hw = _hw(lanes=16, bandwidth=1e12, latency_ns=0.0, tile_overhead_cycles=3)
    net = _net(Gemm("g", m=256, k=256, n=256, independent=True))
    trace = simulate(net, hw)
    check_invariants(trace, net, hw)
    steps = list(plan_network(net, hw)[0].steps())
    bpc = hw.dram_bytes_per_cycle
    first_fetch = math.ceil(Fraction(steps[0].w_bytes + steps[0].a_bytes) / bpc)
    last_write = math.ceil(Fraction(steps[-1].out_bytes) / bpc)
    compute = sum(math.ceil(s.macs / 16) + 3 for s in steps)
    assert compute == math.ceil(net.macs / 16) + 3 * len(steps)  # tiles divide evenly: no rounding loss
    assert trace.end_cycle == first_fetch + compute + last_write
    assert summarize(trace).total.state_cycles["BUSY"] == compute


def test_memory_bound_seed_gemm_is_bus_limited():
    hw = _hw()
    net = _net(Gemm("g", m=256, k=256, n=256, independent=True))
    trace = simulate(net, hw)
    total = check_invariants(trace, net, hw)
    assert total.bound.limiter == "memory"
    # The bus is never idle between the first read and the last write.
    assert total.bus_busy_cycles == trace.end_cycle


def test_precision_scalable_array_packs_int8():
    net = _net(Gemm("g", m=64, k=64, n=64, independent=True)).with_precision(Precision.INT8)
    hw = _hw(bandwidth=1e12, latency_ns=0.0)
    trace = simulate(net, hw)
    check_invariants(trace, net, hw)
    assert summarize(trace).total.state_cycles["BUSY"] == 64 * 64 * 64 // (64 * 4)
    fixed = _hw(bandwidth=1e12, latency_ns=0.0, pack=FIXED_PACK)
    assert summarize(simulate(net, fixed)).total.state_cycles["BUSY"] == 64 * 64 * 64 // 64


def test_partial_cycle_counts_busy_lanes_exactly():
    # 100 MACs on 64 lanes: one cycle with 64 lanes busy and one with 36.
    net = _net(Gemm("g", m=1, k=100, n=1, independent=True))
    trace = simulate(net, _hw())
    busy = trace.values["mac.busy_lanes"]
    assert 64 in busy and 36 in busy
    assert trace.integral("mac.busy_lanes") == 100


def test_stall_reasons_cover_every_waiting_cycle():
    net = _net(Gemm("g", m=256, k=256, n=256, independent=True))
    trace = simulate(net, _hw())
    s = summarize(trace).total.state_cycles
    assert sum(s.values()) == trace.end_cycle
    assert s["STALL_WEIGHTS"] > 0 and s["STALL_ACTIVATIONS"] > 0


def test_dependent_layer_waits_for_previous_outputs():
    a = Linear("a", in_features=256, out_features=256, independent=True)
    b = Linear("b", in_features=256, out_features=256)
    trace = simulate(_net(a, b), _hw(retain=False))
    t = trace.transfers
    last_write_of_a = t["done_cycle"][(t["layer"] == 0) & (t["kind"] == 2)].max()
    act_reads_b = t["issue_cycle"][(t["layer"] == 1) & (t["kind"] == 1)]
    weight_reads_b = t["issue_cycle"][(t["layer"] == 1) & (t["kind"] == 0)]
    assert len(act_reads_b) and act_reads_b.min() >= last_write_of_a
    # Weights have no such dependency: b's first weight tile is prefetched while a runs.
    assert weight_reads_b.min() < last_write_of_a


def test_output_kept_on_chip_for_its_only_consumer():
    chain = _net(
        Linear("a", in_features=256, out_features=256, independent=True),
        Linear("b", in_features=256, out_features=256),
        Linear("c", in_features=256, out_features=256),
    )
    kept, written = simulate(chain, _hw()), simulate(chain, _hw(retain=False))
    assert [m["output_on_chip"] for m in kept.meta["layers"]] == [True, True, False]
    t = kept.transfers
    # Only the weights, the network input and the last output cross the bus.
    assert set(zip(t["layer"].tolist(), t["kind"].tolist())) == {(0, 0), (0, 1), (1, 0), (2, 0), (2, 2)}
    assert int(t["payload_bytes"].sum()) == chain.weight_bytes + 2 * 256 * 4
    assert kept.end_cycle < written.end_cycle
    check_invariants(kept, chain, _hw())
    # A second consumer (a branch) keeps the output in DRAM.
    branch = _net(
        Linear("a", in_features=256, out_features=256, independent=True),
        Linear("b", in_features=256, out_features=256),
        Linear("c", in_features=256, out_features=256, inputs=("a",)),
    )
    assert not simulate(branch, _hw()).meta["layers"][0]["output_on_chip"]


def test_deterministic_traces():
    net = _net(
        Conv2d("c", in_channels=16, out_channels=32, in_height=16, in_width=16, padding=1, independent=True),
        Linear("l", in_features=32 * 16 * 16, out_features=10),
    )
    one, two = simulate(net, _hw()), simulate(net, _hw())
    assert one.end_cycle == two.end_cycle
    for name in one.specs:
        assert np.array_equal(one.starts[name], two.starts[name])
        assert np.array_equal(one.values[name], two.values[name])
    for name in one.transfers:
        assert np.array_equal(one.transfers[name], two.transfers[name])


layers_strategy = st.one_of(
    st.builds(
        lambda m, k, n: Gemm("g", m=m, k=k, n=n, independent=True),
        st.integers(1, 300),
        st.integers(1, 300),
        st.integers(1, 300),
    ),
    st.builds(
        lambda c, o, hw_, k, s, g: Conv2d(
            "c",
            in_channels=c * g,
            out_channels=o * g,
            in_height=hw_,
            in_width=hw_,
            kernel=(k, k),
            stride=s,
            padding=k // 2,
            groups=g,
            batch_norm=True,
            independent=True,
        ),
        st.integers(1, 24),
        st.integers(1, 24),
        st.integers(4, 20),
        st.sampled_from([1, 3]),
        st.sampled_from([1, 2]),
        st.sampled_from([1, 2, 4]),
    ),
    st.builds(
        lambda b, m, k, n: MatMul("mm", batch=b, m=m, k=k, n=n, independent=True),
        st.integers(1, 4),
        st.integers(1, 64),
        st.integers(1, 64),
        st.integers(1, 64),
    ),
)

vector_strategy = st.builds(
    _hw,
    lanes=st.sampled_from([1, 7, 16, 64, 256]),
    bandwidth=st.sampled_from([50e6, 200e6, 3e9, 64e9]),
    latency_ns=st.sampled_from([0.0, 17.0, 100.0, 1000.0]),
    depth=st.integers(1, 8),
    wbuf=st.sampled_from([4096, 16384, 65536]),
    abuf=st.sampled_from([4096, 16384, 65536]),
    obuf=st.sampled_from([4096, 16384]),
    tile_overhead_cycles=st.sampled_from([0, 2]),
    zero_skipping=st.booleans(),
    sparse_pattern=st.sampled_from(["none", "2:4"]),
)


def _systolic(rows, cols, dataflow, **kw):
    return _hw(lanes=rows * cols, geometry="systolic", rows=rows, cols=cols, dataflow=dataflow, **kw)


systolic_strategy = st.builds(
    _systolic,
    rows=st.sampled_from([1, 3, 8, 16]),
    cols=st.sampled_from([1, 4, 8, 32]),
    dataflow=st.sampled_from(["os", "ws", "is"]),
    bandwidth=st.sampled_from([200e6, 3e9, 64e9]),
    latency_ns=st.sampled_from([0.0, 100.0]),
    depth=st.integers(1, 8),
    wbuf=st.sampled_from([4096, 65536]),
    abuf=st.sampled_from([4096, 65536]),
    obuf=st.sampled_from([4096, 16384]),
    tile_overhead_cycles=st.sampled_from([0, 2]),
)
hardware_strategy = st.one_of(vector_strategy, systolic_strategy)

sparsity_strategy = st.one_of(
    st.just(DENSE),
    st.builds(
        WeightSparsity,
        density=st.sampled_from([0.05, 0.3, 0.5, 0.7, 0.99]),
        format=st.sampled_from(["dense", "bitmask", "csr"]),
    ),
    st.sampled_from([WeightSparsity.n_of_m(2, 4), WeightSparsity.n_of_m(1, 4), WeightSparsity.n_of_m(3, 8)]),
)


@settings(
    max_examples=int(__import__("os").environ.get("ACCELSIM_HYPOTHESIS_EXAMPLES", 40)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    layers=st.lists(st.tuples(layers_strategy, sparsity_strategy), min_size=1, max_size=3),
    hw=hardware_strategy,
    precision=st.sampled_from(list(Precision)),
)
def test_random_layers_and_hardware_respect_bounds_and_conservation(layers, hw, precision):
    named = [
        dataclasses.replace(layer, name=f"l{i}", independent=i == 0, sparsity=sparsity)
        for i, (layer, sparsity) in enumerate(layers)
    ]
    net = _net(*named).with_precision(precision)
    check_invariants(simulate(net, hw), net, hw)


@settings(
    max_examples=int(__import__("os").environ.get("ACCELSIM_HYPOTHESIS_EXAMPLES", 40)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    widths=st.lists(st.integers(1, 600), min_size=2, max_size=5),
    tokens=st.integers(1, 40),
    branch=st.booleans(),
    hw=hardware_strategy,
    retain=st.booleans(),
    precision=st.sampled_from(list(Precision)),
)
def test_random_chains_with_on_chip_activations(widths, tokens, branch, hw, retain, precision):
    # Chained layers whose outputs may stay on chip (or not: too big, a branch, retention off).
    layers = [
        Linear(f"l{i}", in_features=a, out_features=b, tokens=tokens, independent=i == 0)
        for i, (a, b) in enumerate(zip(widths, widths[1:]))
    ]
    if branch and len(layers) > 1:
        layers.append(Linear("tail", in_features=widths[1], out_features=7, tokens=tokens, inputs=("l0",)))
    hw = hw.replace(buffers=dataclasses.replace(hw.buffers, retain_activations=retain))
    net = _net(*layers).with_precision(precision)
    check_invariants(simulate(net, hw), net, hw)


def _systolic_cycles_by_tiles(layer, hw, tm, tk, tn):
    """systolic_cycles as it was written first: one term per tile of each axis."""
    array = hw.mac_array
    m, k, n = layer.gemm_mkn
    rows, cols, streamed = systolic_mapping(array.dataflow, (m, tm), (k, tk), (n, tn))

    def tiles(axis):
        size, tile = axis
        return [tile] * (size // tile) + ([size % tile] if size % tile else [])

    row_folds = sum(-(-t // array.rows) for t in tiles(rows))
    col_folds = sum(-(-t // array.cols) for t in tiles(cols))
    per_fold = sum(t + fold_overhead_cycles(hw) for t in tiles(streamed))
    return layer.groups * row_folds * col_folds * per_fold


@settings(max_examples=200, deadline=None)
@given(
    mkn=st.tuples(st.integers(1, 300), st.integers(1, 300), st.integers(1, 300)),
    tiles=st.tuples(st.integers(1, 300), st.integers(1, 300), st.integers(1, 300)),
    rows=st.integers(1, 40),
    cols=st.integers(1, 40),
    dataflow=st.sampled_from(["os", "ws", "is"]),
)
def test_systolic_cycles_closed_form_equals_the_sum_over_tiles(mkn, tiles, rows, cols, dataflow):
    layer = Gemm("g", m=mkn[0], k=mkn[1], n=mkn[2])
    hw = _systolic(rows, cols, dataflow)
    tm, tk, tn = (min(t, size) for t, size in zip(tiles, mkn))
    assert systolic_cycles(layer, hw, tm, tk, tn) == _systolic_cycles_by_tiles(layer, hw, tm, tk, tn)


@settings(
    max_examples=int(__import__("os").environ.get("ACCELSIM_HYPOTHESIS_EXAMPLES", 30)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    kernels=st.lists(st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(0, 2)), min_size=1, max_size=3),
    size=st.integers(6, 24),
    hw=hardware_strategy,
    retain=st.booleans(),
    precision=st.sampled_from(list(Precision)),
    compression=st.sampled_from(
        [
            "baseline",
            "int4",
            "prune(0.5)",
            "sparsify(0.7)",
            "nm(2, 4)",
            "distill(0.5)",
            "lowrank(0.5)",
            "prune(0.25) -> int8",
        ]
    ),
)
def test_random_strided_chains_under_compression(kernels, size, hw, retain, precision, compression):
    # Hardware x workload x compression: convolutions with any kernel, stride and padding (a
    # stride larger than the kernel skips pixels), compressed, outputs kept on chip or not.
    from accelsim.compress import pipeline
    from accelsim.compress.spec import parse_pipeline

    layers, channels = [], 3
    for i, (kernel, stride, padding) in enumerate(kernels):
        if size + 2 * padding < kernel:
            break
        layer = Conv2d(
            f"c{i}",
            in_channels=channels,
            out_channels=8,
            in_height=size,
            in_width=size,
            kernel=(kernel, kernel),
            stride=stride,
            padding=padding,
            independent=i == 0,
        )
        layers.append(layer)
        channels, size = 8, layer.out_height
    layers.append(Linear("fc", in_features=channels * size * size, out_features=5, independent=not layers))
    hw = hw.replace(buffers=dataclasses.replace(hw.buffers, retain_activations=retain))
    net = pipeline(*parse_pipeline(compression))(_net(*layers).with_precision(precision))
    check_invariants(simulate(net, hw), net, hw)
