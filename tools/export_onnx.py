"""Write a built-in CNN as an ONNX model, to try `accelsim run --onnx` (needs `accelsim[onnx]`).

    python tools/export_onnx.py resnet20 resnet20.onnx
    accelsim run --onnx resnet20.onnx --precision int8

Each convolution becomes Conv (+ BatchNormalization when the layer folds one) + Relu; a layer
reading several producers adds them first (the residual sum); a 3x3/2 max pool appears where the
spatial size drops between layers; a Linear reads a global average pool through Gemm. The
weights are zeros: the file carries the shapes and the dataflow accelsim imports, not a trained
model. The network exported is the built-in's GEMM view (`without_vector_layers`: its batch-norm,
ReLU, pool and residual-add layers become the nodes above, which the importer folds back), and
the tests import this file back and compare it with that view.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from accelsim.errors import InputError
from accelsim.workload.layers import Conv2d, Linear, Network
from accelsim.workload.networks import network
from accelsim.workload.vector import without_vector_layers


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise InputError("export_onnx needs the optional extra: pip install 'accelsim[onnx]'") from None
    return onnx


def graph(net: Network) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """(nodes, inputs, outputs, initializers) of `net` as an ONNX graph."""
    onnx = _onnx()
    net = without_vector_layers(net)
    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    nodes: list[Any] = []
    inits: list[Any] = []
    out: dict[str, str] = {}
    size: dict[str, int | None] = {"x": getattr(net.layers[0], "in_height", None)}

    def weight(name: str, *shape: int) -> str:
        inits.append(numpy_helper.from_array(np.zeros(shape, np.float32), name))
        return name

    def fit(tensor: str, height: int) -> str:  # max pool a producer's output down to the reader's size
        if size[tensor] != height and f"{tensor}.pool" not in size:
            pool = helper.make_node(
                "MaxPool", [tensor], [f"{tensor}.pool"], kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4
            )
            nodes.append(pool)
            size[f"{tensor}.pool"] = height
        return tensor if size[tensor] == height else f"{tensor}.pool"

    for i, layer in enumerate(net.layers):
        if not isinstance(layer, (Conv2d, Linear)):
            raise InputError(f"export_onnx: layer {layer.name}: a {layer.kind} is not exported (conv2d, linear only)")
        names = () if layer.independent or i == 0 else layer.inputs or (net.layers[i - 1].name,)
        height = getattr(layer, "in_height", None)
        sources = [fit(out[n], height) if height else out[n] for n in names] or ["x"]
        src = sources[0]
        for j, other in enumerate(sources[1:]):
            nodes.append(helper.make_node("Add", [src, other], [f"{layer.name}.add{j}"]))
            size[f"{layer.name}.add{j}"], src = size[src], f"{layer.name}.add{j}"
        if isinstance(layer, Linear):
            nodes.append(helper.make_node("GlobalAveragePool", [src], [f"{layer.name}.gap"]))
            nodes.append(helper.make_node("Flatten", [f"{layer.name}.gap"], [f"{layer.name}.flat"]))
            w = weight(f"{layer.name}.w", layer.out_features, layer.in_features)
            b = weight(f"{layer.name}.b", layer.out_features)
            nodes.append(helper.make_node("Gemm", [f"{layer.name}.flat", w, b], ["y"], name=layer.name, transB=1))
            continue
        w = weight(f"{layer.name}.w", layer.out_channels, layer.in_channels // layer.groups, *layer.kernel)
        attrs = {"strides": [layer.stride] * 2, "pads": [layer.padding] * 4, "group": layer.groups}
        nodes.append(helper.make_node("Conv", [src, w], [f"{layer.name}.conv"], name=layer.name, **attrs))
        y = f"{layer.name}.conv"
        if layer.batch_norm:
            bn = [weight(f"{layer.name}.bn{k}", layer.out_channels) for k in range(4)]
            nodes.append(helper.make_node("BatchNormalization", [y, *bn], [f"{layer.name}.bn"]))
            y = f"{layer.name}.bn"
        nodes.append(helper.make_node("Relu", [y], [f"{layer.name}.out"]))
        out[layer.name], size[f"{layer.name}.out"] = f"{layer.name}.out", layer.out_height
    first = net.layers[0]
    shape = (
        [1, first.in_channels, first.in_height, first.in_width] if isinstance(first, Conv2d) else [1, first.gemm_mkn[1]]
    )
    float_type = onnx.TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info("x", float_type, shape)]
    outputs = [helper.make_tensor_value_info("y", float_type, [1, None])]
    return nodes, inputs, outputs, inits


def save(net: Network, path: str | Path) -> Path:
    """Write `net` as an ONNX model (opset 17)."""
    onnx = _onnx()
    nodes, inputs, outputs, inits = graph(net)
    model = onnx.helper.make_model(
        onnx.helper.make_graph(nodes, net.name, inputs, outputs, initializer=inits),
        opset_imports=[onnx.helper.make_opsetid("", 17)],
    )
    path = Path(path)
    onnx.save(model, str(path))
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python tools/export_onnx.py NETWORK OUT.onnx", file=sys.stderr)
        return 2
    try:
        path = save(network(args[0]), args[1])
    except InputError as exc:
        print(f"export_onnx: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
