"""Compression as pure transformations of a workload: `Network -> Network`.

Each transform returns a new network whose layers have the compressed shapes and precisions,
and appends one line to its provenance, so the order of a pipeline is visible in every report
and trace. The simulator never sees the transforms, only the networks they produce.

Structured pruning and residual connections: a layer's output channels may be removed only
when every layer reading that output reads nothing else (no residual add, no concatenation),
and the layer is not the network's last (its outputs are the classes). So in a ResNet block
the inner convolutions are pruned and the block outputs, which the shortcut adds to, keep their
width; in MobileNetV2 the expansion convolutions are pruned and the depthwise convolution that
reads them shrinks with them. In an `interior` network (stand-alone GEMMs standing for the inside
of a model, as the seed's) no width is fixed: every layer loses outputs, and a layer reading the
network input loses inputs too, as if the unmodelled layer before it had been pruned alike.

Unstructured and N:M pruning zero weights without changing shapes; the layer records the density
and storage format (`accelsim.workload.sparsity`), which decide bytes moved, and the hardware
decides whether zero weights save MACs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from accelsim.errors import InputError
from accelsim.precision import Precision
from accelsim.workload.layers import Conv2d, Gemm, Layer, Linear, MatMul, Network
from accelsim.workload.sparsity import DENSE, WeightSparsity


def _ratio(transform: str, name: str, value: float, upper_open: bool = True) -> float:
    ok = isinstance(value, (int, float)) and (0 <= value < 1 if upper_open else 0 < value <= 1)
    if not ok:
        allowed = "in [0, 1)" if upper_open else "in (0, 1]"
        raise InputError(f"{transform}: {name} must be {allowed} (got {value!r})")
    return float(value)


def _provenance(network: Network, step: str) -> Network:
    return dataclasses.replace(network, provenance=(*network.provenance, step))


def _selected(network: Network, names: tuple[str, ...] | None, transform: str) -> set[str]:
    """The named layers (all when None); an unknown name is a one-line error."""
    known = {layer.name for layer in network.layers}
    for name in names or ():
        if name not in known:
            raise InputError(f"{transform}: layers: {name!r} is not a layer of {network.name}")
    return set(names) if names is not None else known


class Transform:
    """A compression step. Subclasses implement `apply` and `describe`."""

    def apply(self, network: Network) -> Network:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def __call__(self, network: Network) -> Network:
        return _provenance(self.apply(network), self.describe())


@dataclass(frozen=True)
class Quantize(Transform):
    """Weights and activations to the given precisions, uniformly or for the named layers."""

    weights: Precision | str
    activations: Precision | str | None = None
    layers: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        Precision.parse(self.weights)
        if self.activations is not None:
            Precision.parse(self.activations)

    def apply(self, network: Network) -> Network:
        w = Precision.parse(self.weights)
        a = Precision.parse(self.activations) if self.activations is not None else w
        chosen = _selected(network, self.layers, "quantize")
        layers = tuple(layer.with_precision(w, a) if layer.name in chosen else layer for layer in network.layers)
        return dataclasses.replace(network, layers=layers)

    def describe(self) -> str:
        w = Precision.parse(self.weights).value
        a = Precision.parse(self.activations).value if self.activations is not None else w
        scope = f" on {', '.join(self.layers)}" if self.layers is not None else ""
        return f"quantize(weights={w}, activations={a}{scope})"


def _out_channels(layer: Layer) -> int:
    if isinstance(layer, Conv2d):
        return layer.out_channels
    if isinstance(layer, Linear):
        return layer.out_features
    if isinstance(layer, Gemm):
        return layer.n
    raise InputError(f"layer {layer.name}: {layer.kind} has no output channels to change")


def _input_channels(layer: Layer) -> int:
    if isinstance(layer, Conv2d):
        return layer.in_channels
    if isinstance(layer, Gemm):
        return layer.k
    return layer.in_features  # type: ignore[attr-defined]


def _is_depthwise(layer: Layer) -> bool:
    return isinstance(layer, Conv2d) and layer.groups == layer.in_channels == layer.out_channels and layer.groups > 1


def _with_outputs(layer: Layer, outputs: int) -> Layer:
    if isinstance(layer, Conv2d):
        return dataclasses.replace(layer, out_channels=outputs)
    if isinstance(layer, Linear):
        return dataclasses.replace(layer, out_features=outputs)
    if isinstance(layer, Gemm):
        return dataclasses.replace(layer, n=outputs)
    raise InputError(f"layer {layer.name}: cannot change the outputs of a {layer.kind}")


def _with_inputs(layer: Layer, old: int, new: int) -> Layer:
    """The layer reading `new` instead of `old` channels from its producer. A Linear reading a
    flattened feature map scales its features by the same ratio; a depthwise convolution keeps
    one output (and one group) per input channel."""
    if isinstance(layer, Conv2d):
        cin = layer.in_channels * new // old
        if _is_depthwise(layer):
            return dataclasses.replace(layer, in_channels=cin, out_channels=cin, groups=cin)
        return dataclasses.replace(layer, in_channels=cin)
    if isinstance(layer, Linear):
        return dataclasses.replace(layer, in_features=layer.in_features * new // old)
    if isinstance(layer, Gemm):
        return dataclasses.replace(layer, k=layer.k * new // old)
    raise InputError(f"layer {layer.name}: cannot change the inputs of a {layer.kind}")


def _consumers(network: Network) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in network.layers]
    for j, producers in enumerate(network.producers()):
        for i in producers:
            out[i].append(j)
    return out


def prunable_layers(network: Network) -> list[int]:
    """Indices of layers whose output channels structured pruning may remove (see module doc)."""
    producers, consumers = network.producers(), _consumers(network)
    last = len(network.layers) - 1
    out = []
    for i, layer in enumerate(network.layers):
        if isinstance(layer, MatMul) or _is_depthwise(layer):
            continue
        if not network.interior and (i == last or not consumers[i]):
            continue
        if all(producers[j] == (i,) and not isinstance(network.layers[j], MatMul) for j in consumers[i]):
            out.append(i)
    return out


def _resize_outputs(network: Network, i: int, keep: int) -> Network:
    """The network after giving layer i `keep` outputs, the consumers' inputs shrunk to match
    (through depthwise convolutions, whose outputs follow their inputs)."""
    layers = list(network.layers)
    consumers = _consumers(network)
    pending = [(i, _out_channels(layers[i]), keep)]
    layers[i] = _with_outputs(layers[i], keep)
    while pending:
        producer, old, new = pending.pop()
        for j in consumers[producer]:
            before = _out_channels(layers[j])
            layers[j] = _with_inputs(layers[j], old, new)
            if _is_depthwise(layers[j]):
                pending.append((j, before, _out_channels(layers[j])))
    return dataclasses.replace(network, layers=tuple(layers))


@dataclass(frozen=True)
class StructuredPrune(Transform):
    """Remove `ratio` of the output channels (neurons) of every prunable layer, and the matching
    inputs of the layers that read them; the result is a smaller dense network."""

    ratio: float

    def __post_init__(self) -> None:
        _ratio("prune", "ratio", self.ratio)

    def apply(self, network: Network) -> Network:
        ratio = self.ratio
        for i in prunable_layers(network):
            network = _resize_outputs(network, i, _kept(network.layers[i], _out_channels(network.layers[i]), ratio))
        if network.interior:
            layers = tuple(
                _shrink_external_input(layer, producers, 1 - ratio) for layer, producers in _with_producers(network)
            )
            network = dataclasses.replace(network, layers=layers)
        return network

    def describe(self) -> str:
        return f"prune(structured, ratio={self.ratio:g})"


def _kept(layer: Layer, channels: int, ratio: float) -> int:
    keep = round(channels * (1 - ratio))
    if keep < 1:
        raise InputError(f"prune: ratio {ratio:g} removes every output channel of layer {layer.name} ({channels})")
    return keep


def _with_producers(network: Network) -> list[tuple[Layer, tuple[int, ...]]]:
    return list(zip(network.layers, network.producers()))


def _shrink_external_input(layer: Layer, producers: tuple[int, ...], width: float) -> Layer:
    """In an interior network, a layer reading the network input reads a pruned/narrower width."""
    if producers or isinstance(layer, MatMul) or _is_depthwise(layer):
        return layer
    channels = _input_channels(layer)
    return _with_inputs(layer, channels, _scaled(channels, width))


def _scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


@dataclass(frozen=True)
class Distill(Transform):
    """A student with every internal width multiplied by `width` (channels, features, attention
    head size) and, with `depth` < 1, fewer residual blocks (`residual_stages`); the network
    input and the final outputs keep their size. Applied once. The student keeps the teacher's
    precisions and sparsity: it is trained for the same deployment format."""

    width: float
    depth: float = 1.0

    def __post_init__(self) -> None:
        _ratio("distill", "width", self.width, upper_open=False)
        _ratio("distill", "depth", self.depth, upper_open=False)

    def apply(self, network: Network) -> Network:
        width, depth = self.width, self.depth
        if any(step.startswith("distill(") for step in network.provenance):
            raise InputError("distill: the network is already a distilled student; distillation applies once")
        if depth < 1:
            network = _shallower(network, depth)
        return _narrower(network, width)

    def describe(self) -> str:
        depth = f", depth={self.depth:g}" if self.depth != 1 else ""
        return f"distill(width={self.width:g}{depth})"


def _narrower(network: Network, width: float) -> Network:
    last = len(network.layers) - 1
    layers: list[Layer] = []
    for i, (layer, producers) in enumerate(_with_producers(network)):
        if isinstance(layer, MatMul):
            # Attention: the head size shrinks, not the sequence (a k or n equal to m).
            k = layer.k if layer.k == layer.m else _scaled(layer.k, width)
            n = layer.n if layer.n == layer.m else _scaled(layer.n, width)
            layers.append(dataclasses.replace(layer, k=k, n=n))
            continue
        student = layer
        source = next((p for p in producers if not isinstance(network.layers[p], MatMul)), None)
        if source is not None:  # read what the (already shrunk) producer now writes
            student = _with_inputs(student, _out_channels(network.layers[source]), _out_channels(layers[source]))
        elif producers:  # reads an attention output: the hidden width shrank with the heads
            student = _with_inputs(student, _input_channels(layer), _scaled(_input_channels(layer), width))
        elif network.interior:
            student = _shrink_external_input(student, producers, width)
        if (i != last or network.interior) and not _is_depthwise(layer):
            student = _with_outputs(student, _scaled(_out_channels(layer), width))
        layers.append(student)
    return dataclasses.replace(network, layers=tuple(layers))


@dataclass(frozen=True)
class ResidualBlock:
    """Layers first..last (a chain) whose output is added to the block input `sources[0]`
    by an identity shortcut: removing the block leaves its input unchanged downstream.

    In the dataflow a residual sum is named by its terms, (block output, block input), and a
    later identity shortcut names the sum by its first term: readers of `last` either read
    the sum or carry it along as a shortcut."""

    first: int
    last: int
    sources: tuple[str, ...]


def _identity_block(network: Network, first: int, consumers: list[list[int]]) -> ResidualBlock | None:
    layers, producers = network.layers, network.producers()
    sources = layers[first].inputs
    if not sources or layers[first].independent:
        return None
    i = first
    while len(consumers[i]) == 1 and producers[consumers[i][0]] == (i,):
        i = consumers[i][0]
    total = (layers[i].name, sources[0])
    sums = [j for j in consumers[i] if layers[j].inputs == total]
    carried = [j for j in consumers[i] if (layers[j].inputs or ())[1:2] == (layers[i].name,)]
    if sums and len(sums) + len(carried) == len(consumers[i]):
        return ResidualBlock(first, i, sources)
    return None


def residual_stages(network: Network) -> list[tuple[int, list[ResidualBlock]]]:
    """Runs of consecutive identity-shortcut blocks, each with the stage's block count: the run,
    plus the block before it whose output the run reads (a projection or strided block), unless
    the run reads the network's first layer (a stem)."""
    consumers = _consumers(network)
    blocks = [b for i in range(len(network.layers)) if (b := _identity_block(network, i, consumers))]
    runs: list[list[ResidualBlock]] = []
    for block in blocks:
        previous = runs[-1][-1] if runs else None
        if previous is not None and block.sources == (network.layers[previous.last].name, previous.sources[0]):
            runs[-1].append(block)
        else:
            runs.append([block])
    stem = (network.layers[0].name,)
    return [(len(run) + (run[0].sources != stem), run) for run in runs]


def _shallower(network: Network, depth: float) -> Network:
    """Each stage of n blocks keeps ceil(depth x n), as EfficientNet scales depth; the blocks
    dropped are the stage's last identity blocks, and their readers read the block input."""
    stages = residual_stages(network)
    if not stages:
        raise InputError(
            f"distill: depth {depth:g} needs residual blocks with identity shortcuts; {network.name} has none"
        )
    dropped: set[int] = set()
    sums: dict[tuple[str, ...], tuple[str, ...]] = {}  # a dropped block's sum -> its input
    terms: dict[str, str] = {}  # a dropped block's output -> its input's first term
    for count, run in stages:
        drop = count - max(1, math.ceil(depth * count))
        for block in run[len(run) - min(drop, len(run)) :]:
            dropped.update(range(block.first, block.last + 1))
            last = network.layers[block.last].name
            sums[(last, block.sources[0])] = block.sources
            terms[last] = block.sources[0]

    def rewired(inputs: tuple[str, ...]) -> tuple[str, ...]:
        while True:  # consecutive dropped blocks: follow the chain back
            new = sums.get(inputs) or tuple(terms.get(name, name) for name in inputs)
            if new == inputs:
                return inputs
            inputs = new

    layers = [
        dataclasses.replace(layer, inputs=rewired(layer.inputs) if layer.inputs else layer.inputs)
        for i, layer in enumerate(network.layers)
        if i not in dropped
    ]
    return dataclasses.replace(network, layers=tuple(layers))


@dataclass(frozen=True)
class UnstructuredPrune(Transform):
    """Zero `sparsity` of the remaining weights of every layer with weights (or the named ones),
    stored in `format` (dense, bitmask or csr); shapes are unchanged. Pruning an already sparse
    layer multiplies the densities."""

    sparsity: float
    format: str = "bitmask"
    layers: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        _ratio("sparsify", "sparsity", self.sparsity)
        if self.format not in ("dense", "bitmask", "csr"):
            raise InputError(f"sparsify: format must be one of dense, bitmask, csr (got {self.format!r}; N:M: NMPrune)")

    def apply(self, network: Network) -> Network:
        sparsity = self.sparsity
        chosen = _selected(network, self.layers, "sparsify")

        def prune(layer: Layer) -> Layer:
            if layer.name not in chosen or not layer.b_is_weight:
                return layer
            return dataclasses.replace(
                layer, sparsity=WeightSparsity(layer.sparsity.density * (1 - sparsity), self.format)
            )

        return dataclasses.replace(network, layers=tuple(prune(layer) for layer in network.layers))

    def describe(self) -> str:
        return f"prune(unstructured, sparsity={self.sparsity:g}, {self.format})"


@dataclass(frozen=True)
class NMPrune(Transform):
    """N:M structured sparsity (default 2:4): of every M consecutive weights along the reduction
    axis, N are kept, stored with their positions; for dense layers with weights."""

    n: int = 2
    m: int = 4
    layers: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        WeightSparsity.n_of_m(self.n, self.m)

    def apply(self, network: Network) -> Network:
        pattern = WeightSparsity.n_of_m(self.n, self.m)
        chosen = _selected(network, self.layers, "nm-prune")

        def prune(layer: Layer) -> Layer:
            if layer.name not in chosen or not layer.b_is_weight:
                return layer
            if not layer.sparsity.is_dense:
                raise InputError(f"nm-prune: layer {layer.name} is already sparse ({layer.sparsity.describe()})")
            return dataclasses.replace(layer, sparsity=pattern)

        return dataclasses.replace(network, layers=tuple(prune(layer) for layer in network.layers))

    def describe(self) -> str:
        return f"prune(n:m, {self.n}:{self.m})"


@dataclass(frozen=True)
class LowRank(Transform):
    """Factor each Linear (K x N) into K x r then r x N, and each convolution into a k x k
    convolution to r channels then a 1 x 1 convolution to N, with r = round(rank_ratio x min(K, N)),
    wherever that has fewer weights than the original. The factors are dense (SVD factors of a
    pruned matrix are not sparse)."""

    rank_ratio: float

    def __post_init__(self) -> None:
        _ratio("low-rank", "rank_ratio", self.rank_ratio, upper_open=False)

    def apply(self, network: Network) -> Network:
        ratio = self.rank_ratio
        renamed: dict[str, str] = {}
        layers: list[Layer] = []
        for layer in network.layers:
            pair = self._factor(layer, ratio)
            if pair is None:
                layers.append(layer)
                continue
            first, second = pair
            layers += [first, second]
            renamed[layer.name] = second.name
        # Whoever read a factored layer now reads its second half.
        fixed = []
        for layer in layers:
            if layer.inputs:
                layer = dataclasses.replace(layer, inputs=tuple(renamed.get(n, n) for n in layer.inputs))
            fixed.append(layer)
        return dataclasses.replace(network, layers=tuple(fixed))

    @staticmethod
    def _factor(layer: Layer, ratio: float) -> tuple[Layer, Layer] | None:
        if isinstance(layer, Linear):
            k, n = layer.in_features, layer.out_features
            r = max(1, round(ratio * min(k, n)))
            if r * (k + n) >= k * n:
                return None
            first = dataclasses.replace(
                layer, name=f"{layer.name}.u", out_features=r, bias=False, folded_parameters=0, sparsity=DENSE
            )
            second = dataclasses.replace(
                layer, name=f"{layer.name}.v", in_features=r, inputs=(first.name,), independent=False, sparsity=DENSE
            )
            return first, second
        if isinstance(layer, Conv2d) and layer.groups == 1:
            kh, kw = layer.kernel
            k, n = layer.in_channels * kh * kw, layer.out_channels
            r = max(1, round(ratio * min(k, n)))
            if r * (k + n) >= k * n:
                return None
            first = dataclasses.replace(
                layer, name=f"{layer.name}.u", out_channels=r, bias=False, batch_norm=False, sparsity=DENSE
            )
            second = Conv2d(
                f"{layer.name}.v",
                weight_precision=layer.weight_precision,
                activation_precision=layer.activation_precision,
                inputs=(first.name,),
                in_channels=r,
                out_channels=n,
                in_height=first.out_height,
                in_width=first.out_width,
                kernel=(1, 1),
                bias=layer.bias,
                batch_norm=layer.batch_norm,
            )
            return first, second
        return None

    def describe(self) -> str:
        return f"low-rank(rank_ratio={self.rank_ratio:g})"


@dataclass(frozen=True)
class Pipeline(Transform):
    """Transforms applied in order; each records its own provenance step."""

    steps: tuple[Callable[[Network], Network], ...]

    def __call__(self, network: Network) -> Network:
        for step in self.steps:
            network = step(network)
        return network

    def describe(self) -> str:
        return " -> ".join(step.describe() for step in self.steps if isinstance(step, Transform))


def pipeline(*steps: Transform | Sequence[Transform]) -> Pipeline:
    """`pipeline(StructuredPrune(0.5), Quantize("int8"), Distill(0.5))`: the order is kept."""
    flat: list[Transform] = []
    for step in steps:
        flat.extend(step if isinstance(step, Sequence) else [step])
    return Pipeline(tuple(flat))
