"""Structured pruning: `prune(r)` removes `r` of the output channels of every prunable layer
(`accelsim.compress.graph`), and the matching inputs of their readers: a smaller dense network."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accelsim.compress.graph import prunable_layers, resize_outputs, shrink_external_input, with_producers
from accelsim.compress.methods.base import Parameter, Transform, layer_names, mac_share, ratio, selected
from accelsim.compress.methods.registry import register
from accelsim.errors import InputError
from accelsim.workload.layers import Layer, Network
from accelsim.workload.provenance import Value

if TYPE_CHECKING:
    from accelsim.compress.accuracy import ParametricAccuracy


@register
@dataclass(frozen=True, repr=False)
class StructuredPrune(Transform):
    """Remove `ratio` (in [0, 1)) of the output channels (neurons) of every prunable layer (or
    of the named ones, `prune(0.5, layers=[conv1])`), and the matching inputs of the layers that
    read them; the result is a smaller dense network."""

    ratio: float
    layers: tuple[str, ...] | None = None

    method = "prune"
    parameters = (Parameter("ratio", float), Parameter("layers", layer_names, structured=True, keyword=True))

    def __post_init__(self) -> None:
        ratio("prune", "ratio", self.ratio)

    def __repr__(self) -> str:
        # Without `layers`, the repr of a uniform step is what it always was: the measured
        # provider seeds its fine-tuning from it, so the measured figures stay the same.
        scope = f", layers={self.layers!r}" if self.layers is not None else ""
        return f"StructuredPrune(ratio={self.ratio!r}{scope})"

    def apply(self, network: Network) -> Network:
        r = self.ratio
        prunable = prunable_layers(network)
        chosen = selected(network, self.layers, "prune")
        for name in self.layers or ():
            if not any(network.layers[i].name == name for i in prunable):
                raise InputError(
                    f"prune: layers: {name!r} cannot lose output channels (its outputs are the classes, "
                    "feed a residual sum, or it has none)"
                )
        for i in prunable:
            layer = network.layers[i]
            if layer.name in chosen:
                network = resize_outputs(network, i, _kept(layer, layer.out_channels, r))
        if network.interior:
            layers = tuple(
                shrink_external_input(layer, producers, 1 - r) if layer.name in chosen else layer
                for layer, producers in with_producers(network)
            )
            network = dataclasses.replace(network, layers=layers)
        return network

    def provenance_params(self) -> tuple[tuple[str, Value], ...]:
        uniform = (("ratio", self.ratio),)
        return uniform if self.layers is None else (*uniform, ("layers", self.layers))

    def describe(self) -> str:
        scope = f" on {', '.join(self.layers)}" if self.layers is not None else ""
        return f"prune(structured, ratio={self.ratio:g}{scope})"

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """1 - prune_scale x r^2: little loss at low ratios, growing fast past half (the shape of
        the magnitude-pruning curves in H. Li et al., "Pruning filters for efficient ConvNets",
        ICLR 2017, before fine-tuning recovers part of it). The measured provider removes the
        channels with the smallest L1 norm, then fine-tunes. On named layers the loss is scaled by
        their share of the MACs."""
        return 1 - curves.prune_scale * self.ratio**2 * mac_share(network, self.layers)


def _kept(layer: Layer, channels: int, r: float) -> int:
    keep = round(channels * (1 - r))
    if keep < 1:
        raise InputError(f"prune: ratio {r:g} removes every output channel of layer {layer.name} ({channels})")
    return keep
