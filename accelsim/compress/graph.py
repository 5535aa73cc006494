"""The dataflow of a network as width-changing transforms see it: who reads whom, which layers
may lose output channels, and the residual blocks with identity shortcuts.

Structured pruning and residual connections: a layer's output channels may be removed only
when every layer reading that output reads nothing else (no residual add, no concatenation),
and the layer is not the network's last (its outputs are the classes). So in a ResNet block
the inner convolutions are pruned and the block outputs, which the shortcut adds to, keep their
width; in MobileNetV2 the expansion convolutions are pruned and the depthwise convolution that
reads them shrinks with them. In an `interior` network (stand-alone GEMMs standing for the inside
of a model, as the seed's) no width is fixed: every layer loses outputs, and a layer reading the
network input loses inputs too, as if the unmodelled layer before it had been pruned alike.

Layer kinds answer for themselves (`Layer.has_channels`, `out_channels`, `with_outputs`,
`with_inputs`, `is_depthwise`), so nothing here depends on which kinds exist.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from accelsim.workload.layers import Layer, Network, scaled


def consumers(network: Network) -> list[list[int]]:
    """Per layer, the indices of the layers reading its output."""
    out: list[list[int]] = [[] for _ in network.layers]
    for j, producers in enumerate(network.producers()):
        for i in producers:
            out[i].append(j)
    return out


def with_producers(network: Network) -> list[tuple[Layer, tuple[int, ...]]]:
    return list(zip(network.layers, network.producers()))


def prunable_layers(network: Network) -> list[int]:
    """Indices of layers whose output channels structured pruning may remove (see module doc)."""
    producers, readers = network.producers(), consumers(network)
    last = len(network.layers) - 1
    out = []
    for i, layer in enumerate(network.layers):
        if not layer.has_channels or layer.is_depthwise:
            continue
        if not network.interior and (i == last or not readers[i]):
            continue
        if _feeds_only(network, i, producers, readers):
            out.append(i)
    return out


def _feeds_only(network: Network, i: int, producers: tuple[tuple[int, ...], ...], readers: list[list[int]]) -> bool:
    """Whether every reader of layer i has channels and reads nothing else, through depthwise
    readers (a depthwise convolution, a batch-norm, an activation: their outputs follow their
    inputs), so that removing i's channels removes theirs too and reaches no residual add."""
    for j in readers[i]:
        reader = network.layers[j]
        if producers[j] != (i,) or not reader.has_channels:
            return False
        if reader.is_depthwise and not _feeds_only(network, j, producers, readers):
            return False
    return True


def resize_outputs(network: Network, i: int, keep: int) -> Network:
    """The network after giving layer i `keep` outputs, the consumers' inputs shrunk to match
    (through depthwise convolutions, whose outputs follow their inputs)."""
    layers = list(network.layers)
    readers = consumers(network)
    pending = [(i, layers[i].out_channels, keep)]
    layers[i] = layers[i].with_outputs(keep)
    while pending:
        producer, old, new = pending.pop()
        for j in readers[producer]:
            before = layers[j].out_channels
            layers[j] = layers[j].with_inputs(old, new)
            if layers[j].is_depthwise:
                pending.append((j, before, layers[j].out_channels))
    return dataclasses.replace(network, layers=tuple(layers))


def shrink_external_input(layer: Layer, producers: tuple[int, ...], width: float) -> Layer:
    """In an interior network, a layer reading the network input reads a pruned/narrower width."""
    if producers or not layer.has_channels or layer.is_depthwise:
        return layer
    channels = layer.in_channels
    return layer.with_inputs(channels, scaled(channels, width))


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


def _identity_block(network: Network, first: int, readers: list[list[int]]) -> ResidualBlock | None:
    layers, producers = network.layers, network.producers()
    sources = layers[first].inputs
    if not sources or layers[first].independent:
        return None
    i = first
    while len(readers[i]) == 1 and producers[readers[i][0]] == (i,):
        i = readers[i][0]
    explicit = _explicit_add_block(network, first, i, readers)
    if explicit is not None:
        return explicit
    total = (layers[i].name, sources[0])
    sums = [j for j in readers[i] if layers[j].inputs == total]
    carried = [j for j in readers[i] if (layers[j].inputs or ())[1:2] == (layers[i].name,)]
    if sums and len(sums) + len(carried) == len(readers[i]):
        return ResidualBlock(first, i, sources)
    return None


def _explicit_add_block(network: Network, first: int, i: int, readers: list[list[int]]) -> ResidualBlock | None:
    """A block whose chain first..i ends in a residual add layer of (i, the block input), and
    the add's own activation if one vector layer reads only the add (ResNet's ReLU)."""
    layers, producers = network.layers, network.producers()
    sources = layers[first].inputs or ()
    if len(sources) != 1 or len(readers[i]) != 1:
        return None
    add = readers[i][0]
    if layers[add].unit != "vector" or layers[add].inputs != (layers[i].name, sources[0]):
        return None
    last = add
    if len(readers[add]) == 1 and producers[readers[add][0]] == (add,) and layers[readers[add][0]].unit == "vector":
        last = readers[add][0]
    return ResidualBlock(first, last, sources)


def _from_stem(network: Network, name: str) -> bool:
    """Whether layer `name` is the network's first layer or reaches it through vector layers
    only (the stem's batch-norm, activation and pooling)."""
    index = {layer.name: i for i, layer in enumerate(network.layers)}
    producers = network.producers()
    i = index[name]
    while i > 0 and network.layers[i].unit == "vector" and len(producers[i]) == 1:
        i = producers[i][0]
    return i == 0


def residual_stages(network: Network) -> list[tuple[int, list[ResidualBlock]]]:
    """Runs of consecutive identity-shortcut blocks, each with the stage's block count: the run,
    plus the block before it whose output the run reads (a projection or strided block), unless
    the run reads the network's first layer (a stem)."""
    readers = consumers(network)
    blocks = [b for i in range(len(network.layers)) if (b := _identity_block(network, i, readers))]
    runs: list[list[ResidualBlock]] = []
    for block in blocks:
        previous = runs[-1][-1] if runs else None
        output = network.layers[previous.last].name if previous is not None else None
        if previous is not None and block.sources in ((output, previous.sources[0]), (output,)):
            runs[-1].append(block)
        else:
            runs.append([block])
    return [(len(run) + (not _from_stem(network, run[0].sources[0])), run) for run in runs]
