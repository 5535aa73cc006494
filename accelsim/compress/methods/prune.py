"""Structured pruning: `prune(r)` removes `r` of the output channels of every prunable layer
(`accelsim.compress.graph`), and the matching inputs of their readers: a smaller dense network."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accelsim.compress.graph import prunable_layers, resize_outputs, shrink_external_input, with_producers
from accelsim.compress.methods.base import Parameter, Transform, ratio
from accelsim.compress.methods.registry import register
from accelsim.errors import InputError
from accelsim.workload.layers import Layer, Network

if TYPE_CHECKING:
    from accelsim.compress.accuracy import ParametricAccuracy


@register
@dataclass(frozen=True)
class StructuredPrune(Transform):
    """Remove `ratio` (in [0, 1)) of the output channels (neurons) of every prunable layer, and
    the matching inputs of the layers that read them; the result is a smaller dense network."""

    ratio: float

    method = "prune"
    parameters = (Parameter("ratio", float),)

    def __post_init__(self) -> None:
        ratio("prune", "ratio", self.ratio)

    def apply(self, network: Network) -> Network:
        r = self.ratio
        for i in prunable_layers(network):
            layer = network.layers[i]
            network = resize_outputs(network, i, _kept(layer, layer.out_channels, r))
        if network.interior:
            layers = tuple(
                shrink_external_input(layer, producers, 1 - r) for layer, producers in with_producers(network)
            )
            network = dataclasses.replace(network, layers=layers)
        return network

    def describe(self) -> str:
        return f"prune(structured, ratio={self.ratio:g})"

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """1 - prune_scale x r^2: little loss at low ratios, growing fast past half (the shape of
        the magnitude-pruning curves in H. Li et al., "Pruning filters for efficient ConvNets",
        ICLR 2017, before fine-tuning recovers part of it). The measured provider removes the
        channels with the smallest L1 norm, then fine-tunes."""
        return 1 - curves.prune_scale * self.ratio**2


def _kept(layer: Layer, channels: int, r: float) -> int:
    keep = round(channels * (1 - r))
    if keep < 1:
        raise InputError(f"prune: ratio {r:g} removes every output channel of layer {layer.name} ({channels})")
    return keep
