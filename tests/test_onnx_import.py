"""ONNX import: small graphs built with onnx.helper, imported layer by layer with exact fields."""

import dataclasses
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

import export_onnx  # noqa: E402  (tools/: writes a built-in network as ONNX)
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from accelsim import hardware  # noqa: E402
from accelsim.errors import InputError  # noqa: E402
from accelsim.interop.onnx_import import FOLDED_BATCH_NORM, FOLDED_BIAS, import_onnx  # noqa: E402
from accelsim.sim.engine import simulate  # noqa: E402
from accelsim.workload.layers import Conv2d, Linear, MatMul  # noqa: E402


def value(name, *shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def weight(name, *shape, dtype=np.float32):
    return numpy_helper.from_array(np.zeros(shape, dtype), name)


def ints(name, *values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


def save(tmp_path, nodes, inputs, outputs, initializers=(), name="model"):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


def conv(name, x, w, y, bias=None, **attrs):
    return helper.make_node("Conv", [x, w] + ([bias] if bias else []), [y], name=name, **attrs)


def one_line_error(path, match):
    with pytest.raises(InputError, match=match) as error:
        import_onnx(path)
    assert "\n" not in str(error.value)
    return str(error.value)


# --- 1. a small CNN ---------------------------------------------------------------------------------


def small_cnn(tmp_path):
    nodes = [
        conv("conv1", "x", "w1", "c1", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization", ["c1", "s", "b", "mean", "var"], ["n1"], name="bn1"),
        helper.make_node("Relu", ["n1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        conv("conv2", "p1", "w2", "c2", bias="b2", strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Flatten", ["r2"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], name="fc", transB=1),
    ]
    bn = [weight(n, 8) for n in ("s", "b", "mean", "var")]
    inits = [weight("w1", 8, 1, 3, 3), *bn, weight("w2", 16, 8, 3, 3), weight("b2", 16)]
    inits += [weight("wf", 10, 16 * 7 * 7), weight("bf", 10)]
    return save(tmp_path, nodes, [value("x", "N", 1, 28, 28)], [value("y", "N", 10)], inits, "cnn")


def test_small_cnn_layers(tmp_path):
    result = import_onnx(small_cnn(tmp_path))
    net = result.network
    assert net.name == "cnn"
    assert net.layers == (
        Conv2d(
            "conv1",
            in_channels=1,
            out_channels=8,
            in_height=28,
            in_width=28,
            kernel=(3, 3),
            stride=1,
            padding=1,
            bias=False,
            batch_norm=True,
            independent=True,
        ),
        # The 2x2 max pool halves 28 -> 14; conv2 reads conv1 through BN, Relu and the pool.
        Conv2d(
            "conv2",
            in_channels=8,
            out_channels=16,
            in_height=14,
            in_width=14,
            kernel=(3, 3),
            stride=2,
            padding=1,
            bias=True,
        ),
        Linear("fc", in_features=16 * 7 * 7, out_features=10, tokens=1, bias=True),
    )
    assert net.layers[1].out_height == 7
    assert net.producers() == ((), (0,), (1,))
    assert result.ignored == {FOLDED_BATCH_NORM: 1, "Relu": 2, "MaxPool": 1, "Flatten": 1}
    assert len(net.layers) + sum(result.ignored.values()) == 8
    assert result.notes == ("graph input 'x': batch dimension 'N' taken as 1",)


def test_small_cnn_describe_and_simulate(tmp_path):
    result = import_onnx(small_cnn(tmp_path), name="tiny")
    net = result.network
    assert net.name == "tiny"
    text = result.describe()
    assert text.splitlines()[0] == f"tiny: imported 3 layers (2 conv2d, 1 linear), {net.macs:,} MACs"
    assert "ignored 4 nodes (their cost is not modelled): Relu x2, MaxPool x1, Flatten x1" in text
    assert f"folded into the preceding layer: {FOLDED_BATCH_NORM} x1" in text
    assert "note: graph input 'x': batch dimension 'N' taken as 1" in text
    trace = simulate(net, hardware.seed())
    assert trace.integral("mac.macs") == net.macs


# --- 2. a residual block ----------------------------------------------------------------------------


def test_residual_add_names_both_producers(tmp_path):
    nodes = [
        conv("conv0", "x", "w0", "c0", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c0"], ["r0"]),
        conv("a", "r0", "wa", "ca", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["ca"], ["ra"]),
        conv("b", "ra", "wb", "cb", pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["cb", "r0"], ["sum"]),
        helper.make_node("Relu", ["sum"], ["rs"]),
        conv("c", "rs", "wc", "y"),
    ]
    inits = [weight(f"w{n}", 8, 8, 3, 3) for n in ("0", "a", "b")] + [weight("wc", 4, 8, 1, 1)]
    result = import_onnx(save(tmp_path, nodes, [value("x", 1, 8, 8, 8)], [value("y", 1, 4, 8, 8)], inits))
    net = result.network
    assert [layer.name for layer in net.layers] == ["conv0", "a", "b", "c"]
    assert [layer.inputs for layer in net.layers] == [None, None, None, ("b", "conv0")]
    assert [layer.independent for layer in net.layers] == [True, False, False, False]
    assert net.producers() == ((), (0,), (1,), (2, 0))
    assert net.layers[3] == Conv2d(
        "c", in_channels=8, out_channels=4, in_height=8, in_width=8, kernel=(1, 1), inputs=("b", "conv0")
    )
    assert result.ignored == {"Relu": 3, "Add": 1}
    assert result.notes == ()


def test_layer_reading_graph_input_and_a_layer_keeps_the_layer(tmp_path):
    nodes = [
        conv("conv0", "x", "w0", "c0", pads=[1, 1, 1, 1]),
        helper.make_node("Concat", ["x", "c0"], ["cat"], axis=1),
        conv("conv1", "cat", "w1", "y"),
    ]
    inits = [weight("w0", 4, 4, 3, 3), weight("w1", 2, 8, 1, 1)]
    result = import_onnx(save(tmp_path, nodes, [value("x", 1, 4, 6, 6)], [value("y", 1, 2, 6, 6)], inits))
    first, second = result.network.layers
    assert (first.independent, second.independent, second.inputs) == (True, False, None)
    assert second.in_channels == 8
    assert result.notes == ("layer conv1: also reads the graph input; only its producer layers are kept",)


# --- 3. depthwise -----------------------------------------------------------------------------------


def test_depthwise_conv(tmp_path):
    nodes = [
        conv("dw", "x", "wd", "d", group=16, pads=[1, 1, 1, 1]),
        conv("pw", "d", "wp", "y"),
    ]
    inits = [weight("wd", 16, 1, 3, 3), weight("wp", 32, 16, 1, 1)]
    net = import_onnx(save(tmp_path, nodes, [value("x", 1, 16, 10, 10)], [value("y", 1, 32, 10, 10)], inits)).network
    dw, pw = net.layers
    assert dw == Conv2d(
        "dw",
        in_channels=16,
        out_channels=16,
        in_height=10,
        in_width=10,
        kernel=(3, 3),
        padding=1,
        groups=16,
        independent=True,
    )
    assert dw.gemm_mkn == (100, 9, 1) and dw.macs == 16 * 100 * 9
    assert pw == Conv2d("pw", in_channels=16, out_channels=32, in_height=10, in_width=10, kernel=(1, 1))


# --- 4. MatMul: with a weight, and of two activations -----------------------------------------------


def attention(tmp_path):
    """x[1,16,64] -> q, k projections (q with a bias Add) -> heads [1,4,16,8] @ [1,4,8,16]."""
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q0"], name="q"),
        helper.make_node("Add", ["q0", "bq"], ["q1"]),
        helper.make_node("Reshape", ["q1", "heads"], ["q2"]),
        helper.make_node("Transpose", ["q2"], ["qh"], perm=[0, 2, 1, 3]),
        helper.make_node("MatMul", ["x", "wk"], ["k0"], name="k"),
        helper.make_node("Reshape", ["k0", "heads"], ["k2"]),
        helper.make_node("Transpose", ["k2"], ["kt"], perm=[0, 2, 3, 1]),
        helper.make_node("MatMul", ["qh", "kt"], ["s"], name="scores"),
        helper.make_node("Softmax", ["s"], ["y"], axis=-1),
    ]
    inits = [weight("wq", 64, 32), weight("bq", 32), weight("wk", 64, 32), ints("heads", 1, 16, 4, 8)]
    return save(tmp_path, nodes, [value("x", 1, 16, 64)], [value("y", 1, 4, 16, 16)], inits)


def test_matmul_with_weight_and_attention(tmp_path):
    result = import_onnx(attention(tmp_path))
    assert result.network.layers == (
        Linear("q", in_features=64, out_features=32, tokens=16, bias=True, independent=True),
        Linear("k", in_features=64, out_features=32, tokens=16, bias=False, independent=True),
        MatMul("scores", batch=4, m=16, k=8, n=16, inputs=("q", "k")),
    )
    assert result.network.producers() == ((), (), (0, 1))
    assert result.ignored == {FOLDED_BIAS: 1, "Reshape": 2, "Transpose": 2, "Softmax": 1}


def test_gemm_of_two_activations_and_weight_first_matmul(tmp_path):
    nodes = [
        helper.make_node("Gemm", ["a", "b"], ["g"], name="", transA=1),
        helper.make_node("MatMul", ["w", "g"], ["y"]),
    ]
    inputs = [value("a", 8, 4), value("b", 8, 5)]
    result = import_onnx(save(tmp_path, nodes, inputs, [value("y", 3, 5)], [weight("w", 3, 4)]))
    assert result.network.layers == (
        MatMul("Gemm_0", batch=1, m=4, k=8, n=5, independent=True),
        # y[3,5] = w[3,4] @ g[4,5]: five rows of a 4 -> 3 Linear.
        Linear("MatMul_1", in_features=4, out_features=3, tokens=5, bias=False),
    )


def test_weights_through_dequantize_are_weights(tmp_path):
    nodes = [
        helper.make_node("DequantizeLinear", ["wq", "scale"], ["w"]),
        helper.make_node("MatMul", ["x", "w"], ["y"], name="fc"),
    ]
    inits = [weight("wq", 64, 32, dtype=np.int8), weight("scale", dtype=np.float32)]
    result = import_onnx(save(tmp_path, nodes, [value("x", 1, 64)], [value("y", 1, 32)], inits))
    assert result.network.layers == (
        Linear("fc", in_features=64, out_features=32, tokens=1, bias=False, independent=True),
    )
    assert result.ignored == {"DequantizeLinear": 1}
    assert "use accelsim's Quantize transform" in result.notes[0]


def test_batched_weight_is_refused(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="heads")]
    path = save(tmp_path, nodes, [value("x", 4, 16, 8)], [value("y", 4, 16, 2)], [weight("w", 4, 8, 2)])
    one_line_error(path, r"ONNX node 'heads' \(MatMul\): the constant operand \[4, 8, 2\] is batched")


def test_ignored_compute_operators_are_noted(tmp_path):
    nodes = [
        helper.make_node("ConvTranspose", ["x", "wt"], ["u"], name="up", strides=[2, 2]),
        conv("c", "u", "w", "y"),
    ]
    inits = [weight("wt", 4, 4, 2, 2), weight("w", 2, 4, 1, 1)]
    result = import_onnx(save(tmp_path, nodes, [value("x", 1, 4, 5, 5)], [value("y", 1, 2, 10, 10)], inits))
    (layer,) = result.network.layers
    assert (layer.in_height, layer.independent) == (10, True)
    assert result.ignored == {"ConvTranspose": 1}
    assert result.notes == ("ignored nodes that multiply-accumulate (ConvTranspose x1): their MACs are missing",)


def test_duplicate_node_names_are_made_unique(tmp_path):
    nodes = [
        helper.make_node("MatMul", [src, w], [dst], name="fc") for src, w, dst in (("x", "w1", "h"), ("h", "w2", "y"))
    ]
    inits = [weight("w1", 8, 8), weight("w2", 8, 4)]
    net = import_onnx(save(tmp_path, nodes, [value("x", 2, 8)], [value("y", 2, 4)], inits)).network
    assert [layer.name for layer in net.layers] == ["fc", "fc_2"]
    assert net.layers[1].tokens == 2


def test_local_functions_are_inlined(tmp_path):
    body = [conv("inner", "a", "w", "c", pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["b"])]
    block = helper.make_function("local", "Block", ["a", "w"], ["b"], body, [helper.make_opsetid("", 17)])
    nodes = [helper.make_node("Block", ["x", "w1"], ["h"], domain="local"), conv("head", "h", "w2", "y")]
    graph = helper.make_graph(
        nodes,
        "g",
        [value("x", 1, 4, 6, 6)],
        [value("y", 1, 2, 6, 6)],
        [weight("w1", 4, 4, 3, 3), weight("w2", 2, 4, 1, 1)],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("local", 1)]
    path = tmp_path / "functions.onnx"
    onnx.save(helper.make_model(graph, opset_imports=opsets, functions=[block]), str(path))
    result = import_onnx(path)
    assert [(x.kind, x.in_channels, x.out_channels) for x in result.network.layers] == [
        ("conv2d", 4, 4),
        ("conv2d", 4, 2),
    ]
    assert result.network.producers() == ((), (0,))
    assert result.ignored == {"Relu": 1}


# --- round trip of built-in networks ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["resnet20", "resnet18", "mobilenet_v2"])
def test_round_trip_of_builtin_networks(tmp_path, name):
    from accelsim.workload.networks import network
    from accelsim.workload.vector import without_vector_layers

    # The importer reads GEMM layers (batch-norm folded, ReLU, pools and adds as dataflow): the
    # built-in's GEMM view, which is what the exporter writes.
    net = without_vector_layers(network(name))
    imported = import_onnx(export_onnx.save(network(name), tmp_path / f"{name}.onnx")).network

    def shape(layer):
        return dataclasses.replace(layer, independent=False, inputs=None)

    assert [shape(x) for x in imported.layers] == [shape(x) for x in net.layers]
    assert imported.producers() == net.producers()
    assert (imported.macs, imported.parameter_count) == (net.macs, net.parameter_count)


# --- 5. convolutions accelsim cannot represent exactly ----------------------------------------------


def single_conv(tmp_path, size=8, **attrs):
    """One 3x3 conv named "odd", 3 -> 4 channels, on a size x size input."""
    node = conv("odd", "x", "w", "y", **attrs)
    inputs, outputs = [value("x", 1, 3, size, size)], [value("y", 1, 4, None, None)]
    return save(tmp_path, [node], inputs, outputs, [weight("w", 4, 3, 3, 3)])


def test_asymmetric_pads_reproduced_by_a_symmetric_padding(tmp_path):
    result = import_onnx(single_conv(tmp_path, 224, strides=[2, 2], pads=[0, 0, 1, 1]))
    (layer,) = result.network.layers
    assert (layer.padding, layer.stride, layer.out_height, layer.out_width) == (1, 2, 112, 112)
    assert result.notes == (
        "ONNX node 'odd' (Conv): pads [0, 0, 1, 1] taken as symmetric padding 1 (same 112x112 output)",
    )


def test_same_upper_auto_pad(tmp_path):
    (layer,) = import_onnx(single_conv(tmp_path, 9, auto_pad="SAME_UPPER", strides=[2, 2])).network.layers
    assert (layer.padding, layer.out_height) == (1, 5)


@pytest.mark.parametrize("pads", [[0, 0, 1, 1], [0, 1, 0, 1]])
def test_asymmetric_pads_without_a_symmetric_equivalent(tmp_path, pads):
    message = one_line_error(single_conv(tmp_path, pads=pads), "pads")
    assert message.startswith(f"ONNX node 'odd' (Conv): pads {pads}")
    assert "supported: the same padding on all four sides" in message


def test_dilation_is_refused(tmp_path):
    message = one_line_error(single_conv(tmp_path, dilations=[2, 2]), "dilations")
    assert message == "ONNX node 'odd' (Conv): dilations [2, 2] are not supported; supported: dilations [1, 1]"


def test_per_axis_strides_are_refused(tmp_path):
    one_line_error(single_conv(tmp_path, strides=[1, 2]), r"ONNX node 'odd' \(Conv\): strides \[1, 2\] differ per axis")


def test_one_d_conv_is_refused(tmp_path):
    node = conv("c1d", "x", "w", "y")
    path = save(tmp_path, [node], [value("x", 1, 3, 16)], [value("y", 1, 4, 14)], [weight("w", 4, 3, 3)])
    one_line_error(path, r"ONNX node 'c1d' \(Conv\): kernel_shape \[3\] is a 1-D convolution; supported: 2-D")


def test_fixed_batch_above_one_is_refused_for_conv(tmp_path):
    path = save(
        tmp_path,
        [conv("c", "x", "w", "y")],
        [value("x", 2, 3, 8, 8)],
        [value("y", 2, 4, 6, 6)],
        [weight("w", 4, 3, 3, 3)],
    )
    one_line_error(path, "ONNX node 'c' \\(Conv\\): batch 2 is not supported")


def test_shape_that_cannot_be_inferred_names_the_node(tmp_path):
    path = save(
        tmp_path,
        [conv("c", "x", "w", "y")],
        [value("x", "N", 3, "H", "W")],
        [value("y", "N", 4, None, None)],
        [weight("w", 4, 3, 3, 3)],
    )
    message = one_line_error(path, "ONNX node 'c' \\(Conv\\): the shape of 'x' could not be inferred")
    assert "[1, 3, '?', '?']" in message


# --- 6. files that are not ONNX models --------------------------------------------------------------


def test_not_an_onnx_file(tmp_path):
    path = tmp_path / "notes.onnx"
    path.write_text("hello, this is not a model\n")
    message = one_line_error(path, "not a valid ONNX model")
    assert str(path) in message


def test_empty_file(tmp_path):
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    assert str(path) in one_line_error(path, "not a valid ONNX model")


def test_missing_file(tmp_path):
    path = tmp_path / "absent.onnx"
    assert one_line_error(path, "no such file") == f"ONNX model {path}: no such file"


def test_model_without_layers(tmp_path):
    path = save(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], [value("x", 1, 4)], [value("y", 1, 4)])
    one_line_error(path, "no Conv, Gemm or MatMul node to import; ignored: Relu x1")


# --- 7. the optional extra --------------------------------------------------------------------------


def test_missing_onnx_extra(tmp_path, monkeypatch):
    path = small_cnn(tmp_path)
    monkeypatch.setitem(sys.modules, "onnx", None)
    message = one_line_error(path, "optional extra")
    assert "pip install 'accelsim[onnx]'" in message


def test_cli_runs_an_onnx_model(tmp_path, capsys):
    from accelsim.cli import main

    path = small_cnn(tmp_path)
    assert main(["run", "--onnx", str(path), "--precision", "int8", "--compress", "prune(0.5)"]) == 0
    captured = capsys.readouterr()
    assert "conv1" in captured.out and "compressed by prune(structured, ratio=0.5)" in captured.out
    assert "accelsim: note: " in captured.err and "ignored" in captured.err
    assert main(["ai", "--onnx", str(path)]) == 0
    assert main(["run", "--onnx", str(tmp_path / "missing.onnx")]) == 2


def _gemm_model(tmp_path, declared=None, raw=None):
    w = weight("w", 10, 16)
    if raw is not None:
        w.raw_data = raw
    inputs = [value("x", 1, 16)] + ([value("w", *declared)] if declared else [])
    node = helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)
    return save(tmp_path, [node], inputs, [value("y", 1, 10)], [w], "gemm")


def test_an_initializer_disagreeing_with_its_declared_shape_is_refused(tmp_path):
    assert import_onnx(_gemm_model(tmp_path, declared=(10, 16))).network.layers[0].out_features == 10
    # ONNX's own shape inference or accelsim's check: either way one line naming the mismatch.
    one_line_error(_gemm_model(tmp_path, declared=(10, 8)), r"dims \(10, 16\) disagree|differ in dimension 1")
    one_line_error(_gemm_model(tmp_path, declared=(10, 16, 1)), r"disagree|differ|rank")


def test_an_initializer_with_the_wrong_amount_of_data_is_refused(tmp_path):
    one_line_error(_gemm_model(tmp_path, raw=b"\0" * 12), r"initializer 'w': 12 bytes of data for dims \(10, 16\)")
