"""Import an ONNX model as an accelsim `Network` (needs the optional extra `accelsim[onnx]`).

What is imported: every top-level `Conv` (2-D) becomes a `Conv2d`; a `Gemm` or `MatMul` with a constant
operand (an initializer, or anything computed only from initializers and `Constant` nodes, such as a
`DequantizeLinear` of int8 weights) becomes a `Linear`; a `Gemm` or `MatMul` of two activations becomes
a `MatMul`. Shapes come from ONNX shape inference; a symbolic or unknown batch dimension of a graph
input is taken as 1, since accelsim simulates batch 1. Every layer is FP32.

What is ignored: every other node (activations, pooling, residual adds, reshapes, softmax,
normalisation, quantize/dequantize, ...) is counted in `OnnxImport.ignored` by op type; its cost is not
modelled. Two kinds of node fold into the layer before them and are counted under their own keys: a
`BatchNormalization` that is a Conv's only consumer sets `batch_norm=True` ("BatchNormalization
(folded)"), and an `Add` of a bias vector that is a MatMul-Linear's only consumer sets `bias=True`
("Add (folded bias)"). So the layer count plus the sum of `ignored` is the number of nodes.

Dataflow: each tensor remembers the imported layers whose outputs reach it through non-layer nodes
(in first-seen order) and whether the graph input reaches it; this is the backward walk from a layer's
inputs through unmodelled nodes, computed forward in node order (ONNX node order is topological and is
kept). `Shape` and `Size` outputs carry no data. A layer reached by no layer is `independent`; one
reached by exactly the previous layer keeps `inputs=None`; otherwise `inputs` names its producers. A
layer reached by both the graph input and layers keeps only the layers (a note records it).
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accelsim.errors import InputError
from accelsim.workload.layers import Conv2d, Layer, Linear, MatMul, Network

_EXTRA_MESSAGE = "ONNX import needs the optional extra: pip install 'accelsim[onnx]'"
FOLDED_BATCH_NORM = "BatchNormalization (folded)"
FOLDED_BIAS = "Add (folded bias)"
#: Outputs describe a tensor's shape, not its values: no dataflow passes through them.
_SHAPE_OPS = frozenset({"Shape", "Size"})
_QUANT_OPS = frozenset(
    {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "ConvInteger", "MatMulInteger", "QGemm"}
)
#: Ignored operators that do multiply-accumulate work of their own (their MACs are missing).
_COMPUTE_OPS = frozenset(
    {"ConvTranspose", "ConvInteger", "MatMulInteger", "QLinearConv", "QLinearMatMul", "QGemm", "Einsum"}
    | {"LSTM", "GRU", "RNN", "Attention", "MultiHeadAttention", "FusedConv", "FusedGemm", "FusedMatMul"}
)

#: Dimensions of a tensor; None for a dimension shape inference left unknown.
Shape = tuple[int | None, ...]
#: The imported layers whose outputs reach a tensor, and whether the graph input reaches it.
Origin = tuple[tuple[str, ...], bool]
_CONSTANT: Origin = ((), False)


@dataclass(frozen=True)
class OnnxImport:
    """An imported network, the ONNX nodes not modelled as work, and the approximations made."""

    network: Network
    #: op_type -> number of nodes not imported as layers (their cost is not modelled).
    ignored: dict[str, int]
    #: Approximations made while importing, one line each.
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """A few lines: the layers imported, the operators ignored with their counts, the notes."""
        net = self.network
        kinds = ", ".join(f"{n} {kind}" for kind, n in Counter(x.kind for x in net.layers).items())
        lines = [f"{net.name}: imported {len(net.layers)} layers ({kinds}), {net.macs:,} MACs"]
        folded = {op: n for op, n in self.ignored.items() if op in (FOLDED_BATCH_NORM, FOLDED_BIAS)}
        rest = {op: n for op, n in self.ignored.items() if op not in folded}
        if rest:
            counts = ", ".join(f"{op} x{n}" for op, n in rest.items())
            lines.append(f"ignored {sum(rest.values())} nodes (their cost is not modelled): {counts}")
        else:
            lines.append("ignored no nodes")
        if folded:
            lines.append("folded into the preceding layer: " + ", ".join(f"{op} x{n}" for op, n in folded.items()))
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


def import_onnx(path: str | Path, name: str | None = None) -> OnnxImport:
    """Read the ONNX model at `path` as a Network called `name` (default: the file's stem).

    InputError (one line) for a missing `onnx` package, an unreadable file, or a node accelsim's
    layers cannot represent."""
    try:
        import onnx
        import onnx.shape_inference
    except ImportError:
        raise InputError(_EXTRA_MESSAGE) from None
    path = Path(path)
    notes: list[str] = []
    model = _load(onnx, path, notes)
    importer = _Importer(model.graph, notes)
    importer.run()
    if not importer.layers:
        raise InputError(f"{path}: no Conv, Gemm or MatMul node to import; ignored: {_counts(importer.ignored)}")
    net = Network(
        name or path.stem,
        tuple(importer.layers),
        f"imported from ONNX {path.name}: {len(importer.layers)} layers; "
        f"{sum(importer.ignored.values())} other nodes not modelled as layers",
    )
    return OnnxImport(net, dict(importer.ignored), tuple(dict.fromkeys(importer.notes)))


# --- loading ----------------------------------------------------------------------------------------


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _load(onnx: Any, path: Path, notes: list[str]) -> Any:
    """The model with local functions inlined, batch 1 at the graph inputs, and shapes inferred."""
    if not path.is_file():
        raise InputError(f"ONNX model {path}: no such file")
    try:
        # Weights' values are never read (only their dims), so external data stays on disk.
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # protobuf raises several types for a file that is not a model
        raise InputError(f"{path}: not a valid ONNX model ({_first_line(error)})") from None
    if not model.graph.node:
        raise InputError(f"{path}: not a valid ONNX model (no graph nodes)")
    if model.functions:
        model = _inline(onnx, path, model)
    try:
        _fix_batch(model.graph, notes)
        return onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as error:  # shape inference reports malformed graphs through many types
        raise InputError(f"{path}: ONNX shape inference failed ({_first_line(error)})") from None


def _inline(onnx: Any, path: Path, model: Any) -> Any:
    """The model with its local functions expanded, so that their Conv/Gemm/MatMul nodes are seen."""
    try:
        import onnx.inliner
    except ImportError:
        raise InputError(f"{path}: the model uses local functions; inlining them needs onnx >= 1.16") from None
    try:
        return onnx.inliner.inline_local_functions(model)
    except Exception as error:  # the inliner reports malformed functions through several types
        raise InputError(f"{path}: its local functions cannot be inlined ({_first_line(error)})") from None


def _fix_batch(graph: Any, notes: list[str]) -> None:
    """Set a symbolic or unknown leading dimension of every graph input of rank >= 2 to 1."""
    initializers = {t.name for t in graph.initializer}
    for value in graph.input:
        dims = value.type.tensor_type.shape.dim
        if value.name in initializers or len(dims) < 2 or dims[0].HasField("dim_value"):
            continue
        what = repr(dims[0].dim_param) if dims[0].dim_param else "(unknown)"
        dims[0].dim_value = 1
        notes.append(f"graph input {value.name!r}: batch dimension {what} taken as 1")


def _shapes(graph: Any) -> dict[str, Shape]:
    shapes: dict[str, Shape] = {}
    for value in (*graph.input, *graph.value_info, *graph.output):
        tensor = value.type.tensor_type
        if value.type.HasField("tensor_type") and tensor.HasField("shape"):
            shapes[value.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)
    for tensor in graph.initializer:
        _check_initializer(tensor, shapes.get(tensor.name))
        shapes[tensor.name] = tuple(tensor.dims)
    for node in graph.node:
        value = [attr.t for attr in node.attribute if node.op_type == "Constant" and attr.name == "value"]
        if value:
            shapes.setdefault(node.output[0], tuple(value[0].dims))
    return shapes


#: Bytes per element of the ONNX tensor data types whose raw data has a fixed element size.
_ELEMENT_BYTES = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2}


def _check_initializer(tensor: Any, declared: Shape | None) -> None:
    """An initializer agrees with the shape the graph declares for it and carries as many bytes
    as its dims say (when its data is inline), or the model is refused."""
    dims = tuple(tensor.dims)
    if declared is not None and (len(declared) != len(dims) or any(d not in (None, e) for d, e in zip(declared, dims))):
        raise InputError(f"initializer {tensor.name!r}: dims {dims} disagree with its declared shape {declared}")
    size = _ELEMENT_BYTES.get(tensor.data_type)
    if tensor.raw_data and size is not None and len(tensor.raw_data) != math.prod(dims) * size:
        raise InputError(
            f"initializer {tensor.name!r}: {len(tensor.raw_data):,} bytes of data for dims {dims} "
            f"({math.prod(dims) * size:,} expected)"
        )


def _attrs(node: Any) -> dict[str, Any]:
    """Plain attribute values (ints, floats, strings, lists of ints); subgraphs are left out."""
    out: dict[str, Any] = {}
    for attr in node.attribute:
        if attr.type == attr.INT:
            out[attr.name] = attr.i
        elif attr.type == attr.INTS:
            out[attr.name] = list(attr.ints)
        elif attr.type == attr.FLOAT:
            out[attr.name] = attr.f
        elif attr.type == attr.STRING:
            out[attr.name] = attr.s.decode()
    return out


def _union(origins: Iterable[Origin]) -> Origin:
    names: dict[str, None] = {}
    from_input = False
    for layers, reaches_input in origins:
        names.update(dict.fromkeys(layers))
        from_input = from_input or reaches_input
    return tuple(names), from_input


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{op} x{n}" for op, n in counts.items()) or "nothing"


# --- import -----------------------------------------------------------------------------------------


class _Importer:
    """Walks the nodes in order, turning Conv/Gemm/MatMul into layers and counting the rest."""

    def __init__(self, graph: Any, notes: list[str]) -> None:
        self.nodes = list(graph.node)
        self.notes = notes
        self.shapes = _shapes(graph)
        self.graph_outputs = {value.name for value in graph.output}
        self.producer = {tensor: i for i, node in enumerate(self.nodes) for tensor in node.output}
        self.consumers: dict[str, list[int]] = {}
        for i, node in enumerate(self.nodes):
            for tensor in dict.fromkeys(node.input):
                self.consumers.setdefault(tensor, []).append(i)
        initializers = {t.name for t in graph.initializer}
        self.origin: dict[str, Origin] = {v.name: ((), True) for v in graph.input if v.name not in initializers}
        self.layers: list[Layer] = []
        self.layer_at: dict[int, int] = {}  # node index -> index in self.layers
        self.names: set[str] = set()
        self.ignored: Counter[str] = Counter()

    def run(self) -> None:
        for i, node in enumerate(self.nodes):
            layer = self._layer(i, node) if node.op_type in ("Conv", "Gemm", "MatMul") else None
            if layer is not None:
                self.layer_at[i] = len(self.layers)
                self.layers.append(layer)
                origin: Origin = ((layer.name,), False)
            else:
                self._ignore(i, node)
                constant = node.op_type in _SHAPE_OPS or node.op_type == "Constant"
                origin = _CONSTANT if constant else _union(self._origin(t) for t in node.input)
            for tensor in node.output:
                self.origin[tensor] = origin
        quantized = sorted(op for op in self.ignored if op in _QUANT_OPS or op.startswith("QLinear"))
        if quantized:
            self.notes.append(
                f"the graph holds quantization operators ({', '.join(quantized)}); quantization in the graph is "
                "not read: every layer is imported as FP32 (use accelsim's Quantize transform)"
            )
        heavy = {op: n for op, n in self.ignored.items() if op in _COMPUTE_OPS}
        if heavy:
            self.notes.append(f"ignored nodes that multiply-accumulate ({_counts(heavy)}): their MACs are missing")

    # --- helpers ----------------------------------------------------------------------------------

    def _origin(self, tensor: str) -> Origin:
        return self.origin.get(tensor, _CONSTANT) if tensor else _CONSTANT

    def _is_constant(self, tensor: str) -> bool:
        return self._origin(tensor) == _CONSTANT

    def _label(self, i: int, node: Any) -> str:
        return f"ONNX node {node.name or f'{node.op_type}_{i}'!r} ({node.op_type})"

    def _shape(self, i: int, node: Any, tensor: str) -> tuple[int, ...]:
        """The fully known shape of `tensor`, an input or output of node i (InputError otherwise)."""
        shape = self.shapes.get(tensor)
        if shape is None or None in shape:
            got = "" if shape is None else f" (got {['?' if d is None else d for d in shape]})"
            raise InputError(
                f"{self._label(i, node)}: the shape of {tensor!r} could not be inferred{got}; "
                "give the model's inputs fixed sizes"
            )
        return tuple(int(d) for d in shape)

    def _name(self, i: int, node: Any) -> str:
        base = node.name or f"{node.op_type}_{i}"
        name, n = base, 2
        while name in self.names:
            name, n = f"{base}_{n}", n + 1
        self.names.add(name)
        return name

    def _dataflow(self, name: str, node: Any) -> dict[str, Any]:
        """Layer keywords `independent` / `inputs` from the layers whose outputs reach the node."""
        producers, from_input = _union(self._origin(t) for t in node.input)
        if not producers:
            return {"independent": True}
        if from_input:
            self.notes.append(f"layer {name}: also reads the graph input; only its producer layers are kept")
        if producers == (self.layers[-1].name,):
            return {}
        return {"inputs": producers}

    def _sole_consumer(self, tensor: str, i: int) -> bool:
        return self.consumers.get(tensor) == [i] and tensor not in self.graph_outputs

    # --- ignored nodes and folding ----------------------------------------------------------------

    def _ignore(self, i: int, node: Any) -> None:
        if self._fold(i, node):
            return
        self.ignored[node.op_type] += 1
        if any(attr.type in (attr.GRAPH, attr.GRAPHS) for attr in node.attribute):
            self.notes.append(f"{self._label(i, node)}: its subgraphs are not imported")

    def _fold(self, i: int, node: Any) -> bool:
        """Fold a Conv's batch-norm, or a MatMul-Linear's bias Add, into that layer."""
        if node.op_type not in ("BatchNormalization", "Add") or len(node.input) < 2:
            return False
        for data in (0, 1) if node.op_type == "Add" else (0,):
            tensor = node.input[data]
            source = self.producer.get(tensor)
            if source not in self.layer_at or not self._sole_consumer(tensor, i):
                continue
            index = self.layer_at[source]
            layer = self.layers[index]
            if node.op_type == "BatchNormalization" and isinstance(layer, Conv2d):
                self.layers[index] = dataclasses.replace(layer, batch_norm=True)
                self.ignored[FOLDED_BATCH_NORM] += 1
                return True
            if node.op_type == "Add" and self._is_bias(self.nodes[source], layer, node.input[1 - data]):
                self.layers[index] = dataclasses.replace(layer, bias=True)
                self.ignored[FOLDED_BIAS] += 1
                return True
        return False

    def _is_bias(self, source: Any, layer: Layer, tensor: str) -> bool:
        shape = self.shapes.get(tensor)
        if not (source.op_type == "MatMul" and isinstance(layer, Linear) and not layer.bias):
            return False
        return (
            self._is_constant(tensor)
            and shape is not None
            and None not in shape
            and math.prod(shape) == layer.out_features
        )

    # --- layers -----------------------------------------------------------------------------------

    def _layer(self, i: int, node: Any) -> Layer | None:
        if node.op_type == "Conv":
            return self._conv(i, node)
        a, b = node.input[0], node.input[1]
        if self._is_constant(a) and self._is_constant(b):
            self.notes.append(f"{self._label(i, node)}: multiplies two constants; not imported")
            return None
        if node.op_type == "Gemm":
            return self._gemm(i, node)
        return self._matmul(i, node)

    def _conv(self, i: int, node: Any) -> Conv2d:
        label = self._label(i, node)
        x, w = self._shape(i, node, node.input[0]), self._shape(i, node, node.input[1])
        attrs = _attrs(node)
        if len(x) != 4 or len(w) != 4:
            raise InputError(
                f"{label}: kernel_shape {list(w[2:])} is a {len(w) - 2}-D convolution; supported: 2-D (N x C x H x W)"
            )
        strides, dilations = attrs.get("strides", [1, 1]), attrs.get("dilations", [1, 1])
        if any(d != 1 for d in dilations):
            raise InputError(f"{label}: dilations {dilations} are not supported; supported: dilations [1, 1]")
        if strides[0] != strides[1]:
            raise InputError(f"{label}: strides {strides} differ per axis; supported: the same stride on both axes")
        if x[0] != 1:
            raise InputError(f"{label}: batch {x[0]} is not supported; supported: batch 1 (or a symbolic batch)")
        name = self._name(i, node)
        kernel = (w[2], w[3])
        out = self.shapes.get(node.output[0])
        out_hw = tuple(out[2:]) if out is not None and len(out) == 4 and None not in out else None
        padding = self._padding(label, attrs, (x[2], x[3]), kernel, strides[0], out_hw)
        return Conv2d(
            name,
            in_channels=x[1],
            out_channels=w[0],
            in_height=x[2],
            in_width=x[3],
            kernel=kernel,
            stride=strides[0],
            padding=padding,
            groups=attrs.get("group", 1),
            bias=len(node.input) > 2 and bool(node.input[2]),
            **self._dataflow(name, node),
        )

    def _padding(
        self,
        label: str,
        attrs: dict[str, Any],
        size: tuple[int, int],
        kernel: tuple[int, int],
        stride: int,
        out: tuple[int | None, ...] | None,
    ) -> int:
        """One symmetric padding giving ONNX's output height and width (InputError if none does)."""
        pads = _pads(attrs, size, kernel, stride)
        if len(set(pads)) == 1:
            return pads[0]
        if out is None:
            out = tuple((n + pads[a] + pads[a + 2] - k) // stride + 1 for a, (n, k) in enumerate(zip(size, kernel)))
        fits = [
            p
            for p in range(sum(pads) + stride + 1)
            if all((n + 2 * p - k) // stride + 1 == o for n, k, o in zip(size, kernel, out))
        ]
        shown = f"{out[0]}x{out[1]}"
        if not fits:
            raise InputError(
                f"{label}: pads {pads} (output {shown}) cannot be expressed as one symmetric padding; "
                "supported: the same padding on all four sides, or pads one such padding reproduces"
            )
        # Several paddings may give the same output size under a stride: take the closest to the pads given.
        padding = min(fits, key=lambda p: (abs(4 * p - sum(pads)), p))
        self.notes.append(f"{label}: pads {pads} taken as symmetric padding {padding} (same {shown} output)")
        return padding

    def _gemm(self, i: int, node: Any) -> Layer:
        a, b = self._shape(i, node, node.input[0]), self._shape(i, node, node.input[1])
        attrs = _attrs(node)
        m, k = reversed(a) if attrs.get("transA", 0) else a
        n = b[0] if attrs.get("transB", 0) else b[1]
        name = self._name(i, node)
        bias = len(node.input) > 2 and bool(node.input[2])
        flow = self._dataflow(name, node)
        if self._is_constant(node.input[1]):
            return Linear(name, in_features=k, out_features=n, tokens=m, bias=bias, **flow)
        if self._is_constant(node.input[0]):  # weight x activation: out^T = B^T A^T
            return Linear(name, in_features=k, out_features=m, tokens=n, bias=bias, **flow)
        return MatMul(name, batch=1, m=m, k=k, n=n, **flow)

    def _matmul(self, i: int, node: Any) -> Layer:
        a, b = self._shape(i, node, node.input[0]), self._shape(i, node, node.input[1])
        name = self._name(i, node)
        flow = self._dataflow(name, node)
        # numpy matmul semantics: a 1-D left operand is a row, a 1-D right operand a column.
        a2, b2 = ((1, *a) if len(a) == 1 else a), ((*b, 1) if len(b) == 1 else b)
        weight_b, weight_a = self._is_constant(node.input[1]), self._is_constant(node.input[0])
        if weight_b or weight_a:
            weight = b2 if weight_b else a2
            if math.prod(weight[:-2]) != 1:
                raise InputError(
                    f"{self._label(i, node)}: the constant operand {list(weight)} is batched; "
                    "supported: a 2-D weight (one Linear)"
                )
            if weight_b:
                return Linear(
                    name, in_features=b2[-2], out_features=b2[-1], tokens=math.prod(a2[:-1]), bias=False, **flow
                )
            tokens = math.prod(b2[:-2]) * b2[-1]
            return Linear(name, in_features=a2[-1], out_features=a2[-2], tokens=tokens, bias=False, **flow)
        if len(b2) == 2:  # one right operand shared by every row: fold the batch into m
            return MatMul(name, batch=1, m=math.prod(a2[:-1]), k=a2[-1], n=b2[-1], **flow)
        batch = math.prod(_broadcast(a2[:-2], b2[:-2]))
        return MatMul(name, batch=batch, m=a2[-2], k=a2[-1], n=b2[-1], **flow)


def _pads(attrs: dict[str, Any], size: tuple[int, int], kernel: tuple[int, int], stride: int) -> list[int]:
    """ONNX pads [top, left, bottom, right] after resolving auto_pad."""
    auto = attrs.get("auto_pad", "NOTSET")
    if auto == "VALID":
        return [0, 0, 0, 0]
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        totals = [max((-(-n // stride) - 1) * stride + k - n, 0) for n, k in zip(size, kernel)]
        small = [t // 2 for t in totals]
        large = [t - t // 2 for t in totals]
        return small + large if auto == "SAME_UPPER" else large + small
    return list(attrs.get("pads", [0, 0, 0, 0]))


def _broadcast(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    """numpy broadcasting of two batch shapes (ONNX shape inference has checked they agree)."""
    width = max(len(a), len(b))
    a, b = (1,) * (width - len(a)) + tuple(a), (1,) * (width - len(b)) + tuple(b)
    return tuple(max(x, y) for x, y in zip(a, b))
