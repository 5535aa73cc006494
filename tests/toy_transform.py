"""A compression method added in one file, as a plug-in would add one: `shave(c)` removes `c`
output channels from every prunable layer. It registers its pipeline name and parameters, checks
its value, and brings its own parametric accuracy curve."""

from __future__ import annotations

from dataclasses import dataclass

from accelsim.compress.accuracy import ParametricAccuracy
from accelsim.compress.graph import prunable_layers, resize_outputs
from accelsim.compress.methods import Parameter, Transform
from accelsim.compress.methods.registry import register
from accelsim.errors import InputError
from accelsim.workload.layers import Network

#: Accuracy lost per channel shaved (a toy curve, labelled modelled like every parametric one).
LOSS_PER_CHANNEL = 0.01


@register
@dataclass(frozen=True)
class Shave(Transform):
    channels: int

    method = "shave"
    parameters = (Parameter("channels", int, alias="c"),)

    def __post_init__(self) -> None:
        if not isinstance(self.channels, int) or self.channels < 1:
            raise InputError(f"shave: channels must be an integer >= 1 (got {self.channels!r})")

    def apply(self, network: Network) -> Network:
        for i in prunable_layers(network):
            layer = network.layers[i]
            network = resize_outputs(network, i, max(1, layer.out_channels - self.channels))
        return network

    def describe(self) -> str:
        return f"shave(channels={self.channels})"

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        return 1 - LOSS_PER_CHANNEL * self.channels
