"""Unstructured pruning: `sparsify(s, format)` zeroes `s` of the remaining weights, stored
dense, bitmask (default) or csr; shapes are unchanged."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accelsim.compress.methods.base import Parameter, Transform, layer_names, mac_share, ratio, selected
from accelsim.compress.methods.registry import register
from accelsim.errors import InputError
from accelsim.workload.layers import Layer, Network
from accelsim.workload.sparsity import WeightSparsity

if TYPE_CHECKING:
    from accelsim.compress.accuracy import ParametricAccuracy


@register
@dataclass(frozen=True)
class UnstructuredPrune(Transform):
    """Zero `sparsity` of the remaining weights of every layer with weights (or the named ones),
    stored in `format` (dense, bitmask or csr); shapes are unchanged. Pruning an already sparse
    layer multiplies the densities. The layer records the density and format
    (`accelsim.workload.sparsity`), which decide bytes moved; the hardware decides whether zero
    weights save MACs."""

    sparsity: float
    format: str = "bitmask"
    layers: tuple[str, ...] | None = None

    method = "sparsify"
    parameters = (
        Parameter("sparsity", float),
        Parameter("format", str),
        Parameter("layers", layer_names, structured=True, keyword=True),
    )

    def __post_init__(self) -> None:
        ratio("sparsify", "sparsity", self.sparsity)
        if self.format not in ("dense", "bitmask", "csr"):
            raise InputError(f"sparsify: format must be one of dense, bitmask, csr (got {self.format!r}; N:M: NMPrune)")

    def apply(self, network: Network) -> Network:
        chosen = selected(network, self.layers, "sparsify")

        def prune(layer: Layer) -> Layer:
            if layer.name not in chosen or not layer.b_is_weight:
                return layer
            density = layer.sparsity.density * (1 - self.sparsity)
            return dataclasses.replace(layer, sparsity=WeightSparsity(density, self.format))

        return dataclasses.replace(network, layers=tuple(prune(layer) for layer in network.layers))

    def describe(self) -> str:
        return f"prune(unstructured, sparsity={self.sparsity:g}, {self.format})"

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """1 - unstructured_scale x s^8: flat to about 70%, then falling (T. Gale et al., "The
        state of sparsity in deep neural networks", arXiv:1902.09574, 2019: ResNet-50 with
        gradual pruning loses about 1.4 points at 80% and 3.7 at 90%). The measured provider
        applies magnitude masks with exactly the simulated nonzeros, then fine-tunes. On named
        layers the loss is scaled by their share of the MACs."""
        return 1 - curves.unstructured_scale * self.sparsity**8 * mac_share(network, self.layers)
