"""Compression as pure transformations of a workload: `Network -> Network`.

Each transform returns a new network whose layers have the compressed shapes and precisions,
and appends one line to its provenance, so the order of a pipeline is visible in every report
and trace. The simulator never sees the transforms, only the networks they produce.

Structured pruning and residual connections: a layer's output channels may be removed only
when every layer reading that output reads nothing else (no residual add, no concatenation),
and the layer is not the network's last (its outputs are the classes). So in a ResNet block
the inner convolutions are pruned and the block outputs, which the shortcut adds to, keep their
width; in MobileNetV2 the expansion convolutions are pruned and the depthwise convolution that
reads them shrinks with them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from accelsim.errors import InputError
from accelsim.precision import Precision
from accelsim.workload.layers import Conv2d, Layer, Linear, MatMul, Network


def _ratio(transform: str, name: str, value: float, upper_open: bool = True) -> float:
    ok = isinstance(value, (int, float)) and (0 <= value < 1 if upper_open else 0 < value <= 1)
    if not ok:
        allowed = "in [0, 1)" if upper_open else "in (0, 1]"
        raise InputError(f"{transform}: {name} must be {allowed} (got {value!r})")
    return float(value)


def _provenance(network: Network, step: str) -> Network:
    return dataclasses.replace(network, provenance=(*network.provenance, step))


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

    def apply(self, network: Network) -> Network:
        w = Precision.parse(self.weights)
        a = Precision.parse(self.activations) if self.activations is not None else w
        names = {layer.name for layer in network.layers}
        for name in self.layers or ():
            if name not in names:
                raise InputError(f"quantize: layers: {name!r} is not a layer of {network.name}")
        chosen = set(self.layers) if self.layers is not None else names
        layers = tuple(layer.with_precision(w, a) if layer.name in chosen else layer for layer in network.layers)
        return dataclasses.replace(network, layers=layers)

    def describe(self) -> str:
        w = Precision.parse(self.weights).value
        a = Precision.parse(self.activations).value if self.activations is not None else w
        scope = f" on {len(self.layers)} layers" if self.layers is not None else ""
        return f"quantize(weights={w}, activations={a}{scope})"


def _out_channels(layer: Layer) -> int:
    if isinstance(layer, Conv2d):
        return layer.out_channels
    if isinstance(layer, Linear):
        return layer.out_features
    raise InputError(f"layer {layer.name}: {layer.kind} has no output channels to change")


def _input_channels(layer: Layer) -> int:
    return layer.in_channels if isinstance(layer, Conv2d) else layer.in_features  # type: ignore[attr-defined]


def _is_depthwise(layer: Layer) -> bool:
    return isinstance(layer, Conv2d) and layer.groups == layer.in_channels == layer.out_channels and layer.groups > 1


def _with_outputs(layer: Layer, outputs: int) -> Layer:
    if isinstance(layer, Conv2d):
        return dataclasses.replace(layer, out_channels=outputs)
    if isinstance(layer, Linear):
        return dataclasses.replace(layer, out_features=outputs)
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
        if i == last or not consumers[i] or isinstance(layer, MatMul) or _is_depthwise(layer):
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

    def apply(self, network: Network) -> Network:
        ratio = _ratio("prune", "ratio", self.ratio)
        for i in prunable_layers(network):
            out = _out_channels(network.layers[i])
            keep = round(out * (1 - ratio))
            if keep < 1:
                name = network.layers[i].name
                raise InputError(f"prune: ratio {ratio:g} removes every output channel of layer {name} ({out})")
            network = _resize_outputs(network, i, keep)
        return network

    def describe(self) -> str:
        return f"prune(structured, ratio={self.ratio:g})"


def _scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


@dataclass(frozen=True)
class Distill(Transform):
    """A student with every internal width multiplied by `width` (channels, features, attention
    head size); the network input and the final outputs keep their size. Applied once."""

    width: float

    def apply(self, network: Network) -> Network:
        width = _ratio("distill", "width", self.width, upper_open=False)
        if any(step.startswith("distill(") for step in network.provenance):
            raise InputError("distill: the network is already a distilled student; distillation applies once")
        last = len(network.layers) - 1
        layers: list[Layer] = []
        for i, (layer, producers) in enumerate(zip(network.layers, network.producers())):
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
            if i != last and not _is_depthwise(layer):
                student = _with_outputs(student, _scaled(_out_channels(layer), width))
            layers.append(student)
        return dataclasses.replace(network, layers=tuple(layers))

    def describe(self) -> str:
        return f"distill(width={self.width:g})"


@dataclass(frozen=True)
class LowRank(Transform):
    """Factor each Linear (K x N) into K x r then r x N, and each convolution into a k x k
    convolution to r channels then a 1 x 1 convolution to N, with r = round(rank_ratio x min(K, N)),
    wherever that has fewer weights than the original."""

    rank_ratio: float

    def apply(self, network: Network) -> Network:
        ratio = _ratio("low-rank", "rank_ratio", self.rank_ratio, upper_open=False)
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
            first = dataclasses.replace(layer, name=f"{layer.name}.u", out_features=r, bias=False, folded_parameters=0)
            second = dataclasses.replace(
                layer, name=f"{layer.name}.v", in_features=r, inputs=(first.name,), independent=False
            )
            return first, second
        if isinstance(layer, Conv2d) and layer.groups == 1:
            kh, kw = layer.kernel
            k, n = layer.in_channels * kh * kw, layer.out_channels
            r = max(1, round(ratio * min(k, n)))
            if r * (k + n) >= k * n:
                return None
            first = dataclasses.replace(layer, name=f"{layer.name}.u", out_channels=r, bias=False, batch_norm=False)
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
