"""Compression transforms: exact shapes, dataflow consistency, provenance, bad parameters."""

import pytest

from accelsim import hardware
from accelsim.compress import (
    Distill,
    LowRank,
    NMPrune,
    Quantize,
    StructuredPrune,
    UnstructuredPrune,
    pipeline,
    prunable_layers,
    residual_stages,
)
from accelsim.compress.spec import parse_pipeline
from accelsim.errors import InputError
from accelsim.metrics import summarize
from accelsim.precision import Precision
from accelsim.sim.engine import simulate
from accelsim.workload.layers import Conv2d, Linear, MatMul, Network
from accelsim.workload.networks import network
from accelsim.workload.provenance import ProvenanceStep, steps_from_json
from accelsim.workload.sparsity import DENSE, WeightSparsity
from accelsim.workload.vector import VectorOp


def _two_linears():
    return Network(
        "two",
        (
            Linear("a", in_features=256, out_features=256, independent=True),
            Linear("b", in_features=256, out_features=10),
        ),
    )


def _channels_out(layer):
    return layer.out_channels if isinstance(layer, (Conv2d, VectorOp)) else layer.out_features


def check_consistent(net):
    """Every layer reads as many channels as its producers write; residual sums add equal widths."""
    for layer, producers in zip(net.layers, net.producers()):
        sources = [net.layers[p] for p in producers if not isinstance(net.layers[p], MatMul)]
        if not sources or isinstance(layer, MatMul):
            continue
        widths = {_channels_out(s) for s in sources}
        assert len(widths) == 1, (layer.name, widths)
        width = widths.pop()
        if isinstance(layer, (Conv2d, VectorOp)):  # a vector layer's channels follow its input's
            assert layer.in_channels == width, layer.name
        else:
            assert layer.in_features % width == 0, layer.name


def test_structured_pruning_of_two_linears_is_exact():
    pruned = StructuredPrune(0.5)(_two_linears())
    a, b = pruned.layers
    assert (a.in_features, a.out_features, b.in_features, b.out_features) == (256, 128, 128, 10)
    assert a.weight_elements == 128 * 256 + 128 and b.weight_elements == 10 * 128 + 10
    assert pruned.provenance == (ProvenanceStep("prune", (("ratio", 0.5),), "prune(structured, ratio=0.5)"),)


def test_structured_pruning_respects_residual_connections():
    base = network("resnet20")
    pruned = StructuredPrune(0.5)(base)
    check_consistent(pruned)
    by_name = {layer.name: layer for layer in pruned.layers}
    # Inner convolutions lose half their outputs; block outputs, shortcuts and fc keep theirs.
    assert by_name["layer1.0.conv1"].out_channels == 8 and by_name["layer1.0.conv2"].in_channels == 8
    assert by_name["layer1.0.conv2"].out_channels == 16
    assert by_name["layer2.0.downsample"].out_channels == 32 and by_name["conv1"].out_channels == 16
    assert (by_name["fc"].in_features, by_name["fc"].out_features) == (64, 10)
    names = [base.layers[i].name for i in prunable_layers(base)]
    assert names == [layer.name for layer in base.layers if layer.name.endswith(".conv1")]


def test_pruning_shrinks_depthwise_convolutions_with_their_input():
    pruned = StructuredPrune(0.25)(network("mobilenet_v2"))
    check_consistent(pruned)
    by_name = {layer.name: layer for layer in pruned.layers}
    expand, depthwise = by_name["features.2.expand"], by_name["features.2.depthwise"]
    assert expand.out_channels == 72  # 96 x 0.75
    assert depthwise.in_channels == depthwise.out_channels == depthwise.groups == 72
    assert by_name["features.2.project"].in_channels == 72 and by_name["features.2.project"].out_channels == 24


@pytest.mark.parametrize("name", ["resnet20", "resnet50", "mobilenet_v2", "bert-base-layer", "mlp"])
def test_distilled_students_are_consistent_and_keep_inputs_and_classes(name):
    base = network(name)
    student = Distill(0.5)(base)
    check_consistent(student)
    first, last = student.layers[0], student.layers[-1]
    assert _channels_out(last) == _channels_out(base.layers[-1])
    if isinstance(first, Conv2d):
        assert first.in_channels == 3
    else:
        assert first.in_features == base.layers[0].in_features
    assert student.macs < base.macs / 2


def test_distilled_resnet20_halves_every_internal_width():
    student = Distill(0.5)(network("resnet20"))
    by_name = {layer.name: layer for layer in student.layers}
    assert (by_name["conv1"].in_channels, by_name["conv1"].out_channels) == (3, 8)
    assert (by_name["layer3.2.conv2"].in_channels, by_name["layer3.2.conv2"].out_channels) == (32, 32)
    assert (by_name["fc"].in_features, by_name["fc"].out_features) == (32, 10)


def test_low_rank_factors_and_rewires_consumers():
    net = Network(
        "three",
        (
            Linear("a", in_features=256, out_features=256, independent=True),
            Linear("b", in_features=256, out_features=256),
            Linear("c", in_features=256, out_features=10, inputs=("a",)),
        ),
    )
    low = LowRank(0.25)(net)
    names = [layer.name for layer in low.layers]
    assert names == ["a.u", "a.v", "b.u", "b.v", "c.u", "c.v"]
    u, v = low.layers[0], low.layers[1]
    assert (u.in_features, u.out_features, u.bias) == (256, 64, False)
    assert (v.in_features, v.out_features, v.bias) == (64, 256, True)
    assert low.layers[4].inputs == ("a.v",)  # c read a; it now reads a's second factor
    # a and b at rank 64; c (256 -> 10) at rank round(0.25 x 10) = 2.
    assert low.parameter_count == 2 * (256 * 64 + 64 * 256 + 256) + (256 * 2 + 2 * 10 + 10)
    # A factorization that would not save weights is skipped.
    assert [layer.name for layer in LowRank(1.0)(net).layers] == ["a", "b", "c"]


def test_quantize_changes_bytes_and_keeps_shapes():
    net = Quantize("int4", "int8")(network("mlp"))
    fc1 = net.layers[0]
    assert (fc1.weight_precision, fc1.activation_precision) == (Precision.INT4, Precision.INT8)
    assert fc1.weight_bytes == (784 * 256 + 256) // 2
    partial = Quantize("int8", layers=("fc2",))(network("mlp"))
    assert [layer.weight_precision for layer in partial.layers] == [Precision.FP32, Precision.INT8, Precision.FP32]


def test_pipeline_order_is_kept_and_matters():
    steps = (StructuredPrune(0.5), Quantize("int8"), Distill(0.5))
    net = pipeline(*steps)(network("resnet20"))
    assert net.provenance == tuple(step.provenance() for step in steps)
    assert [step.text for step in net.provenance] == [step.describe() for step in steps]
    assert [step.method for step in net.provenance] == ["prune", "quantize", "distill"]
    # Quantizing one layer, then factoring it, quantizes both factors; the other way round the
    # layer no longer exists.
    factored = pipeline(Quantize("int8", layers=("fc2",)), LowRank(0.25))(network("mlp"))
    assert {layer.weight_precision for layer in factored.layers if layer.name.startswith("fc2.")} == {Precision.INT8}
    with pytest.raises(InputError, match="quantize: layers: 'fc2' is not a layer"):
        pipeline(LowRank(0.25), Quantize("int8", layers=("fc2",)))(network("mlp"))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: StructuredPrune(1.0), "prune: ratio must be in [0, 1) (got 1.0)"),
        (lambda: StructuredPrune(-0.1), "prune: ratio must be in [0, 1)"),
        (lambda: StructuredPrune(0.999), "prune: ratio 0.999 removes every output channel of layer"),
        (lambda: Distill(0.0), "distill: width must be in (0, 1]"),
        (lambda: Distill(0.5, depth=1.5), "distill: depth must be in (0, 1]"),
        (lambda: LowRank(0), "low-rank: rank_ratio must be in (0, 1]"),
        (lambda: Quantize("int3"), "precision: unknown 'int3'"),
        (lambda: UnstructuredPrune(1.0), "sparsify: sparsity must be in [0, 1)"),
        (lambda: UnstructuredPrune(0.5, "coo"), "sparsify: format must be one of dense, bitmask, csr"),
        (lambda: NMPrune(4, 4), "sparsity: N:M pattern needs integers 1 <= N < M (got 4:4)"),
        (lambda: NMPrune(2, 4, layers=("nope",)), "nm-prune: layers: 'nope' is not a layer of resnet20"),
        (lambda: pipeline(NMPrune(2, 4), NMPrune(1, 4)), "nm-prune: layer conv1 is already sparse (2:4 sparse)"),
    ],
)
def test_invalid_parameters_are_one_line_errors(make, message):
    with pytest.raises(InputError) as err:
        make()(network("resnet20"))
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_distillation_applies_once():
    with pytest.raises(InputError, match="applies once"):
        pipeline(Distill(0.5), Distill(0.5))(network("mlp"))


@pytest.mark.parametrize("name", ["resnet20", "mobilenet_v2", "mlp"])
def test_compressed_networks_simulate_and_record_provenance(name):
    hw = hardware.seed()
    compressed = pipeline(StructuredPrune(0.5), Quantize("int8"), Distill(0.5), LowRank(0.5))(network(name))
    trace = simulate(compressed, hw)
    total = summarize(trace).total
    assert total.macs == compressed.macs and trace.end_cycle >= total.bound.cycles
    assert trace.meta["provenance"] == [step.as_json() for step in compressed.provenance]
    assert steps_from_json(trace.meta["provenance"]) == compressed.provenance


def test_trace_info_shows_the_compression_steps(tmp_path, capsys):
    from accelsim.cli import main
    from accelsim.trace import store

    path = tmp_path / "student.npz"
    store.save(simulate(pipeline(StructuredPrune(0.5), Quantize("int8"))(network("mlp")), hardware.seed()), path)
    assert main(["trace", "info", str(path)]) == 0
    assert (
        "provenance  prune(structured, ratio=0.5) -> quantize(weights=int8, activations=int8)"
        in capsys.readouterr().out
    )


def _channels_in(layer):
    return layer.in_channels if isinstance(layer, Conv2d) else layer.in_features


def test_unstructured_pruning_keeps_shapes_and_stores_the_format():
    base = _two_linears()
    sparse = UnstructuredPrune(0.75, "csr")(base)
    assert [layer.gemm_mkn for layer in sparse.layers] == [layer.gemm_mkn for layer in base.layers]
    a, b = sparse.layers
    assert a.sparsity == WeightSparsity(0.25, "csr") and a.nonzero_weights == 256 * 256 // 4
    # CSR: each nonzero with an 8-bit position along K = 256, 9-bit counts per output, bias dense.
    assert a.weight_bytes == (16384 * (32 + 8) + 256 * 9 + 256 * 32) // 8
    assert [step.text for step in sparse.provenance] == ["prune(unstructured, sparsity=0.75, csr)"]
    assert sparse.provenance[0].params == (("sparsity", 0.75), ("format", "csr"), ("layers", None))
    # Pruning again multiplies the densities.
    again = UnstructuredPrune(0.5, "bitmask")(sparse)
    assert again.layers[0].sparsity == WeightSparsity(0.125, "bitmask")


def test_nm_pruning_only_touches_layers_with_weights():
    bert = NMPrune(2, 4)(network("bert-base-layer"))
    for layer in bert.layers:
        if isinstance(layer, MatMul):
            assert layer.b_sparsity == DENSE and layer.sparsity == DENSE
        else:
            assert (
                layer.sparsity.pattern == "2:4" and layer.nonzero_weights * 2 == layer.gemm_mkn[1] * layer.gemm_mkn[2]
            )


def test_low_rank_factors_of_a_sparse_layer_are_dense():
    # At rank ratio 0.9 only fc3 (256 x 10 -> rank 9) saves weights by factoring.
    factored = pipeline(UnstructuredPrune(0.5), LowRank(0.9))(network("mlp"))
    assert [layer.name for layer in factored.layers] == ["fc1", "fc2", "fc3.u", "fc3.v"]
    assert [layer.sparsity for layer in factored.layers] == [WeightSparsity(0.5, "bitmask")] * 2 + [DENSE] * 2


def test_depth_keeps_ceil_of_each_stage_as_efficientnet_does():
    r20 = network("resnet20")
    assert [(count, len(run)) for count, run in residual_stages(r20)] == [(3, 3), (3, 2), (3, 2)]
    r14 = Distill(1.0, depth=0.5)(r20)
    names = [layer.name for layer in r14.layers]
    assert sum(layer.unit == "mac" for layer in r14.layers) == 16
    assert "layer1.2.conv1" not in names and "layer3.2.conv2" not in names and "layer3.2.add" not in names
    check_consistent(r14)
    by_name = {layer.name: layer for layer in r14.layers}
    # Readers of a dropped block's output (its residual add's ReLU) read the block's input instead.
    assert by_name["layer2.0.conv1"].inputs == by_name["layer2.0.downsample"].inputs == ("layer1.1.relu",)
    assert names[-3:] == ["layer3.1.relu", "avgpool", "fc"]
    # ResNet-18 -> ResNet-10: one basic block per stage; ResNet-50 [3, 4, 6, 3] -> [2, 2, 3, 2].
    r10 = Distill(1.0, depth=0.5)(network("resnet18"))
    assert sum(layer.name.endswith(".conv2") for layer in r10.layers) == 4
    r50 = Distill(1.0, depth=0.5)(network("resnet50"))
    blocks = {".".join(layer.name.split(".")[:2]) for layer in r50.layers if layer.name.startswith("layer")}
    assert [sum(b.startswith(f"layer{s}.") for b in blocks) for s in range(1, 5)] == [2, 2, 3, 2]
    # The smallest depth keeps only each stage's first block; the width still applies.
    r8 = Distill(0.5, depth=0.01)(r20)
    assert sum(layer.unit == "mac" for layer in r8.layers) == 10 and by_name["conv1"].out_channels == 16
    assert {layer.out_channels for layer in r8.layers if isinstance(layer, Conv2d)} == {8, 16, 32}
    with pytest.raises(InputError, match="distill: depth 0.5 needs residual blocks with identity shortcuts; mlp"):
        Distill(1.0, depth=0.5)(network("mlp"))


def test_consecutive_dropped_blocks_rewire_through_each_other():
    r50 = network("resnet50")
    shallow = Distill(1.0, depth=0.01)(r50)
    check_consistent(shallow)
    by_name = {layer.name: layer for layer in shallow.layers}
    assert by_name["layer3.0.conv1"].inputs == ("layer2.0.relu",)
    assert by_name["layer3.0.add"].inputs == ("layer3.0.conv3.bn", "layer3.0.downsample.bn")
    assert trace_ok(shallow)


def trace_ok(net):
    trace = simulate(net, hardware.seed())
    return trace.integral("mac.macs") == net.macs


def test_interior_networks_change_every_width():
    gemms = network("seed-gemms")
    assert gemms.interior
    pruned, student = StructuredPrune(0.5)(gemms), Distill(0.5)(gemms)
    assert [layer.gemm_mkn for layer in pruned.layers] == [
        (16, 64, 8),
        (32, 64, 16),
        (64, 64, 32),
        (128, 64, 64),
        (256, 128, 128),
    ]
    # A student's layer of half width is the same shape here; the two differ in accuracy.
    assert [layer.gemm_mkn for layer in student.layers] == [layer.gemm_mkn for layer in pruned.layers]
    assert pruned.macs * 4 == gemms.macs
    # The same network not marked interior keeps its inputs and the last layer's outputs.
    plain = Network("plain", gemms.layers)
    assert StructuredPrune(0.5)(plain).layers == plain.layers


@pytest.mark.parametrize(
    "text, steps",
    [
        ("baseline", ()),
        ("int8", (Quantize("int8"),)),
        ("prune(0.5) -> int8 -> distill(0.5)", (StructuredPrune(0.5), Quantize("int8"), Distill(0.5))),
        ("sparsify(0.8, csr) -> quantize(w=int4, a=int8)", (UnstructuredPrune(0.8, "csr"), Quantize("int4", "int8"))),
        ("nm(2, 4)", (NMPrune(2, 4),)),
        ("distill(0.5, depth=0.5) -> lowrank(0.25)", (Distill(0.5, 0.5), LowRank(0.25))),
        ("NM(1,4) -> FP16", (NMPrune(1, 4), Quantize("fp16"))),
    ],
)
def test_pipeline_texts(text, steps):
    assert parse_pipeline(text) == steps


@pytest.mark.parametrize(
    "text, message",
    [
        ("prune(x)", "compression step prune: ratio must be a number (got 'x')"),
        ("foo(1)", "compression step 'foo': unknown; allowed: quantize, prune"),
        ("nm(2, 4, 5)", "compression step nm: at most 2 arguments (n, m)"),
        ("distill(0.5, q=1)", "compression step distill: unknown argument 'q'; allowed: width, depth"),
        ("prune(1.5)", "prune: ratio must be in [0, 1) (got 1.5)"),
        ("prune(0.5) -> ", "compression step '': expected name or name(arguments)"),
        ("quantize(int9)", "compression step quantize: weights: unknown precision 'int9'; allowed: fp32"),
    ],
)
def test_bad_pipeline_texts_are_one_line_errors(text, message):
    with pytest.raises(InputError) as err:
        parse_pipeline(text)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)
